// ImClient: one device's connection to imqtt (docs/sdk.md). connect() opens it;
// close() ends it. Life cycle: load the store -> CONNECT (clean start false, a
// stable client id) -> SUBSCRIBE im/u/{user}/# -> re-send the outbox -> sync;
// on a lost connection: reconnect with backoff and full jitter, then the same
// steps again. A reconnect refused for good (isPermanentRefusal: a revoked
// token, a banned user) fails the client: state `failed`, waiting requests
// and sends reject with the refusal, the outbox stays in the store. Incoming
// publishes other than rpc responses go through one serial queue, so cursors
// and the outbox change one event at a time.

import mqtt from 'mqtt';
import type { MqttClient, IClientOptions, IPublishPacket } from 'mqtt';
import { Calls } from './calls.js';
import { Cursors } from './cursors.js';
import { parseConversation, sendTopic } from './conv.js';
import { ClosedError, ImError, TimeoutError, connackCode, isPermanentRefusal } from './errors.js';
import { cryptoReady, newCid, randomId } from './ids.js';
import { Outbox, codeUnknownOutcome } from './outbox.js';
import { Watched } from './presence.js';
import { Rpc } from './rpc.js';
import { IndexedDBStore } from './stores/indexeddb.js';
import { MemoryStore } from './stores/memory.js';
import type { Store } from './stores/store.js';
import type {
  Ack, AckPayload, ConnectOptions, ConnectionState, Envelope, EventMap, OutboxEntry, RpcResult, SendOptions, SyncResult,
  Target,
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

/** A connected device of a user. Create it with connect(). */
export class ImClient extends Calls {
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
  private readonly watched = new Watched();
  private awaitingConnack = true;
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
    await cryptoReady();
    const idKey = `client_id/${this.user}`;
    let id = this.opts.clientId ?? (await this.store.get(idKey));
    if (!id) {
      id = `imqtt-${randomId(16)}`;
      await this.store.set(idKey, id);
    }
    this.clientIdValue = id;
    await this.cursors.load();
    await this.outboxQ.load();
    const tag = id.replace(/[^A-Za-z0-9_.-]/g, '_');
    this.rpcs = new Rpc(`im/u/${this.user}/r/${tag}`, this.v5, randomId(10), this.timeoutMs, (t, p, props) =>
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
      // The first connect retries network errors and refusals that may pass
      // (0x88 server unavailable, 0x97 quota...) with the reconnect backoff
      // until timeoutMs; a permanent refusal (isPermanentRefusal) ends it at once.
      const giveUp = (err: Error): void => {
        if (!first) return;
        first = false;
        clearTimeout(deadline);
        this.shutdown();
        reject(err);
      };
      const deadline = setTimeout(() => giveUp(new TimeoutError(`connect to ${this.opts.url}`, this.timeoutMs, lastErr)), this.timeoutMs);
      const m = mqtt.connect(this.opts.url, mopts);
      this.mqtt = m;
      m.on('message', (topic, payload, packet) => this.onPublish(topic, payload, packet));
      m.on('disconnect', (p) => {
        // The server ended the connection (MQTT 5 DISCONNECT): its reason.
        const rc = p.reasonCode ?? 0;
        lastErr = new ImError(rc, p.properties?.reasonString ?? `disconnected by the server (code 0x${rc.toString(16)})`);
      });
      m.on('error', (err) => {
        lastErr = err;
        const rc = (err as { code?: unknown }).code;
        const refused = this.awaitingConnack && typeof rc === 'number';
        const imErr = refused ? new ImError(connackCode(this.v5 ? 5 : 4, rc), err.message) : err;
        if (first) {
          lastErr = imErr;
          if (imErr instanceof ImError && isPermanentRefusal(imErr.code)) giveUp(imErr);
          // otherwise 'close' follows and schedules the next attempt
        } else if (refused && imErr instanceof ImError && isPermanentRefusal(imErr.code)) {
          this.fail(imErr);
        } else {
          this.emit('error', imErr);
        }
      });
      m.on('connect', () => {
        this.awaitingConnack = false;
        this.attempt = 0;
        this.setState('connected');
        this.onConnected().then(
          () => {
            if (first) {
              first = false;
              clearTimeout(deadline);
              resolve();
            }
          },
          (err: Error) => {
            if (first) {
              giveUp(err);
            } else {
              this.emit('error', err);
            }
          },
        );
      });
      m.on('close', () => {
        this.awaitingConnack = true;
        if (this.closed) return;
        if (first) {
          this.scheduleReconnect();
          return;
        }
        if (this.state === 'connected') this.setState('disconnected', lastErr?.message);
        this.scheduleReconnect();
      });
    });
  }

  /** A reconnect refused for good: settle what waits with err and close. */
  private fail(err: ImError): void {
    if (this.closed) return;
    this.shutdown(err);
    this.state = 'failed';
    this.emit('connection', { state: 'failed', reason: err.reason, error: err });
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
      if (this.closed) return;
      this.awaitingConnack = true;
      this.mqtt?.reconnect();
    }, delay);
  }

  /** After every CONNACK: subscribe, re-send the outbox, sync. */
  private async onConnected(): Promise<void> {
    const filters = [`im/u/${this.user}/#`, 'im/notify/all'];
    const codes = await this.subscribe(filters);
    const bad = codes.findIndex((c) => c >= 0x80);
    if (bad >= 0) throw new ImError(codes[bad], `subscribe refused: ${filters[bad]}`);
    this.watched.reset();
    const watched = this.watched.all();
    if (watched.length > 0) await this.subscribePresence(watched);
    for (const e of await this.outboxQ.list()) this.publishEntry(e);
    if (this.opts.autoSync ?? true) await this.sync();
  }

  /** Subscribes filters at QoS 1; resolves with the SUBACK's code of each (≥ 0x80: refused). */
  private subscribe(filters: string[]): Promise<number[]> {
    return new Promise((resolve, reject) => {
      const m = this.mqtt;
      if (!m || this.closed) return reject(new ClosedError());
      m.subscribe(filters, { qos: 1 }, (err, _granted, packet) => {
        // mqtt.js fails the whole call when one filter is refused; the SUBACK has each code.
        const codes = (packet as { granted?: unknown[] } | undefined)?.granted;
        if (Array.isArray(codes) && codes.length === filters.length) return resolve(codes.map((c) => Number(c)));
        reject(err ?? new Error('imqtt: SUBACK without a code per filter'));
      });
    });
  }

  /** Subscribes the presence of users; returns the refused ones. */
  private async subscribePresence(users: string[]): Promise<string[]> {
    const codes = await this.subscribe(users.map((u) => `im/presence/${u}`));
    users.forEach((u, i) => this.watched.granted(u, codes[i] < 0x80));
    return users.filter((_, i) => codes[i] >= 0x80);
  }

  /** A message or ack of conv: refused watched users it may show now are subscribed again. */
  private presenceHint(conv: string, env?: Envelope): void {
    const c = parseConversation(this.user, conv);
    const users =
      c.kind === 'direct' ? this.watched.retry({ peer: c.peer }) : env?.type === 'notice' ? this.watched.retry({ group: true }) : [];
    if (users.length > 0 && this.mqtt?.connected) this.subscribePresence(users).catch(() => undefined); // the next connect retries
  }

  /** Publishes at QoS 1; resolves at PUBACK, rejects with ImError on a refusing PUBACK (MQTT 5). */
  protected publish(topic: string, payload: string, props?: { responseTopic: string; correlationData: Uint8Array }): Promise<void> {
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
          this.presenceHint(env.conv, env);
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
        this.presenceHint(out.ack.conv);
        await this.cursors.live(out.ack.conv, out.ack.seq, null);
        this.emit('ack', out.ack);
        out.settle();
        return;
      case 'refused':
        if (!out.live) this.emit('error', out.err);
        out.settle();
        return;
      case 'ignored':
        // MQTT 3.1.1: a refused receipt or typing is answered by an ack without
        // a cid naming the topic (MQTT 5 callers got it from the PUBACK).
        if (!this.v5 && !p.ok && p.cid === undefined && p.topic) {
          this.emit('error', new ImError(p.code, p.reason ?? '', { topic: p.topic }));
        }
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
    const cid = opts.cid ?? newCid();
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

  /** Sends an rpc and waits for its response (Calls). */
  protected call<R extends RpcResult>(method: string, params: Record<string, unknown>): Promise<R> {
    if (this.closed || !this.rpcs) return Promise.reject(new ClosedError());
    return this.rpcs.call<R>(method, params);
  }

  /**
   * Subscribes to the presence of users (events `presence`), again for users
   * watched already: the retained presence comes once more. The server
   * refuses users its presence policy hides (default: no shared
   * conversation): the promise then rejects with ImError (0x87, or 0x80 on
   * MQTT 3.1.1) naming them, and they stay watched: subscribed again after
   * every reconnect, on the next watchPresence, and once a message or an
   * ack of a direct conversation with them (or a group notice) arrives.
   */
  async watchPresence(users: string[]): Promise<void> {
    if (this.closed) throw new ClosedError();
    this.watched.add(users);
    if (users.length === 0 || !this.mqtt?.connected) return;
    const refused = await this.subscribePresence(users);
    if (refused.length > 0) {
      throw new ImError(this.v5 ? 0x87 : 0x80, `subscribe refused: ${refused.map((u) => `im/presence/${u}`).join(', ')}`);
    }
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

  /** Stops timers and settles what waits (with err, else ClosedError); the mqtt client is ended without waiting. */
  private shutdown(err?: Error): void {
    if (this.closed) return;
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.rpcs?.close(err);
    this.outboxQ.close(err);
    this.mqtt?.end(true);
  }
}

function toBuffer(b: Uint8Array): Buffer {
  const B = (globalThis as { Buffer?: typeof Buffer }).Buffer;
  return (B ? B.from(b) : b) as Buffer;
}

export { codeUnknownOutcome };
