// The outbox across a broker crash (SIGKILL, restart on the same data dir) and
// across a restart of the app (FileStore); sync after a reconnect.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FileStore, MemoryStore, ClosedError } from '../dist/index.js';
import { startBroker, until } from './helpers/imqttd.js';
import { device, waitEvents } from './helpers/sdk.js';

const name = (pv) => (pv === 5 ? 'MQTT 5' : 'MQTT 3.1.1');

for (const pv of [5, 4]) {
  test(`outbox re-sends after the broker is killed mid-send, one stored copy (${name(pv)})`, async (t) => {
    const b = await startBroker(t);
    // alice comes back slowly, so that bob's messages are sent while she is away.
    const alice = await device(t, b, 'alice', { protocolVersion: pv, reconnect: { minMs: 2500, maxMs: 2500 } });
    const bob = await device(t, b, 'bob', { protocolVersion: pv });
    await alice.send('bob', 'before');

    const inFlight = alice.send('bob', 'in flight'); // may or may not be stored before the kill
    await b.kill();
    await until(() => alice.connectionState !== 'connected', 5000, 'alice sees the crash');
    const whileDown = alice.send('bob', 'while down');
    await until(async () => (await alice.outbox()).length >= 1, 5000, 'outbox holds the sends');

    await b.restart();
    await until(() => bob.connectionState === 'connected', 10000, 'bob reconnects');
    const missed = [];
    for (const body of ['m1', 'm2', 'm3']) missed.push((await bob.send('alice', body)).seq);

    const [a1, a2] = await Promise.all([inFlight, whileDown]);
    assert.equal(a1.conv, 'd:alice:bob');
    assert.deepEqual(await alice.outbox(), []);
    const h = await alice.history('d:alice:bob');
    const bodies = h.messages.map((m) => m.body);
    for (const [body, ack] of [['in flight', a1], ['while down', a2]]) {
      const copies = h.messages.filter((m) => m.body === body);
      assert.equal(copies.length, 1, `one stored copy of ${body}: ${JSON.stringify(bodies)}`);
      assert.equal(copies[0].cid, ack.cid);
      assert.equal(copies[0].seq, ack.seq);
    }
    // Automatic sync after the reconnect: each of bob's messages once, in order.
    const got = await waitEvents(alice, 'message', 3);
    await until(async () => (await alice.history('d:alice:bob')).messages.length === 6, 5000, 'all stored');
    assert.deepEqual(alice.events.message.map((m) => m.body), ['m1', 'm2', 'm3']);
    assert.deepEqual(got.map((m) => m.seq), missed);
    assert.ok(alice.events.connection.some((e) => e.state === 'reconnecting'));
  });

  test(`sync after a restart of the app delivers each missed message once, in order (${name(pv)})`, async (t) => {
    const b = await startBroker(t);
    const store = new MemoryStore();
    const bob1 = await device(t, b, 'bob', { protocolVersion: pv, store });
    const alice = await device(t, b, 'alice', { protocolVersion: pv });
    await alice.send('bob', 'seen');
    await waitEvents(bob1, 'message', 1);
    await bob1.close();
    for (let i = 1; i <= 5; i++) await alice.send('bob', `missed ${i}`);
    const bob2 = await device(t, b, 'bob', { protocolVersion: pv, store });
    assert.equal(bob2.clientId, bob1.clientId, 'the client id is kept in the store');
    // connect() resolves after the first sync: the missed messages are there, once, in order,
    // although the persistent session also re-delivers them.
    assert.deepEqual(bob2.events.message.map((m) => m.body), [1, 2, 3, 4, 5].map((i) => `missed ${i}`));
    assert.deepEqual(bob2.events.message.map((m) => m.seq), [2, 3, 4, 5, 6]);
    await alice.send('bob', 'live');
    await waitEvents(bob2, 'message', 6);
    assert.deepEqual(bob2.events.message.map((m) => m.seq), [2, 3, 4, 5, 6, 7]);
    const s = await bob2.sync();
    assert.equal(s.messages.length, 0, 'the cursor moved past what connect synced');
    const h = await bob2.history('d:alice:bob');
    assert.equal(h.last_seq, 7);
  });
}

test('FileStore: the outbox survives a restart of the app', async (t) => {
  const b = await startBroker(t);
  const dir = mkdtempSync(path.join(tmpdir(), 'imqtt-filestore-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'alice.json');
  const alice1 = await device(t, b, 'alice', { store: new FileStore(file) });
  await b.kill();
  await until(() => alice1.connectionState !== 'connected', 5000, 'alice sees the crash');
  const pending = alice1.send('bob', 'survives');
  await until(async () => (await alice1.outbox()).length === 1, 5000, 'queued');
  const [entry] = await alice1.outbox();
  await alice1.close();
  await assert.rejects(pending, ClosedError);

  await b.restart();
  const store2 = new FileStore(file);
  assert.deepEqual((await store2.list()).map((e) => e.cid), [entry.cid], 'read back from the file');
  const alice2 = await device(t, b, 'alice', { store: store2 });
  assert.equal(alice2.clientId, alice1.clientId);
  const [ack] = await waitEvents(alice2, 'ack', 1);
  assert.equal(ack.cid, entry.cid, 'the ack of a restored entry is an event');
  await until(async () => (await alice2.outbox()).length === 0, 10000, 'the restored entry is removed');
  const h = await alice2.history('d:alice:bob');
  assert.deepEqual(h.messages.map((m) => [m.body, m.cid]), [['survives', entry.cid]]);
  assert.deepEqual((await new FileStore(file).list()), [], 'removed from the file');
});
