// MemoryStore: the default Store in Node; lives as long as the process.

import type { OutboxEntry } from '../types.js';
import type { Store } from './store.js';

/** A Store in memory (nothing survives the process). */
export class MemoryStore implements Store {
  private outbox = new Map<string, OutboxEntry>();
  private cursors: Record<string, number> = {};
  private meta = new Map<string, string>();

  async put(entry: OutboxEntry): Promise<void> {
    this.outbox.set(entry.cid, { ...entry });
  }
  async delete(cid: string): Promise<void> {
    this.outbox.delete(cid);
  }
  async list(): Promise<OutboxEntry[]> {
    return [...this.outbox.values()].map((e) => ({ ...e }));
  }
  async getCursors(): Promise<Record<string, number>> {
    return { ...this.cursors };
  }
  async setCursor(conv: string, seq: number): Promise<void> {
    this.cursors[conv] = seq;
  }
  async get(key: string): Promise<string | undefined> {
    return this.meta.get(key);
  }
  async set(key: string, value: string): Promise<void> {
    this.meta.set(key, value);
  }
}
