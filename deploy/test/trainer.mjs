// The training program of `npm run test:deploy` (command runtime), mounted into the worker
// containers at /fixtures. Reports `steps` steps `delay` ms apart, checkpoints after every step
// (state.json, written then renamed, then the checkpoint line), resumes from the checkpoint it
// is given, and reports `resumed_from` (0 for a fresh start) with its final score, so the test
// can tell that a trial moved to another worker continued where it was.
// On SIGTERM (a drain) it checkpoints the step it is at, then exits.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const params = JSON.parse(process.env.TRELLIS_PARAMS ?? '{}');
const steps = Number(params.steps ?? 6);
const delay = Number(params.delay ?? 500);
const x = Number(params.x ?? 0.5);
const dir = process.env.TRELLIS_CHECKPOINT_DIR;

let step = 0;
if (process.env.TRELLIS_RESUME_STEP && dir) {
  step = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')).step;
}
const resumedFrom = step;

function checkpoint() {
  if (!dir) return;
  writeFileSync(join(dir, 'state.json.tmp'), JSON.stringify({ step }));
  renameSync(join(dir, 'state.json.tmp'), join(dir, 'state.json'));
  console.log(JSON.stringify({ checkpoint: true, step }));
}

process.on('SIGTERM', () => {
  checkpoint();
  process.exit(143);
});

function tick() {
  step += 1;
  const score = 1 - (x - 0.3) ** 2 - 0.1 / step;
  console.log(JSON.stringify({ step, score }));
  checkpoint();
  if (step < steps) setTimeout(tick, delay);
  else console.log(JSON.stringify({ final: true, val_score: score, resumed_from: resumedFrom }));
}
setTimeout(tick, delay);
