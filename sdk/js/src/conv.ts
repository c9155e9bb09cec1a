// Conversation ids and send topics (docs/protocol.md "Basics", "Send"), and
// the sends waiting in a store's outbox read back as what they are.

import type { Store } from './stores/store.js';
import type { Conv, OutboxEntry, PendingSend, Target } from './types.js';

/** The topic of a send to `to`: im/send/user/{user} or im/send/group/{group}. */
export function sendTopic(to: Target): string {
  if (typeof to === 'string') return `im/send/user/${to}`;
  if ('group' in to) return `im/send/group/${to.group}`;
  return `im/send/user/${to.user}`;
}

/**
 * The conversation of user with `to`: `d:{a}:{b}` with the two names in byte
 * order (a direct conversation), or `g:{group}`.
 */
export function conversationId(user: string, to: Target): Conv {
  const t = typeof to === 'string' ? { user: to } : to;
  if ('group' in t) return `g:${t.group}`;
  return user < t.user ? `d:${user}:${t.user}` : `d:${t.user}:${user}`;
}

/** What a conversation id names, seen by user: the peer of a direct one, or the group. */
export function parseConversation(user: string, conv: Conv): { kind: 'direct'; peer: string } | { kind: 'group'; group: string } {
  if (conv.startsWith('g:')) return { kind: 'group', group: conv.slice(2) };
  const [a, b] = conv.slice(2).split(':');
  return { kind: 'direct', peer: a === user ? b : a };
}

/** An outbox entry of user read back: where it goes and what it says. */
export function pendingSend(user: string, e: OutboxEntry): PendingSend {
  const req = JSON.parse(e.payload) as { body?: string; type?: string; mentions?: string[] | 'all' };
  const [, , kind, name] = e.topic.split('/'); // im/send/{user|group}/{name}
  const to = kind === 'group' ? { group: name } : { user: name };
  const p: PendingSend = { cid: e.cid, conv: conversationId(user, to), to, body: req.body ?? '', type: req.type ?? 'text', created: e.created };
  if (req.mentions) p.mentions = req.mentions;
  return p;
}

/**
 * The sends of user waiting in store's outbox, oldest first, read back: an
 * app shows them pending before connect() (which re-sends them; their acks
 * come as `ack` events).
 */
export async function pendingSends(store: Store, user: string): Promise<PendingSend[]> {
  return (await store.list()).map((e) => pendingSend(user, e));
}
