// FileStore: a Store in one JSON file (Node), written atomically (temporary
// file, fsync, rename) after every change; concurrent changes share a write.

import type { OutboxEntry } from '../types.js';
import type { Store } from './store.js';

interface FileState {
  outbox: OutboxEntry[];
  cursors: Record<string, number>;
  meta: Record<string, string>;
}

type FsPromises = typeof import('node:fs/promises');

/** A Store in a JSON file (Node only). The file is read at the first call. */
export class FileStore implements Store {
  readonly path: string;
  private state: FileState | undefined;
  private loading: Promise<FileState> | undefined;
  private writing: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  constructor(path: string) {
    this.path = path;
  }

  private async fs(): Promise<FsPromises> {
    const mod = 'node:fs/promises';
    return (await import(/* @vite-ignore */ mod)) as FsPromises;
  }

  private load(): Promise<FileState> {
    if (this.state) return Promise.resolve(this.state);
    if (!this.loading) {
      this.loading = (async () => {
        const fs = await this.fs();
        let st: FileState = { outbox: [], cursors: {}, meta: {} };
        try {
          const parsed = JSON.parse(await fs.readFile(this.path, 'utf8')) as Partial<FileState>;
          st = { outbox: parsed.outbox ?? [], cursors: parsed.cursors ?? {}, meta: parsed.meta ?? {} };
        } catch (err) {
          if ((err as { code?: string }).code !== 'ENOENT') {
            throw new Error(`imqtt: FileStore ${this.path}: ${(err as Error).message}`);
          }
        }
        this.state = st;
        return st;
      })();
    }
    return this.loading;
  }

  /** Writes the state; a change made while a write runs is written by the next one. */
  private save(): Promise<void> {
    if (this.queued) return this.queued;
    const prev = this.writing ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(async () => {
      this.queued = undefined;
      this.writing = next;
      const fs = await this.fs();
      const tmp = `${this.path}.tmp`;
      const fh = await fs.open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(JSON.stringify(this.state));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fs.rename(tmp, this.path);
    });
    this.queued = next;
    return next;
  }

  async put(entry: OutboxEntry): Promise<void> {
    const st = await this.load();
    const i = st.outbox.findIndex((e) => e.cid === entry.cid);
    if (i >= 0) st.outbox[i] = { ...entry };
    else st.outbox.push({ ...entry });
    await this.save();
  }
  async delete(cid: string): Promise<void> {
    const st = await this.load();
    const n = st.outbox.length;
    st.outbox = st.outbox.filter((e) => e.cid !== cid);
    if (st.outbox.length !== n) await this.save();
  }
  async list(): Promise<OutboxEntry[]> {
    return (await this.load()).outbox.map((e) => ({ ...e }));
  }
  async getCursors(): Promise<Record<string, number>> {
    return { ...(await this.load()).cursors };
  }
  async setCursor(conv: string, seq: number): Promise<void> {
    const st = await this.load();
    st.cursors[conv] = seq;
    await this.save();
  }
  async get(key: string): Promise<string | undefined> {
    return (await this.load()).meta[key];
  }
  async set(key: string, value: string): Promise<void> {
    const st = await this.load();
    st.meta[key] = value;
    await this.save();
  }
  /** Waits for the last write. */
  async close(): Promise<void> {
    await (this.queued ?? this.writing)?.catch(() => undefined);
  }
}
