// The Store interface: where the SDK keeps what must survive a reconnect or a
// restart of the app. One Store per user (and device).

import type { OutboxEntry } from '../types.js';

/**
 * Persistence of the outbox (sends not acked yet), the per-conversation cursors
 * (highest seq delivered to the app) and small metadata (the device's client id).
 * Every method may be called concurrently with the others; the SDK awaits each
 * write before relying on it (put resolves once the entry is durable).
 */
export interface Store {
  /** Adds or replaces an outbox entry (by cid). */
  put(entry: OutboxEntry): Promise<void>;
  /** Removes an outbox entry; removing an absent cid is not an error. */
  delete(cid: string): Promise<void>;
  /** The outbox entries, oldest first. */
  list(): Promise<OutboxEntry[]>;
  /** Every cursor: conversation -> seq. */
  getCursors(): Promise<Record<string, number>>;
  /** Sets one cursor. */
  setCursor(conv: string, seq: number): Promise<void>;
  /** A metadata value, undefined when unset. */
  get(key: string): Promise<string | undefined>;
  /** Sets a metadata value. */
  set(key: string, value: string): Promise<void>;
  /** Frees resources (optional). */
  close?(): Promise<void>;
}
