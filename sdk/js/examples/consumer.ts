// A consumer of @imqtt/sdk: the first message, then the types in use.
// Type-checked by `npm test` (tsc --noEmit against the built declarations).
import {
  connect, ImError, FileStore, newCid, pendingSends, conversationId, parseConversation,
  type Envelope, type Ack, type ConnectionEvent, type PendingSend,
} from '@imqtt/sdk';

const im = await connect({ url: 'mqtt://127.0.0.1:1883', user: 'alice', password: 'secret' });
im.on('message', (m: Envelope) => console.log(`${m.from}: ${m.body}`));
const ack: Ack = await im.send('bob', 'hello bob');
console.log(`stored as seq ${ack.seq} of ${ack.conv}`);
await im.close();

// Typed errors, stores, groups, events.
export async function more(): Promise<void> {
  const c = await connect({
    url: 'ws://127.0.0.1:8083/mqtt', user: 'bob', token: 'eyJ...', protocolVersion: 4,
    store: new FileStore('/tmp/bob.json'), reconnect: { minMs: 500, maxMs: 30000 },
    on: {
      connection: (e: ConnectionEvent) => {
        if (e.state === 'failed' && e.error) console.log('signed out for good:', e.error.code, e.error.reason);
        else console.log(e.state, e.reason ?? '');
      },
    },
  });
  try {
    const g = await c.createGroup('Team', ['alice'], { open: false });
    await c.send({ group: g.group }, 'hi team', { mentions: ['alice'] });
    const h = await c.history(g.conv, { limit: 20 });
    const last: number = h.messages[h.messages.length - 1]?.seq ?? 0;
    await c.markRead(g.conv, last);
  } catch (err) {
    if (err instanceof ImError && err.code === 0x87) console.log('not allowed:', err.reason);
    else throw err;
  }
  const pending = await c.outbox();
  console.log(pending.map((e) => e.cid));

  // A cid known before the ack; the outbox read back; conversation ids.
  const cid: string = newCid();
  const shown: PendingSend[] = await pendingSends(c.store, c.user);
  const conv: string = conversationId('bob', { user: 'alice' });
  const what = parseConversation('bob', conv);
  if (what.kind === 'direct') console.log(what.peer, shown.length, cid);
  await c.send('alice', 'with my cid', { cid });
  await c.watchPresence(['alice']).catch((err: ImError) => console.log('presence hidden:', err.reason));
}
