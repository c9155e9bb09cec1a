// IndexedDBStore: the default Store in browsers; the outbox survives a page
// reload. Three object stores: outbox (auto-increment key = order, unique index
// on cid), cursors (key conv) and meta (key = the metadata key).

import type { OutboxEntry } from '../types.js';
import type { Store } from './store.js';

const version = 1;

function req<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('imqtt: IndexedDB transaction aborted'));
  });
}

/** A Store in the browser's IndexedDB database `name` (default "imqtt"). */
export class IndexedDBStore implements Store {
  readonly name: string;
  private db: Promise<IDBDatabase> | undefined;

  constructor(name = 'imqtt') {
    this.name = name;
  }

  private open(): Promise<IDBDatabase> {
    if (!this.db) {
      const r = indexedDB.open(this.name, version);
      r.onupgradeneeded = () => {
        const db = r.result;
        const ob = db.createObjectStore('outbox', { autoIncrement: true });
        ob.createIndex('cid', 'cid', { unique: true });
        db.createObjectStore('cursors');
        db.createObjectStore('meta');
      };
      this.db = req(r);
    }
    return this.db;
  }

  private async tx(stores: string[], mode: IDBTransactionMode): Promise<IDBTransaction> {
    return (await this.open()).transaction(stores, mode);
  }

  async put(entry: OutboxEntry): Promise<void> {
    const tx = await this.tx(['outbox'], 'readwrite');
    const ob = tx.objectStore('outbox');
    const key = await req(ob.index('cid').getKey(entry.cid));
    if (key === undefined) ob.add({ ...entry });
    else ob.put({ ...entry }, key);
    await done(tx);
  }
  async delete(cid: string): Promise<void> {
    const tx = await this.tx(['outbox'], 'readwrite');
    const ob = tx.objectStore('outbox');
    const key = await req(ob.index('cid').getKey(cid));
    if (key !== undefined) ob.delete(key);
    await done(tx);
  }
  async list(): Promise<OutboxEntry[]> {
    const tx = await this.tx(['outbox'], 'readonly');
    return (await req(tx.objectStore('outbox').getAll())) as OutboxEntry[];
  }
  async getCursors(): Promise<Record<string, number>> {
    const tx = await this.tx(['cursors'], 'readonly');
    const st = tx.objectStore('cursors');
    const [keys, vals] = await Promise.all([req(st.getAllKeys()), req(st.getAll())]);
    const out: Record<string, number> = {};
    keys.forEach((k, i) => (out[String(k)] = vals[i] as number));
    return out;
  }
  async setCursor(conv: string, seq: number): Promise<void> {
    const tx = await this.tx(['cursors'], 'readwrite');
    tx.objectStore('cursors').put(seq, conv);
    await done(tx);
  }
  async get(key: string): Promise<string | undefined> {
    const tx = await this.tx(['meta'], 'readonly');
    return (await req(tx.objectStore('meta').get(key))) as string | undefined;
  }
  async set(key: string, value: string): Promise<void> {
    const tx = await this.tx(['meta'], 'readwrite');
    tx.objectStore('meta').put(value, key);
    await done(tx);
  }
  async close(): Promise<void> {
    if (this.db) (await this.db).close();
    this.db = undefined;
  }
}
