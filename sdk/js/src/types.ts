// Types of the SDK's public API: the JSON shapes of docs/protocol.md and the
// options of connect(). Field names are the protocol's (snake_case on the wire).

import type { ImError } from './errors.js';
import type { Store } from './stores/store.js';

/** A conversation id: `d:alice:bob` (direct) or `g:{group}` (group). */
export type Conv = string;

/** Where a message goes: a user name, `{user}` or `{group}`. */
export type Target = string | { user: string } | { group: string };

/** Options of connect(). */
export interface ConnectOptions {
  /** Broker URL as mqtt.js takes it: ws://, wss://, mqtt://, mqtts:// (Node). */
  url: string;
  /** The user name (also the user of a token). */
  user: string;
  /** Password of a password user. */
  password?: string;
  /** A token minted by the admin API (sent as the MQTT password). */
  token?: string;
  /** Stable client id of this device; generated once and kept in the store when absent. */
  clientId?: string;
  /** 5 (default) or 4 (MQTT 3.1.1). */
  protocolVersion?: 5 | 4;
  /** Persistence of the outbox, cursors and client id. Default: IndexedDBStore in
   * browsers (when `indexedDB` exists), else MemoryStore. */
  store?: Store;
  /** Reconnect backoff bounds (full jitter between them). */
  reconnect?: { minMs?: number; maxMs?: number };
  /** Timeout of connect and of every rpc, in ms (default 10000). */
  timeoutMs?: number;
  /** Run sync on every (re)connect (default true). */
  autoSync?: boolean;
  /** Listeners added before the connection opens, so that nothing of the
   * first sync or of the re-sent outbox is missed (same as im.on(event, fn)). */
  on?: { [K in keyof EventMap]?: (value: EventMap[K]) => void };
  /** Session expiry asked for (MQTT 5), in seconds (default 7 days). */
  sessionExpirySec?: number;
}

/** The ack of a send (`im/u/{user}/ack`). */
export interface Ack {
  cid: string;
  conv: Conv;
  id: string;
  seq: number;
  ts: number;
  dup?: boolean;
}

/** The raw ack payload, refusals included. */
export interface AckPayload {
  ok: boolean;
  code: number;
  reason?: string;
  cid?: string;
  conv?: Conv;
  id?: string;
  seq?: number;
  ts?: number;
  dup?: boolean;
  topic?: string;
}

/** A message envelope (`im/u/{user}/msg`, history, sync). */
export interface Envelope {
  seq: number;
  id: string;
  conv: Conv;
  from: string;
  to?: string;
  ts: number;
  cid?: string;
  type: string;
  body?: string;
  mentions?: string[] | 'all';
  mention?: boolean;
  target?: number;
  edited_ts?: number;
  recalled?: boolean;
  emoji?: string;
  remove?: boolean;
  reactions?: { emoji: string; count: number; me: boolean }[];
  notice?: {
    event: string;
    user?: string;
    by?: string;
    name?: string;
    role?: string;
    users?: string[];
  };
}

/** A pending send kept in the outbox until its ack. */
export interface OutboxEntry {
  cid: string;
  topic: string;
  /** The JSON payload published. */
  payload: string;
  /** When it was first queued (unix ms). */
  created: number;
}

/** An outbox entry read back (pendingSends, pendingSend). */
export interface PendingSend {
  cid: string;
  conv: Conv;
  to: { user: string } | { group: string };
  body: string;
  /** The send's type (default `text`). */
  type: string;
  mentions?: string[] | 'all';
  /** When it was first queued (unix ms). */
  created: number;
}

/** Options of send(). */
export interface SendOptions {
  type?: string;
  mentions?: string[] | 'all';
  /** Your own cid (default: a random one; newCid() makes one). */
  cid?: string;
}

export interface ReceiptEvent {
  conv: Conv;
  user: string;
  type: 'delivered' | 'read';
  seq: number;
  ts: number;
}

export interface TypingEvent {
  conv: Conv;
  from: string;
  state: 'start' | 'stop';
  ts: number;
}

export interface PresenceEvent {
  user: string;
  status: 'online' | 'offline';
  last_seen?: number;
  ts: number;
}

export interface NotifyEvent {
  id: string;
  type: 'notify';
  from: string;
  ts: number;
  to: { user?: string; group?: string; all?: boolean };
  title: string;
  body: string;
}

/** Settings or block events (`im/u/{user}/prefs`). */
export interface PrefsEvent {
  event: 'conversation' | 'block';
  conv?: Conv;
  settings?: Record<string, unknown>;
  user?: string;
  blocked?: boolean;
  ts: number;
}

export interface Profile {
  user: string;
  display_name?: string;
  avatar?: string;
  status?: string;
  updated?: number;
}

export interface ProfileEvent extends Profile {
  event: 'profile';
}

/** `failed`: a reconnect was refused for good (a revoked token, a banned
 * user...): the client is closed; `error` says why. */
export type ConnectionState = 'connected' | 'disconnected' | 'reconnecting' | 'failed';

export interface ConnectionEvent {
  state: ConnectionState;
  reason?: string;
  /** `failed` only: the CONNACK refusal (ImError with its reason code). */
  error?: ImError;
}

/** Events of an ImClient and their payloads. */
export interface EventMap {
  message: Envelope;
  ack: Ack;
  receipt: ReceiptEvent;
  presence: PresenceEvent;
  typing: TypingEvent;
  notify: NotifyEvent;
  prefs: PrefsEvent;
  profile: ProfileEvent;
  connection: ConnectionEvent;
  error: Error;
}

/** An rpc result: the response object (`method`, `rid`, `ok`, `code` and the
 * method's fields). */
export interface RpcResult {
  method?: string;
  rid?: string;
  ok: boolean;
  code: number;
  reason?: string;
  [field: string]: unknown;
}

export interface HistoryResult extends RpcResult {
  conv: Conv;
  last_seq: number;
  messages: Envelope[];
  more: boolean;
}

export interface SyncResult extends RpcResult {
  messages: Envelope[];
  since: Record<Conv, number>;
  more: boolean;
}

export interface Conversation {
  conv: Conv;
  kind: 'direct' | 'group';
  peer?: string;
  group?: string;
  name?: string;
  last_seq: number;
  delivered: number;
  read: number;
  unread: number;
  peer_delivered?: number;
  peer_read?: number;
  settings?: Record<string, unknown>;
  blocked?: boolean;
  display_name?: string;
}

export interface ConversationsResult extends RpcResult {
  conversations: Conversation[];
  more?: boolean;
}

export interface GroupResult extends RpcResult {
  group: string;
  conv: Conv;
  seq: number;
  added?: string[];
  skipped?: string[];
}

export interface Member {
  user: string;
  role: 'owner' | 'admin' | 'member';
  joined: number;
  display_name?: string;
}

export interface MembersResult extends RpcResult {
  group: string;
  conv: Conv;
  name: string;
  open: boolean;
  created: number;
  creator: string;
  members: Member[];
}

export interface UploadResult extends RpcResult {
  put_url: string;
  put_headers: Record<string, string>;
  url: string;
  expires: number;
}

/** The body of a media message (send it as JSON.stringify(body)). */
export interface MediaBody {
  url: string;
  name: string;
  size: number;
  mime: string;
  sha256: string;
  width?: number;
  height?: number;
  duration?: number;
}
