// ImClient: one device's connection to imqtt (docs/sdk.md). connect() opens it;
// close() ends it. Life cycle: load the store -> CONNECT (clean start false, a
// stable client id) -> SUBSCRIBE im/u/{user}/# -> re-send the outbox -> sync;
// on a lost connection: reconnect with backoff and full jitter, then the same
// steps again. Incoming publishes other than rpc responses go through one
// serial queue, so cursors and the outbox change one event at a time.

import mqtt from 'mqtt';
import type { MqttClient, IClientOptions, IPublishPacket } from 'mqtt';
import { Cursors } from './cursors.js';
import { ClosedError, ImError, connackCode } from './errors.js';
import { Emitter } from './events.js';
import { newCid, randomId, webCrypto } from './ids.js';
import { Outbox, codeUnknownOutcome } from './outbox.js';
import { Rpc } from './rpc.js';
import { IndexedDBStore } from './stores/indexeddb.js';
import { MemoryStore } from './stores/memory.js';
import type { Store } from './stores/store.js';
import type {
  Ack, AckPayload, ConnectOptions, ConnectionState, ConversationsResult, Envelope, EventMap,
  GroupResult, HistoryResult, MediaBody, MembersResult, OutboxEntry, Profile, RpcResult,
  SendOptions, SyncResult, Target, UploadResult,
} from './types.js';

const defaultTimeoutMs = 10000;
const retryUnknownMs = 1000;
const syncPageLimit = 200;
const maxGapSyncs = 3;

/** Connects a device and resolves once it is subscribed and synced. */
export async function connect(opts: ConnectOptions): Promise<ImClient> {
  const c = new ImClient(opts);
  await c.open();
  return c;
}

/** The topic of a send to target. */
function sendTopic(to: Target): string {
  if (typeof to === 'string') return `im/send/user/${to}`;
  if ('group' in to) return `im/send/group/${to.group}`;
  return `im/send/user/${to.user}`;
}

/** A connected device of a user. Create it with connect(). */
export class ImClient extends Emitter<EventMap> {
  /** The user this device acts for. */
  readonly user: string;
  /** The store of the outbox, cursors and client id. */
  readonly store: Store;
  private readonly opts: ConnectOptions;
  private readonly timeoutMs: number;
  private readonly v5: boolean;
  private clientIdValue = '';
  private mqtt: MqttClient | undefined;
  private rpcs: Rpc | undefined;
  private readonly outboxQ: Outbox;
  private readonly cursors: Cursors;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  private state: ConnectionState = 'disconnected';
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private timers = new Set<ReturnType<typeof setTimeout>>();
  private watched = new Set<string>();
  private syncing: Promise<SyncResult> | undefined;
  private syncAgain = false;
  private gapSyncs = 0;

  /** Use connect(); the constructor does no I/O. */
  constructor(opts: ConnectOptions) {
    super();
    if (!opts.url || !opts.user) throw new TypeError('imqtt: connect needs url and user');
    this.opts = opts;
    this.user = opts.user;
    this.timeoutMs = opts.timeoutMs ?? defaultTimeoutMs;
    this.v5 = (opts.protocolVersion ?? 5) === 5;
    this.store = opts.store ?? (typeof indexedDB !== 'undefined' ? new IndexedDBStore(`imqtt-${opts.user}`) : new MemoryStore());
    this.outboxQ = new Outbox(this.store);
    for (const [ev, fn] of Object.entries(opts.on ?? {})) {
      if (fn) this.on(ev as keyof EventMap, fn as (v: unknown) => void);
    }
    this.cursors = new Cursors(
      this.store,
      (env) => this.emit('message', env),
      () => this.requestSync(),
    );
  }

  /** The MQTT client id of this device (stable across restarts with a persistent store). */
  get clientId(): string {
    return this.clientIdValue;
  }

  /** The connection state. */
  get connectionState(): ConnectionState {
    return this.state;
  }

  /** Opens the connection; called by connect(). Rejects with ImError on a refused CONNACK. */
  async open(): Promise<void> {
    const idKey = `client_id/${this.user}`;
    let id = this.opts.clientId ?? (await this.store.get(idKey));
    if (!id) {
      id = `imqtt-${await randomId(16)}`;
      await this.store.set(idKey, id);
    }
    this.clientIdValue = id;
    await this.cursors.load();
    await this.outboxQ.load();
    const tag = id.replace(/[^A-Za-z0-9_.-]/g, '_');
    this.rpcs = new Rpc(`im/u/${this.user}/r/${tag}`, this.v5, await randomId(10), this.timeoutMs, (t, p, props) =>
      this.publish(t, p, props),
    );
    const mopts: IClientOptions = {
      protocolVersion: this.v5 ? 5 : 4,
      clientId: id,
      username: this.user,
      password: this.opts.token ?? this.opts.password,
      clean: false,
      reconnectPeriod: 0,
      connectTimeout: this.timeoutMs,
      resubscribe: false,
      queueQoSZero: false,
      keepalive: 30,
    };
    if (this.v5) mopts.properties = { sessionExpiryInterval: this.opts.sessionExpirySec ?? 7 * 24 * 3600 };
    await new Promise<void>((resolve, reject) => {
      let first = true;
      let lastErr: Error | undefined;
      const m = mqtt.connect(this.opts.url, mopts);
      this.mqtt = m;
      m.on('message', (topic, payload, packet) => this.onPublish(topic, payload, packet));
      m.on('error', (err) => {
        lastErr = err;
        const rc = (err as { code?: unknown }).code;
        const imErr = typeof rc === 'number' ? new ImError(connackCode(this.v5 ? 5 : 4, rc), err.message) : err;
        if (first) {
          first = false;
          this.shutdown();
          reject(imErr);
        } else {
          this.emit('error', imErr);
        }
      });
      m.on('connect', () => {
        this.attempt = 0;
        this.setState('connected');
        this.onConnected().then(
          () => {
            if (first) {
              first = false;
              resolve();
            }
          },
          (err: Error) => {
            if (first) {
              first = false;
              this.shutdown();
              reject(err);
            } else {
              this.emit('error', err);
            }
          },
        );
      });
      m.on('close', () => {
        if (this.closed) return;
        if (first) {
          first = false;
          this.shutdown();
          reject(lastErr ?? new Error(`imqtt: connection to ${this.opts.url} closed before CONNACK`));
          return;
        }
        if (this.state === 'connected') this.setState('disconnected', lastErr?.message);
        this.scheduleReconnect();
      });
    });
  }

  private setState(state: ConnectionState, reason?: string): void {
    this.state = state;
    this.emit('connection', reason ? { state, reason } : { state });
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    const min = this.opts.reconnect?.minMs ?? 500;
    const max = this.opts.reconnect?.maxMs ?? 30000;
    const cap = Math.min(max, min * 2 ** Math.min(this.attempt, 20));
    const delay = min + Math.random() * Math.max(0, cap - min);
    this.attempt++;
    this.setState('reconnecting');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.closed) this.mqtt?.reconnect();
    }, delay);
  }

  /** After every CONNACK: subscribe, re-send the outbox, sync. */
  private async onConnected(): Promise<void> {
    const filters = [`im/u/${this.user}/#`, 'im/notify/all', ...[...this.watched].map((u) => `im/presence/${u}`)];
    await this.subscribe(filters);
    for (const e of await this.outboxQ.list()) this.publishEntry(e);
    if (this.opts.autoSync ?? true) await this.sync();
  }

  private subscribe(filters: string[]): Promise<void> {
    return new Promise((resolve, reject) => {
      const m = this.mqtt;
      if (!m) return reject(new ClosedError());
      m.subscribe(filters, { qos: 1 }, (err, granted) => {
        if (err) return reject(err);
        const bad = (granted ?? []).find((g) => g.qos >= 0x80);
        if (bad) return reject(new ImError(bad.qos, `subscribe refused: ${bad.topic}`));
        resolve();
      });
    });
  }

  /** Publishes at QoS 1; resolves at PUBACK, rejects with ImError on a refusing PUBACK (MQTT 5). */
  private publish(topic: string, payload: string, props?: { responseTopic: string; correlationData: Uint8Array }): Promise<void> {
    return new Promise((resolve, reject) => {
      const m = this.mqtt;
      if (!m || this.closed) return reject(new ClosedError());
      const o: { qos: 1; properties?: { responseTopic: string; correlationData: Buffer } } = { qos: 1 };
      if (props) o.properties = { responseTopic: props.responseTopic, correlationData: toBuffer(props.correlationData) };
      m.publish(topic, payload, o, (err, packet) => {
        if (!err) return resolve();
        const rc = (err as { code?: unknown }).code;
        if (typeof rc === 'number') {
          const reason = (packet as { properties?: { reasonString?: string } } | undefined)?.properties?.reasonString;
          return reject(new ImError(rc, reason ?? err.message, { topic }));
        }
        reject(err);
      });
    });
  }

  private publishEntry(e: OutboxEntry): void {
    if (!this.mqtt?.connected || this.closed) return;
    // Refusals come back as acks; a lost connection re-sends at the next connect.
    this.publish(e.topic, e.payload).catch(() => undefined);
  }

  /** Runs task after every task queued before it; errors become `error` events. */
  private enqueue(task: () => Promise<void> | void): Promise<void> {
    const next = this.queue.then(task).catch((err: Error) => this.emit('error', err));
    this.queue = next;
    return next;
  }

  private onPublish(topic: string, payload: Uint8Array, packet: IPublishPacket): void {
    if (payload.length === 0) return; // a cleared retained presence
    let obj: Record<string, unknown>;
    try {
      obj = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
    } catch {
      this.emit('error', new Error(`imqtt: bad JSON on ${topic}`));
      return;
    }
    const own = `im/u/${this.user}/`;
    if (topic.startsWith(own)) {
      const leaf = topic.slice(own.length);
      if (leaf === 'rpc' || leaf.startsWith('r/')) {
        const corr = packet.properties?.correlationData;
        this.rpcs?.handle(obj as RpcResult, corr ? new Uint8Array(corr) : undefined);
        return;
      }
      switch (leaf) {
        case 'msg': {
          const env = obj as unknown as Envelope;
          void this.enqueue(() => this.cursors.live(env.conv, env.seq, this.isOwn(env) ? null : env));
          return;
        }
        case 'ack':
          void this.enqueue(() => this.onAck(obj as unknown as AckPayload));
          return;
        case 'receipt':
        case 'typing':
        case 'notify':
        case 'prefs':
        case 'profile':
          void this.enqueue(() => this.emit(leaf, obj as never));
          return;
        default:
          return;
      }
    }
    if (topic === 'im/notify/all') void this.enqueue(() => this.emit('notify', obj as never));
    else if (topic.startsWith('im/presence/')) void this.enqueue(() => this.emit('presence', obj as never));
  }

  /** A copy of a send of this device still in the outbox (not to be emitted as a message). */
  private isOwn(env: Envelope): boolean {
    return env.from === this.user && this.outboxQ.has(env.cid);
  }

  private async onAck(p: AckPayload): Promise<void> {
    const out = await this.outboxQ.onAck(p);
    switch (out.kind) {
      case 'acked':
        await this.cursors.live(out.ack.conv, out.ack.seq, null);
        this.emit('ack', out.ack);
        out.settle();
        return;
      case 'refused':
        if (!out.live) this.emit('error', out.err);
        out.settle();
        return;
      case 'retry': {
        const t = setTimeout(() => {
          this.timers.delete(t);
          this.publishEntry(out.entry);
        }, retryUnknownMs);
        this.timers.add(t);
        return;
      }
      default:
        return;
    }
  }

  private requestSync(): void {
    if (this.closed || !this.mqtt?.connected) return;
    if (this.syncing) {
      this.syncAgain = true;
      return;
    }
    this.sync().catch((err: Error) => this.emit('error', err));
  }

  /**
   * Fetches everything after the stored cursors, paging while `more`, and
   * delivers it through the message path (each seq once, in order). Runs by
   * itself on every (re)connect (autoSync) and on a gap. Resolves with every
   * message of the pages and the final positions.
   */
  sync(): Promise<SyncResult> {
    if (this.syncing) return this.syncing;
    const run = async (): Promise<SyncResult> => {
      const all: Envelope[] = [];
      let since = await this.enqueueValue(() => this.cursors.snapshot());
      for (;;) {
        const res = await this.call<SyncResult>('sync', { since, limit: syncPageLimit });
        all.push(...res.messages);
        await this.enqueue(async () => {
          for (const env of res.messages) await this.cursors.synced(env, this.isOwn(env));
        });
        since = res.since;
        if (!res.more) break;
      }
      const gaps = await this.enqueueValue(() => this.cursors.syncDone(since));
      if (gaps && this.gapSyncs < maxGapSyncs) {
        this.gapSyncs++;
        this.syncAgain = true;
      } else {
        if (gaps) await this.enqueue(() => this.cursors.flushGaps());
        this.gapSyncs = 0;
      }
      return { ok: true, code: 0, method: 'sync', messages: all, since, more: false };
    };
    const p = run().finally(() => {
      this.syncing = undefined;
      if (this.syncAgain) {
        this.syncAgain = false;
        this.requestSync();
      }
    });
    this.syncing = p;
    return p;
  }

  private enqueueValue<T>(f: () => T | Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      void this.enqueue(async () => {
        try {
          resolve(await f());
        } catch (err) {
          reject(err);
        }
      });
    });
  }

  /**
   * Sends body to a user or a group. The cid is written to the outbox before
   * the publish; the promise resolves with the ack, or rejects with ImError
   * when refused. It never times out: the send stays in the outbox and is
   * re-sent (same cid) on every reconnect until its ack comes.
   */
  async send(to: Target, body: string, opts: SendOptions = {}): Promise<Ack> {
    if (this.closed) throw new ClosedError();
    const cid = opts.cid ?? (await newCid());
    const payload: Record<string, unknown> = { cid, body };
    if (opts.type) payload.type = opts.type;
    if (opts.mentions) payload.mentions = opts.mentions;
    const entry: OutboxEntry = { cid, topic: sendTopic(to), payload: JSON.stringify(payload), created: Date.now() };
    const { acked } = await this.outboxQ.add(entry);
    this.publishEntry(entry);
    return acked;
  }

  /** The sends waiting for their ack, oldest first. */
  outbox(): Promise<OutboxEntry[]> {
    return this.outboxQ.list();
  }

  /** Calls any rpc method (docs/protocol.md "Methods"). */
  rpc<R extends RpcResult = RpcResult>(method: string, params: Record<string, unknown> = {}): Promise<R> {
    return this.call<R>(method, params);
  }

  private call<R extends RpcResult>(method: string, params: Record<string, unknown>): Promise<R> {
    if (this.closed || !this.rpcs) return Promise.reject(new ClosedError());
    return this.rpcs.call<R>(method, params);
  }

  /** A page of a conversation's messages (ascending seq). */
  history(conv: string, opts: { before?: number; after?: number; limit?: number } = {}): Promise<HistoryResult> {
    return this.call('history', { conv, ...opts });
  }
  /** Receipt: everything up to seq read (moves delivered too). */
  markRead(conv: string, seq: number): Promise<void> {
    return this.publish(`im/receipt/${conv}`, JSON.stringify({ type: 'read', seq }));
  }
  /** Receipt: everything up to seq delivered. */
  markDelivered(conv: string, seq: number): Promise<void> {
    return this.publish(`im/receipt/${conv}`, JSON.stringify({ type: 'delivered', seq }));
  }
  /** Typing indicator. */
  typing(conv: string, state: 'start' | 'stop'): Promise<void> {
    return this.publish(`im/typing/${conv}`, JSON.stringify({ state }));
  }
  conversations(): Promise<ConversationsResult> {
    return this.call('conversations', {});
  }
  createGroup(name: string, users: string[], opts: { open?: boolean } = {}): Promise<GroupResult> {
    return this.call('group.create', { name, users, ...opts });
  }
  invite(group: string, users: string[]): Promise<GroupResult> {
    return this.call('group.invite', { group, users });
  }
  join(group: string): Promise<GroupResult> {
    return this.call('group.join', { group });
  }
  leave(group: string): Promise<GroupResult> {
    return this.call('group.leave', { group });
  }
  kick(group: string, user: string): Promise<GroupResult> {
    return this.call('group.kick', { group, user });
  }
  setRole(group: string, user: string, role: 'owner' | 'admin' | 'member'): Promise<GroupResult> {
    return this.call('group.role', { group, user, role });
  }
  renameGroup(group: string, name: string): Promise<GroupResult> {
    return this.call('group.rename', { group, name });
  }
  members(group: string): Promise<MembersResult> {
    return this.call('group.members', { group });
  }
  edit(conv: string, seq: number, body: string): Promise<RpcResult> {
    return this.call('msg.edit', { conv, seq, body });
  }
  recall(conv: string, seq: number): Promise<RpcResult> {
    return this.call('msg.recall', { conv, seq });
  }
  react(conv: string, seq: number, emoji: string, opts: { remove?: boolean } = {}): Promise<RpcResult> {
    return this.call('msg.react', { conv, seq, emoji, remove: !!opts.remove });
  }
  block(user: string): Promise<RpcResult> {
    return this.call('block', { user });
  }
  unblock(user: string): Promise<RpcResult> {
    return this.call('unblock', { user });
  }
  blockList(): Promise<RpcResult & { blocked: { user: string; since: number }[] }> {
    return this.call('block.list', {});
  }
  setConversation(conv: string, set: Record<string, unknown>): Promise<RpcResult> {
    return this.call('conversation.set', { conv, set });
  }
  setProfile(p: { display_name?: string; avatar?: string; status?: string }): Promise<RpcResult & { profile: Profile }> {
    return this.call('profile.set', { ...p });
  }
  getProfiles(users: string[] = []): Promise<RpcResult & { profiles: Profile[] }> {
    return this.call('profile.get', { users });
  }
  /** A notification (admins): to a user name, {user}, {group} or {all: true}. */
  notify(to: Target | { all: true }, title: string, body: string): Promise<RpcResult> {
    return this.call('notify', { to: typeof to === 'string' ? { user: to } : to, title, body });
  }
  /** Asks for an upload URL (docs/protocol.md "Media messages"). */
  upload(f: { name: string; size: number; mime: string; sha256: string }): Promise<UploadResult> {
    return this.call('upload', { ...f });
  }

  /**
   * Hashes data, asks for an upload URL, PUTs the bytes and returns the media
   * body to send: send(to, JSON.stringify(body), {type}). Uses fetch.
   */
  async uploadFile(data: Uint8Array | ArrayBuffer | Blob, f: { name: string; mime: string }): Promise<MediaBody> {
    const src =
      data instanceof Uint8Array ? data : data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(await data.arrayBuffer());
    const bytes = new Uint8Array(src.length); // a copy on a plain ArrayBuffer (BufferSource, BodyInit)
    bytes.set(src);
    const c = await webCrypto();
    const digest = new Uint8Array(await c.subtle.digest('SHA-256', bytes));
    const sha256 = [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
    const up = await this.upload({ name: f.name, size: bytes.length, mime: f.mime, sha256 });
    const res = await fetch(up.put_url, { method: 'PUT', headers: up.put_headers, body: bytes });
    if (!res.ok) throw new Error(`imqtt: upload PUT ${res.status} ${res.statusText}`);
    return { url: up.url, name: f.name, size: bytes.length, mime: f.mime, sha256 };
  }

  /** Subscribes to the presence of users (events `presence`; kept across reconnects). */
  async watchPresence(users: string[]): Promise<void> {
    const fresh = users.filter((u) => !this.watched.has(u));
    for (const u of fresh) this.watched.add(u);
    if (fresh.length > 0 && this.mqtt?.connected) await this.subscribe(fresh.map((u) => `im/presence/${u}`));
  }

  /** Ends the connection (DISCONNECT). Pending sends stay in the store; idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    const m = this.mqtt;
    this.shutdown();
    if (m) await new Promise<void>((resolve) => m.end(false, {}, () => resolve()));
    await this.queue;
    if (this.state !== 'disconnected') this.setState('disconnected', 'closed');
  }

  /** Stops timers and settles what waits; the mqtt client is ended without waiting. */
  private shutdown(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.rpcs?.close();
    this.outboxQ.close();
    this.mqtt?.end(true);
  }
}

function toBuffer(b: Uint8Array): Buffer {
  const B = (globalThis as { Buffer?: typeof Buffer }).Buffer;
  return (B ? B.from(b) : b) as Buffer;
}

export { codeUnknownOutcome };
