// The calls of an ImClient that are one rpc or one publish each
// (docs/protocol.md "Methods", "Receipts", "Typing", "Media messages"), and
// uploadFile. ImClient supplies call (request/reply) and publish (QoS 1).

import { Emitter } from './events.js';
import { sha256Hex } from './ids.js';
import type {
  ConversationsResult, EventMap, GroupResult, HistoryResult, MediaBody, MembersResult, Profile, RpcResult, Target,
  UploadResult,
} from './types.js';

/** The rpc and publish calls of ImClient. */
export abstract class Calls extends Emitter<EventMap> {
  /** Sends an rpc; resolves with its response, rejects with ImError, TimeoutError, ClosedError. */
  protected abstract call<R extends RpcResult>(method: string, params: Record<string, unknown>): Promise<R>;
  /** Publishes at QoS 1; resolves at PUBACK. */
  protected abstract publish(topic: string, payload: string): Promise<void>;

  /** Calls any rpc method (docs/protocol.md "Methods"). */
  rpc<R extends RpcResult = RpcResult>(method: string, params: Record<string, unknown> = {}): Promise<R> {
    return this.call<R>(method, params);
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
    const sha256 = await sha256Hex(bytes);
    const up = await this.upload({ name: f.name, size: bytes.length, mime: f.mime, sha256 });
    const res = await fetch(up.put_url, { method: 'PUT', headers: up.put_headers, body: bytes });
    if (!res.ok) throw new Error(`imqtt: upload PUT ${res.status} ${res.statusText}`);
    return { url: up.url, name: f.name, size: bytes.length, mime: f.mime, sha256 };
  }
}
