// Per-conversation cursors and in-order delivery (docs/sdk.md "Receiving").
// Every method is called from the client's serial queue, one at a time.

import type { Store } from './stores/store.js';
import type { Envelope } from './types.js';

/** A buffered seq: an envelope to deliver, or null for this device's own send (skip). */
type Slot = Envelope | null;

/** Delivers each envelope once and in seq order per conversation. */
export class Cursors {
  private cursors: Record<string, number> = {};
  private buffers = new Map<string, Map<number, Slot>>();

  constructor(
    private readonly store: Store,
    private readonly deliver: (env: Envelope) => void,
    private readonly requestSync: () => void,
  ) {}

  /** Reads the stored cursors (at connect). */
  async load(): Promise<void> {
    this.cursors = await this.store.getCursors();
  }

  /** The positions to send to sync. */
  snapshot(): Record<string, number> {
    return { ...this.cursors };
  }

  /** The cursor of conv (0: nothing delivered). */
  get(conv: string): number {
    return this.cursors[conv] ?? 0;
  }

  /**
   * A live envelope (own: a copy of this device's pending send) or, with env
   * null, the seq of an own ack. In order: delivered; a duplicate: dropped; after
   * a gap: buffered and a sync is requested.
   */
  async live(conv: string, seq: number, env: Envelope | null): Promise<void> {
    const cur = this.get(conv);
    if (seq <= cur) return;
    if (seq === cur + 1) {
      this.emit(env);
      await this.advance(conv, seq);
      return;
    }
    const buf = this.buffer(conv);
    if (buf.get(seq) !== null) buf.set(seq, env);
    this.requestSync();
  }

  /**
   * An envelope of a sync page: sync returns everything after the cursor that
   * this user may see, so it is delivered even when seqs before it are not
   * visible (a group joined late); buffered seqs before it go first.
   */
  async synced(env: Envelope, own: boolean): Promise<void> {
    const cur = this.get(env.conv);
    if (env.seq <= cur) return;
    const buf = this.buffer(env.conv);
    for (const s of [...buf.keys()].filter((s) => s < env.seq).sort((a, b) => a - b)) {
      this.emit(buf.get(s) ?? null);
      buf.delete(s);
    }
    const slot = buf.get(env.seq);
    buf.delete(env.seq);
    this.emit(own || slot === null ? null : env);
    await this.advance(env.conv, env.seq);
  }

  /**
   * The end of a complete sync: since holds the server's positions; a cursor
   * below one moves up to it (seqs this user cannot see). Returns true when a
   * conversation still has a gap before buffered seqs.
   */
  async syncDone(since: Record<string, number>): Promise<boolean> {
    for (const [conv, seq] of Object.entries(since)) {
      if (seq > this.get(conv)) {
        const buf = this.buffer(conv);
        for (const s of [...buf.keys()].filter((s) => s <= seq).sort((a, b) => a - b)) {
          this.emit(buf.get(s) ?? null);
          buf.delete(s);
        }
        await this.advance(conv, seq);
      }
    }
    return [...this.buffers.values()].some((b) => b.size > 0);
  }

  /**
   * Delivers whatever is buffered, in seq order, skipping the gaps (after
   * syncs could not fill them: the seqs were not visible to this user).
   */
  async flushGaps(): Promise<void> {
    for (const [conv, buf] of this.buffers) {
      const seqs = [...buf.keys()].sort((a, b) => a - b);
      if (seqs.length === 0) continue;
      for (const s of seqs) this.emit(buf.get(s) ?? null);
      buf.clear();
      this.cursors[conv] = seqs[seqs.length - 1];
      await this.store.setCursor(conv, this.cursors[conv]);
    }
  }

  private emit(env: Envelope | null): void {
    if (env) this.deliver(env);
  }

  private buffer(conv: string): Map<number, Slot> {
    let b = this.buffers.get(conv);
    if (!b) {
      b = new Map();
      this.buffers.set(conv, b);
    }
    return b;
  }

  /** Moves conv's cursor to seq, then over consecutive buffered seqs, and stores it. */
  private async advance(conv: string, seq: number): Promise<void> {
    let cur = seq;
    const buf = this.buffers.get(conv);
    if (buf) {
      for (const s of [...buf.keys()]) if (s <= cur) buf.delete(s);
      while (buf.has(cur + 1)) {
        cur++;
        this.emit(buf.get(cur) ?? null);
        buf.delete(cur);
      }
    }
    this.cursors[conv] = cur;
    await this.store.setCursor(conv, cur);
  }
}
