/** pino, JSON lines to stderr (stdout belongs to --json output). Level from TRELLIS_LOG_LEVEL. */
import { pino, type Logger } from 'pino';
import { env } from './env.js';

export function createLogger(name: string, level: string = env().TRELLIS_LOG_LEVEL ?? 'info'): Logger {
  return pino(
    {
      name,
      level,
      redact: { paths: ['*.password', '*.uri', 'MONGODB_URI', '*.MONGODB_URI'], censor: '[redacted]' },
      base: { pid: process.pid },
    },
    pino.destination({ dest: 2, sync: true }),
  );
}

export type { Logger };
