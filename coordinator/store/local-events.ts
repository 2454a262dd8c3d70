/**
 * LocalStore's event outbox with a bounded working set: an event stays in memory until it is
 * both written and published; then only the journal holds it. Memory keeps, per experiment, the
 * last seq, a bitset of the seqs stored (duplicates are refused without a read) and, per block
 * of 1,024 seqs, the lowest journal offset of an event in it: `listEvents(from)` reads the
 * journal from there to its end, so a reader that follows the log reads about what it asked for.
 */
import type { TrellisEvent } from '../../shared/events.js';
import { linesIn, SeqSet, Slots, type ByteSource } from './local-cold.js';
import type { Moved } from './local-journal.js';
import { parseLine } from './local-trials.js';

const BLOCK_SHIFT = 10;
/** How an event record marked published ends (encode writes `{"t":"event","d":{…},"p":true}`). */
const PUBLISHED = ',"p":true}';

interface ExpEvents {
  last: number;
  seen: SeqSet;
  blockMin: Slots;
}

export function eventKey(experimentId: string, seq: number): string {
  return `${experimentId}\0${seq}`;
}

export class EventTable {
  private readonly exps = new Map<string, ExpEvents>();
  /** Keyed `${experimentId}\0${seq}`. */
  readonly unpublished = new Map<string, TrellisEvent>();
  /** Events whose journal line is not written yet (keyed as above). */
  private readonly unplaced = new Map<string, TrellisEvent>();

  constructor(private readonly source: () => ByteSource) {}

  private exp(e: string): ExpEvents {
    let x = this.exps.get(e);
    if (!x) this.exps.set(e, (x = { last: 0, seen: new SeqSet(), blockMin: new Slots() }));
    return x;
  }

  last(experimentId: string): number {
    return this.exps.get(experimentId)?.last ?? 0;
  }

  /** Stores an event (false when its seq is there); it is held until written and published. */
  insert(event: TrellisEvent, written = false): boolean {
    const x = this.exp(event.experimentId!);
    if (x.seen.has(event.seq)) return false;
    x.seen.add(event.seq);
    if (event.seq > x.last) x.last = event.seq;
    const key = eventKey(event.experimentId!, event.seq);
    this.unpublished.set(key, event);
    if (!written) this.unplaced.set(key, event);
    return true;
  }

  /** The events' lines are written at `offsets`. */
  placed(events: TrellisEvent[], offsets: number[]): void {
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      this.unplaced.delete(eventKey(e.experimentId!, e.seq));
      this.at(this.exp(e.experimentId!), e.seq, offsets[i]!);
    }
  }

  private at(x: ExpEvents, seq: number, offset: number): void {
    const block = Math.floor(seq / (1 << BLOCK_SHIFT));
    const min = x.blockMin.get(block);
    if (!(min <= offset)) x.blockMin.set(block, offset);
  }

  /** Marks events published; returns the seqs that were not yet. */
  publish(experimentId: string, seqs: number[]): number[] {
    const done: number[] = [];
    for (const s of seqs) if (this.unpublished.delete(eventKey(experimentId, s))) done.push(s);
    return done;
  }

  /** An event line read at start-up. */
  replay(event: TrellisEvent, offset: number, published: boolean): void {
    if (this.insert(event, true) && published) this.unpublished.delete(eventKey(event.experimentId!, event.seq));
    this.at(this.exp(event.experimentId!), event.seq, offset);
  }

  /** Events of an experiment from `fromSeq`, by seq: the journal from the first block that can hold one, and memory. */
  list(experimentId: string, fromSeq: number, visit: () => void): TrellisEvent[] {
    const x = this.exps.get(experimentId);
    if (!x) return [];
    const bySeq = new Map<number, TrellisEvent>();
    const fromBlock = Math.floor(fromSeq / (1 << BLOCK_SHIFT));
    let start = Infinity;
    for (const [block, min] of x.blockMin.entries()) if (block >= fromBlock && min < start) start = min;
    if (start < Infinity) {
      const source = this.source();
      const mark = `"experimentId":${JSON.stringify(experimentId)}`;
      for (const { text } of linesIn(source, start, source.size)) {
        if (!text.startsWith('{"t":"event"') || !text.includes(mark)) continue;
        visit();
        const e = parseLine(text).d as TrellisEvent;
        if (e.experimentId === experimentId && e.seq >= fromSeq) bySeq.set(e.seq, e);
      }
    }
    for (const held of [this.unpublished, this.unplaced])
      for (const e of held.values()) if (e.experimentId === experimentId && e.seq >= fromSeq) bySeq.set(e.seq, e);
    return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  }

  /** The event's line (`text`, as journaled) for a snapshot: marked published unless memory holds it unpublished. */
  snapshotLine(event: TrellisEvent, text: string): string {
    if (this.unpublished.has(eventKey(event.experimentId!, event.seq)) || text.endsWith(PUBLISHED)) return text;
    return text.slice(0, -1) + PUBLISHED;
  }

  /** Fresh block offsets for the new file; `commit` swaps them in. */
  relocation(): { event(event: TrellisEvent, offset: number): void; commit(moved: Moved): void } {
    const next = new Map<string, Slots>();
    return {
      event: (event, offset) => {
        let slots = next.get(event.experimentId!);
        if (!slots) next.set(event.experimentId!, (slots = new Slots()));
        const block = Math.floor(event.seq / (1 << BLOCK_SHIFT));
        const min = slots.get(block);
        if (!(min <= offset)) slots.set(block, offset);
      },
      commit: ({ from, by }) => {
        for (const [e, x] of this.exps) {
          const blockMin = next.get(e) ?? new Slots();
          // Events written while the snapshot was made: copied after it.
          x.blockMin.forEach((block, min) => {
            if (min < from) return;
            const moved = min + by;
            if (!(blockMin.get(block) <= moved)) blockMin.set(block, moved);
          });
          x.blockMin = blockMin;
        }
      },
    };
  }

  /** What memory holds (the bounded-memory tests count it). */
  footprint(): { held: number; blockSlots: number } {
    let blockSlots = 0;
    for (const x of this.exps.values()) blockSlots += x.blockMin.footprint;
    return { held: new Set([...this.unpublished.keys(), ...this.unplaced.keys()]).size, blockSlots };
  }
}
