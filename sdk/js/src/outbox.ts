// The outbox: sends written to the Store before they are published and kept
// until their ack (docs/sdk.md "Outbox"). Acks are matched by cid.

import { ImError, ClosedError } from './errors.js';
import type { Store } from './stores/store.js';
import type { Ack, AckPayload, OutboxEntry } from './types.js';

/** Ack code 0x80: storage unavailable, outcome unknown: keep and re-send. */
export const codeUnknownOutcome = 0x80;

interface Waiter {
  resolve: (a: Ack) => void;
  reject: (err: Error) => void;
}

/** What an ack did to the outbox. */
export type AckOutcome =
  | { kind: 'ignored' } // not a cid of this device's outbox
  | { kind: 'acked'; ack: Ack; live: boolean; settle: () => void }
  | { kind: 'refused'; err: ImError; live: boolean; settle: () => void }
  | { kind: 'retry'; entry: OutboxEntry };

/** Keeps pending sends in the Store and their promises in memory. */
export class Outbox {
  private waiters = new Map<string, Waiter>();
  private pending = new Set<string>(); // cids in the store (mirror, for sync matching)

  constructor(private readonly store: Store) {}

  /** Loads the cids of the stored outbox (at connect). */
  async load(): Promise<OutboxEntry[]> {
    const list = await this.store.list();
    for (const e of list) this.pending.add(e.cid);
    return list;
  }

  /** Writes entry to the store; then `acked` settles on its ack (wrapped: an
   * async function cannot return a promise unresolved). */
  async add(entry: OutboxEntry): Promise<{ acked: Promise<Ack> }> {
    const acked = new Promise<Ack>((resolve, reject) => this.waiters.set(entry.cid, { resolve, reject }));
    acked.catch(() => undefined); // the caller gets it; avoid an unhandled rejection before it attaches
    this.pending.add(entry.cid);
    try {
      await this.store.put(entry);
    } catch (err) {
      this.pending.delete(entry.cid);
      this.waiters.delete(entry.cid);
      throw err;
    }
    return { acked };
  }

  /** Whether cid is a send of this device waiting for its ack. */
  has(cid: string | undefined): boolean {
    return cid !== undefined && this.pending.has(cid);
  }

  /** The pending entries, oldest first. */
  list(): Promise<OutboxEntry[]> {
    return this.store.list();
  }

  /** Applies an ack: removes the send (settle() then resolves or rejects its
   * promise, after the caller's events), or keeps it on 0x80. */
  async onAck(p: AckPayload): Promise<AckOutcome> {
    const cid = p.cid;
    if (cid === undefined || !this.pending.has(cid)) return { kind: 'ignored' };
    if (!p.ok && p.code === codeUnknownOutcome) {
      const entry = (await this.store.list()).find((e) => e.cid === cid);
      return entry ? { kind: 'retry', entry } : { kind: 'ignored' };
    }
    this.pending.delete(cid);
    await this.store.delete(cid);
    const w = this.waiters.get(cid);
    this.waiters.delete(cid);
    if (p.ok) {
      const ack: Ack = { cid, conv: p.conv ?? '', id: p.id ?? '', seq: p.seq ?? 0, ts: p.ts ?? 0 };
      if (p.dup) ack.dup = true;
      return { kind: 'acked', ack, live: !!w, settle: () => w?.resolve(ack) };
    }
    const err = new ImError(p.code, p.reason ?? '', { topic: p.topic });
    return { kind: 'refused', err, live: !!w, settle: () => w?.reject(err) };
  }

  /** Rejects every live promise with err, default ClosedError (the entries stay in the store). */
  close(err?: Error): void {
    for (const w of this.waiters.values()) w.reject(err ?? new ClosedError());
    this.waiters.clear();
  }
}
