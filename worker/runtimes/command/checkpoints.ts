/**
 * The checkpoints of one attempt: the trial's last checkpoint restored into the program's
 * checkpoint directory, and the directory saved when the program asks (a checkpoint line) and
 * once more at a successful exit. Saves run one after another, in the order asked.
 */
import type { AttemptContext, Checkpoint } from '../base.js';
import { PermanentRunError } from '../base.js';
import { snapshotDirectory, unpackArchive, type PackedDirectory } from './archive.js';
import { describe } from './process.js';

export class CheckpointKeeper {
  private lastSavedData: Buffer | undefined;
  private lastSavedStep: number | undefined;
  private saves: Promise<void> = Promise.resolve();
  private warnedDisabled = false;
  /** The first save that failed (the attempt still succeeds; see settled). */
  private failure: unknown;

  constructor(
    private readonly dir: string,
    /** `trial.checkpointEvery`; 0 turns checkpoints off. */
    private readonly every: number,
    private readonly store: AttemptContext['checkpoint'],
    private readonly log: (line: string) => void,
  ) {}

  /** Unpacks the trial's latest checkpoint into the directory; its step, or undefined when there is none. */
  async restore(): Promise<number | undefined> {
    const restored = await this.store.load();
    if (!restored) return undefined;
    try {
      const files = await unpackArchive(restored.data, this.dir);
      this.log(`restored checkpoint of step ${restored.step} (${files} files) into ${this.dir}`);
    } catch (err) {
      throw new PermanentRunError(`cannot restore the checkpoint of step ${restored.step}: ${describe(err)}`);
    }
    this.lastSavedData = restored.data;
    this.lastSavedStep = restored.step;
    return restored.step;
  }

  /** A checkpoint line: the directory is copied now (while the program may go on writing) and saved. */
  requested(step: number): void {
    if (this.every === 0) {
      if (!this.warnedDisabled) this.log('checkpoint lines ignored: trial.checkpointEvery is 0');
      this.warnedDisabled = true;
      return;
    }
    this.save(step, false, snapshotDirectory(this.dir));
  }

  /** After a successful exit: saves the directory if it changed since the last save, at the last step. */
  atExit(lastStep: number | undefined): void {
    if (this.every === 0) return;
    const finalStep = Math.max(lastStep ?? 0, this.lastSavedStep ?? 0);
    this.save(finalStep, true, snapshotDirectory(this.dir));
  }

  /** Waits for the saves queued so far. A failed save was logged; the note says so once more. */
  async settled(note = false): Promise<void> {
    await this.saves;
    if (note && this.failure !== undefined) {
      // The training itself succeeded; the result stands and the failure is in the log.
      this.log(`note: at least one checkpoint could not be saved (${describe(this.failure)})`);
    }
  }

  /**
   * Queues a save of the packed directory. A checkpoint line is saved unless it repeats the last
   * save exactly; at exit the directory is saved only when it changed since the last save (or
   * the restore), so an unchanged directory is never relabelled with a later step.
   */
  private save(step: number, atExit: boolean, snapshot: Promise<PackedDirectory | undefined>): void {
    const why = atExit ? 'at exit' : 'checkpoint line';
    this.saves = this.saves.then(async () => {
      try {
        const packed = await snapshot;
        if (packed === undefined) {
          this.log(`checkpoint for step ${step} (${why}) skipped: ${this.dir} kept changing while it was copied`);
          return;
        }
        const { data, files, skipped } = packed;
        if (files === 0) {
          if (!atExit) this.log(`checkpoint for step ${step} (${why}) ignored: ${this.dir} holds no files`);
          return;
        }
        if (skipped.length > 0)
          this.log(`checkpoint: skipped entries that are not files or directories: ${skipped.join(', ')}`);
        if (this.lastSavedData && data.equals(this.lastSavedData) && (atExit || this.lastSavedStep === step)) return;
        const checkpoint: Checkpoint = { step, data };
        await this.store.save(checkpoint);
        this.lastSavedData = data;
        this.lastSavedStep = step;
      } catch (err) {
        this.failure ??= err;
        this.log(`checkpoint for step ${step} (${why}) could not be saved: ${describe(err)}`);
      }
    });
  }
}
