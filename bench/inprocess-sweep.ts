/**
 * One in-process no-op sweep at a chosen size, for A/B runs of the coordinator across commits:
 *
 *   node dist/bench/inprocess-sweep.js TRIALS [ALGORITHM]
 *
 * The same workload as the dispatch suite's `inprocess` figure (a Coordinator on a LocalStore
 * and LocalBus, a fake worker session with 16 slots that answers each assignment on the next
 * event-loop turn, one float parameter), after a 64-trial warm-up sweep. Prints one JSON line:
 * trials, seconds, trials/s, CPU ms per trial, and how many MaxListenersExceededWarnings the process raised.
 * See bench/README.md ("Hot spots found and fixed") for how the before/after runs were made.
 */
import { connectInstantWorker, runSweep, startLocalCoordinator, sweepSpec } from './harness.js';

const [trialsArg = '5000', algorithm = 'random'] = process.argv.slice(2);
const trials = Number(trialsArg);
if (!Number.isInteger(trials) || trials < 1) {
  process.stderr.write(`usage: node dist/bench/inprocess-sweep.js TRIALS [ALGORITHM]\n`);
  process.exit(2);
}
let listenerWarnings = 0;
process.on('warning', (warning) => {
  if (warning.name === 'MaxListenersExceededWarning') listenerWarnings++;
});

const local = await startLocalCoordinator({});
connectInstantWorker(local.coordinator, 16);
await runSweep(local.coordinator, sweepSpec({ name: 'warmup', trials: 64, concurrency: 16, algorithm }));
const cpu = process.cpuUsage();
const { seconds } = await runSweep(local.coordinator, sweepSpec({ name: 'noop', trials, concurrency: 16, algorithm }));
const { user, system } = process.cpuUsage(cpu);
await local.close();
process.stdout.write(
  JSON.stringify({
    trials,
    algorithm,
    seconds: Math.round(seconds * 1000) / 1000,
    trials_per_second: Math.round(trials / seconds),
    max_listener_warnings: listenerWarnings,
    // The process's CPU (every thread: the journal's writes run on the thread pool) per trial.
    cpu_ms_per_trial: Math.round(((user + system) / 1000 / trials) * 1000) / 1000,
  }) + '\n',
);
process.exit(0);
