// send/ack, receive, receipts, presence, typing over MQTT 5 and 3.1.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker } from './helpers/imqttd.js';
import { device, waitEvents } from './helpers/sdk.js';

for (const pv of [5, 4]) {
  test(`send, ack, receive, receipts, presence (MQTT ${pv === 5 ? '5' : '3.1.1'})`, async (t) => {
    const b = await startBroker(t);
    const alice = await device(t, b, 'alice', { protocolVersion: pv });
    const bob = await device(t, b, 'bob', { protocolVersion: pv });

    const ack = await alice.send('bob', 'hello bob');
    assert.equal(ack.conv, 'd:alice:bob');
    assert.equal(ack.seq, 1);
    assert.match(ack.cid, /^[A-Za-z0-9_-]{22}$/);
    assert.match(ack.id, /^\d+$/);
    assert.deepEqual(await alice.outbox(), []);
    assert.deepEqual(alice.events.ack.map((a) => a.cid), [ack.cid]);

    const [m] = await waitEvents(bob, 'message', 1);
    assert.equal(m.body, 'hello bob');
    assert.equal(m.from, 'alice');
    assert.equal(m.seq, 1);
    assert.equal(m.cid, ack.cid);
    assert.equal(alice.events.message.length, 0, 'the sender gets its ack, not a message');

    const ack2 = await bob.send({ user: 'alice' }, 'hi alice', { type: 'text' });
    assert.equal(ack2.seq, 2);
    const [m2] = await waitEvents(alice, 'message', 1);
    assert.equal(m2.seq, 2);

    await alice.markRead('d:alice:bob', 2); // bob's own send moved his cursors already
    const [r] = await waitEvents(bob, 'receipt', 1, (e) => e.user === 'alice');
    assert.deepEqual([r.conv, r.type, r.seq], ['d:alice:bob', 'read', 2]);

    await alice.typing('d:alice:bob', 'start');
    const [ty] = await waitEvents(bob, 'typing', 1);
    assert.deepEqual([ty.from, ty.state], ['alice', 'start']);

    await alice.watchPresence(['bob']);
    await waitEvents(alice, 'presence', 1, (p) => p.user === 'bob' && p.status === 'online');
    await bob.close();
    await waitEvents(alice, 'presence', 1, (p) => p.user === 'bob' && p.status === 'offline');

    const h = await alice.history('d:alice:bob');
    assert.deepEqual(h.messages.map((e) => e.body), ['hello bob', 'hi alice']);
  });
}
