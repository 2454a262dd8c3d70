/**
 * The checkpoints of one attempt: the trial's last checkpoint restored into the program's
 * checkpoint directory, and the directory saved when the program asks (a checkpoint line) and
 * once more at a successful exit. Saves run one after another, in the order asked.
 *
 * Checkpoints travel as files, streamed (archive-file.ts, the worker's saveFile/loadFile): the
 * directory is packed into an archive file in the attempt's folder, sent in chunks, and deleted;
 * a restore downloads the archive to a file, checks its sha256 and unpacks it. No step holds a
 * checkpoint in memory, whatever its size.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AttemptContext, FileCheckpoint } from '../base.js';
import { PermanentRunError } from '../base.js';
import { hashFile } from '../../../shared/artifact-transfer.js';
import { snapshotDirectoryToFile, unpackArchiveFile, type PackedFile } from './archive-file.js';
import { describe } from './process.js';

type FileStore = Required<Pick<AttemptContext['checkpoint'], 'loadFile' | 'saveFile'>>;

/**
 * The checkpoint calls as files. The worker provides them; a context with only the buffer calls
 * (a test harness) gets them by reading and writing the whole file (fine for its small checkpoints).
 */
export function fileCheckpoints(store: AttemptContext['checkpoint']): FileStore {
  if (store.loadFile && store.saveFile) {
    return { loadFile: store.loadFile.bind(store), saveFile: store.saveFile.bind(store) };
  }
  return {
    loadFile: async (path) => {
      const loaded = await store.load();
      if (!loaded) return undefined;
      await writeFile(path, loaded.data, { mode: 0o600 });
      return { step: loaded.step, path, ...(await hashFile(path)) };
    },
    saveFile: async (checkpoint) => store.save({ step: checkpoint.step, data: await readFile(checkpoint.path) }),
  };
}

export class CheckpointKeeper {
  private lastSavedSha: string | undefined;
  private lastSavedStep: number | undefined;
  private saves: Promise<void> = Promise.resolve();
  private warnedDisabled = false;
  private packs = 0;
  /** The first save that failed (the attempt still succeeds; see settled). */
  private failure: unknown;
  private readonly store: FileStore;

  constructor(
    private readonly dir: string,
    /** `trial.checkpointEvery`; 0 turns checkpoints off. */
    private readonly every: number,
    store: AttemptContext['checkpoint'],
    private readonly log: (line: string) => void,
    /** Where archives are written while they travel (the attempt's folder, outside `dir`). */
    private readonly scratch: string,
  ) {
    this.store = fileCheckpoints(store);
  }

  /** Unpacks the trial's latest checkpoint into the directory; its step, or undefined when there is none. */
  async restore(): Promise<number | undefined> {
    const archive = join(this.scratch, 'restore.ckpt');
    let restored: FileCheckpoint | undefined;
    try {
      restored = await this.store.loadFile(archive);
    } catch (err) {
      await rm(archive, { force: true }); // a partial download
      throw err;
    }
    // No checkpoint: nothing was written, nothing to remove (no file-system call on the way to
    // the program's start).
    if (!restored) return undefined;
    try {
      try {
        const files = await unpackArchiveFile(archive, this.dir);
        this.log(
          `restored checkpoint of step ${restored.step} (${files} files, ${restored.size} bytes, sha256 ${restored.sha256}) into ${this.dir}`,
        );
      } catch (err) {
        throw new PermanentRunError(`cannot restore the checkpoint of step ${restored.step}: ${describe(err)}`);
      }
      this.lastSavedSha = restored.sha256;
      this.lastSavedStep = restored.step;
      return restored.step;
    } finally {
      await rm(archive, { force: true });
    }
  }

  /** A checkpoint line: the directory is copied now (while the program may go on writing) and saved. */
  requested(step: number): void {
    if (this.every === 0) {
      if (!this.warnedDisabled) this.log('checkpoint lines ignored: trial.checkpointEvery is 0');
      this.warnedDisabled = true;
      return;
    }
    this.save(step, false, this.snapshot());
  }

  /** After a successful exit: saves the directory if it changed since the last save, at the last step. */
  atExit(lastStep: number | undefined): void {
    if (this.every === 0) return;
    const finalStep = Math.max(lastStep ?? 0, this.lastSavedStep ?? 0);
    this.save(finalStep, true, this.snapshot());
  }

  /** Waits for the saves queued so far. A failed save was logged; the note says so once more. */
  async settled(note = false): Promise<void> {
    await this.saves;
    if (note && this.failure !== undefined) {
      // The training itself succeeded; the result stands and the failure is in the log.
      this.log(`note: at least one checkpoint could not be saved (${describe(this.failure)})`);
    }
  }

  private snapshot(): Promise<PackedFile | undefined> {
    const pending = snapshotDirectoryToFile(this.dir, join(this.scratch, `save-${++this.packs}.ckpt`));
    pending.catch(() => undefined); // handled where the save awaits it
    return pending;
  }

  /**
   * Queues a save of the packed directory. A checkpoint line is saved unless it repeats the last
   * save exactly; at exit the directory is saved only when it changed since the last save (or
   * the restore), so an unchanged directory is never relabelled with a later step.
   */
  private save(step: number, atExit: boolean, snapshot: Promise<PackedFile | undefined>): void {
    const why = atExit ? 'at exit' : 'checkpoint line';
    this.saves = this.saves.then(async () => {
      let packed: PackedFile | undefined;
      try {
        packed = await snapshot;
        if (packed === undefined) {
          this.log(`checkpoint for step ${step} (${why}) skipped: ${this.dir} kept changing while it was copied`);
          return;
        }
        const { files, skipped, sha256 } = packed;
        if (files === 0) {
          if (!atExit) this.log(`checkpoint for step ${step} (${why}) ignored: ${this.dir} holds no files`);
          return;
        }
        if (skipped.length > 0)
          this.log(`checkpoint: skipped entries that are not files or directories: ${skipped.join(', ')}`);
        if (sha256 === this.lastSavedSha && (atExit || this.lastSavedStep === step)) return;
        const checkpoint: FileCheckpoint = { step, path: packed.path, size: packed.size, sha256 };
        await this.store.saveFile(checkpoint);
        this.lastSavedSha = sha256;
        this.lastSavedStep = step;
      } catch (err) {
        this.failure ??= err;
        this.log(`checkpoint for step ${step} (${why}) could not be saved: ${describe(err)}`);
      } finally {
        if (packed) await rm(packed.path, { force: true });
      }
    });
  }
}
