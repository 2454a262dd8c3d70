/**
 * One process of the scale bench's simulated workers (bench/scale.ts forks a few of these).
 * Each simulated worker is the real worker's connection (`worker/connection.ts`: its own gRPC
 * channel and HTTP/2 connection, hello with slots and attempt tokens, heartbeats at the
 * coordinator's interval, reconnects, outcome redelivery), with a fake runtime in place of
 * programs: an assigned attempt reports a metric every `reportMs` (step, `loss`, and `sent_at`,
 * the wall-clock ms it was sent, for the report → stored latency) and its result after
 * `trialMs` (× a uniform draw from [1 − trialJitter, 1 + trialJitter]), all with the
 * assignment's attempt token.
 *
 * Input: one JSON argument, {address, reportMs, trialMs, trialJitter, slots, workers: [{id, token}]}.
 * Output over IPC to the parent: {delivered: [[trialId, wall ms], ...]} every 250 ms (the moment
 * each assignment reached its worker), then {connected: n} once, and {closed: true} on close.
 */
import { CoordinatorConnection } from '../worker/connection.js';
import { createLogger } from '../shared/log.js';
import type { Assignment__Output } from '../shared/generated/trellis/v1/Assignment.js';
import { fnv1a, mulberry32 } from '../shared/hash.js';

interface Config {
  address: string;
  reportMs: number;
  trialMs: number;
  trialJitter: number;
  slots: number;
  logLevel: string;
  workers: { id: string; token: string }[];
}

const config = JSON.parse(process.argv[2] ?? '{}') as Config;
const log = createLogger('scale-worker', config.logLevel);
// Trial lengths: seeded by this process's first worker id, so a run repeats its draws.
const random = mulberry32(fnv1a(config.workers[0]?.id ?? ''));
const trialLength = (): number => Math.round(config.trialMs * (1 + config.trialJitter * (2 * random() - 1)));
const send = (message: object): void => {
  process.send?.(message);
};

let delivered: [string, number][] = [];
const flush = setInterval(() => {
  if (delivered.length === 0) return;
  send({ delivered });
  delivered = [];
}, 250);

interface Running {
  token: string;
  timer: NodeJS.Timeout;
  done: NodeJS.Timeout;
}

let connected = 0;
const connections = config.workers.map(({ id, token }, index) => {
  const running = new Map<string, Running>();
  const connection: CoordinatorConnection = new CoordinatorConnection({
    address: config.address,
    token,
    log,
    // A channel option unique to this worker: grpc-js pools connections by target and options,
    // and separate workers have separate connections.
    channelOptions: { 'trellis.bench.worker': `${process.pid}-${index}` },
    hello: () => ({
      worker_id: id,
      slots: { cpus: config.slots, gpus: [], memory_bytes: '0' },
      labels: {},
      runtimes: ['command'],
      version: 'bench',
      running_attempt_ids: [...running.keys()],
      attempt_tokens: Object.fromEntries([...running].map(([attemptId, r]) => [attemptId, r.token])),
    }),
    runningAttempts: () => [...running.keys()],
    onAssign: (a: Assignment__Output) => start(a),
    onStop: (attemptId: string) => end(attemptId),
  });
  const end = (attemptId: string): void => {
    const r = running.get(attemptId);
    if (!r) return;
    clearInterval(r.timer);
    clearTimeout(r.done);
    running.delete(attemptId);
  };
  const start = (a: Assignment__Output): void => {
    delivered.push([a.trial_id, Date.now()]);
    const attemptId = a.attempt_id;
    const token = a.attempt_token;
    let step = 0;
    const timer = setInterval(() => {
      step++;
      connection.send({
        progress: {
          attempt_id: attemptId,
          attempt_token: token,
          step,
          metrics: { loss: 1 / step, sent_at: Date.now() },
        },
      });
    }, config.reportMs);
    const done = setTimeout(() => {
      end(attemptId);
      connection.send({
        result: { attempt_id: attemptId, attempt_token: token, metrics: { score: Math.random() }, info_json: '' },
      });
    }, trialLength());
    running.set(attemptId, { token, timer, done });
  };
  const off = connection.onConnected(() => {
    off();
    connected++;
    if (connected === config.workers.length) send({ connected });
  });
  connection.open();
  return connection;
});

process.on('message', (message: { close?: boolean }) => {
  if (!message.close) return;
  clearInterval(flush);
  void Promise.all(connections.map((c) => c.close())).then(() => {
    send({ closed: true });
    process.exit(0);
  });
});
process.on('disconnect', () => process.exit(0));
