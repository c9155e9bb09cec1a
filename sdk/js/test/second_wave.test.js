// The second-wave calls against a real imqttd: edit, recall, react, block,
// conversation settings, profiles, conversations, notify, media upload; and
// presence of a user watched before a conversation with them existed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ImError, Codes, newCid } from '../dist/index.js';
import { startBroker, until } from './helpers/imqttd.js';
import { device, waitEvents } from './helpers/sdk.js';

test('presence of a user watched before a shared conversation (MQTT 5)', async (t) => {
  const b = await startBroker(t);
  const alice = await device(t, b, 'alice');
  const bob = await device(t, b, 'bob');
  // The default presence policy shows users who share a conversation: none yet.
  await assert.rejects(alice.watchPresence(['bob']), (err) => err instanceof ImError && err.code === Codes.NotAuthorized);
  // alice's first send makes one; the SDK subscribes bob again by itself.
  await alice.send('bob', 'hi');
  await waitEvents(alice, 'presence', 1, (p) => p.user === 'bob' && p.status === 'online');
  // The receiving side: bob watches carol, refused until her first message comes.
  const carol = await device(t, b, 'carol');
  await assert.rejects(bob.watchPresence(['carol']), ImError);
  await carol.send('bob', 'hello bob');
  await waitEvents(bob, 'presence', 1, (p) => p.user === 'carol' && p.status === 'online');
  await carol.close();
  await waitEvents(bob, 'presence', 1, (p) => p.user === 'carol' && p.status === 'offline');
  // Watching again subscribes again: the retained presence comes once more.
  const n = alice.events.presence.length;
  await alice.watchPresence(['bob']);
  await waitEvents(alice, 'presence', n + 1);
});

test('edit, recall, react and block (MQTT 5)', async (t) => {
  const b = await startBroker(t);
  const alice = await device(t, b, 'alice');
  const bob = await device(t, b, 'bob');
  const conv = 'd:alice:bob';
  const cid = newCid();
  assert.match(cid, /^[A-Za-z0-9_-]{22}$/);
  const m1 = await alice.send('bob', 'helo', { cid });
  assert.equal(m1.cid, cid, 'send keeps the cid it was given');
  const m2 = await alice.send('bob', 'oops');
  await waitEvents(bob, 'message', 2);

  const ed = await alice.edit(conv, m1.seq, 'hello');
  assert.deepEqual([ed.changed, ed.target, ed.seq], [true, m1.seq, 3]);
  const re = await bob.react(conv, m1.seq, '👍');
  assert.deepEqual([re.changed, re.seq], [true, 4]);
  const rc = await alice.recall(conv, m2.seq);
  assert.equal(rc.seq, 5);
  // Both sides get the events as messages, in seq order, the author's device too.
  for (const c of [alice, bob]) {
    const evs = await waitEvents(c, 'message', 3, (m) => ['edit', 'reaction', 'recall'].includes(m.type));
    assert.deepEqual(evs.map((m) => [m.seq, m.type, m.target, m.from]), [
      [3, 'edit', m1.seq, 'alice'], [4, 'reaction', m1.seq, 'bob'], [5, 'recall', m2.seq, 'alice'],
    ]);
    assert.equal(evs[0].body, 'hello');
    assert.equal(evs[1].emoji, '👍');
  }
  // history returns the messages as they are now.
  const h = await bob.history(conv);
  const [first, second] = h.messages;
  assert.equal(first.body, 'hello');
  assert.ok(first.edited_ts > 0);
  assert.deepEqual(first.reactions, [{ emoji: '👍', count: 1, me: true }]);
  assert.equal(second.recalled, true);
  assert.equal(second.body, undefined);
  const un = await bob.react(conv, m1.seq, '👍', { remove: true });
  assert.equal(un.changed, true);
  assert.equal((await alice.history(conv, { limit: 1, before: 2 })).messages[0].reactions, undefined);
  await assert.rejects(alice.edit(conv, m2.seq, 'x'), (err) => err instanceof ImError && err.code === 0x83 && err.method === 'msg.edit');

  // block: a direct send either way is refused with 0x87 `blocked`, nothing stored.
  const bl = await bob.block('alice');
  assert.equal(bl.blocked, true);
  await waitEvents(bob, 'prefs', 1, (p) => p.event === 'block' && p.user === 'alice' && p.blocked === true);
  await assert.rejects(alice.send('bob', 'let me in'), (err) => err instanceof ImError && err.code === Codes.NotAuthorized && err.reason === 'blocked');
  assert.deepEqual(await alice.outbox(), []);
  assert.deepEqual((await bob.blockList()).blocked.map((x) => x.user), ['alice']);
  await bob.unblock('alice');
  assert.deepEqual((await bob.blockList()).blocked, []);
  const again = await alice.send('bob', 'back');
  assert.equal(again.seq, 7, 'the refused send took no seq (6 was the un-reaction)');
});

test('settings, profiles, conversations and notify (MQTT 3.1.1)', async (t) => {
  const b = await startBroker(t);
  const pv = { protocolVersion: 4 };
  const alice = await device(t, b, 'alice', pv);
  const alice2 = await device(t, b, 'alice', pv); // another device (its own store and client id)
  assert.notEqual(alice.clientId, alice2.clientId);
  const bob = await device(t, b, 'bob', pv);
  const root = await device(t, b, 'root', pv);
  await alice.send('bob', 'hi bob');

  const set = await alice.setConversation('d:alice:bob', { pin: true, mute: true });
  assert.equal(set.settings.pin, true);
  const [pr] = await waitEvents(alice2, 'prefs', 1, (p) => p.event === 'conversation');
  assert.equal(pr.conv, 'd:alice:bob');
  assert.deepEqual([pr.settings.pin, pr.settings.mute], [true, true]);

  const prof = await alice.setProfile({ display_name: 'Alice A.', status: 'around' });
  assert.equal(prof.profile.display_name, 'Alice A.');
  const [pe] = await waitEvents(bob, 'profile', 1, (p) => p.user === 'alice');
  assert.deepEqual([pe.display_name, pe.status], ['Alice A.', 'around']);
  const got = await bob.getProfiles(['alice', 'carol']);
  assert.deepEqual(got.profiles.map((p) => [p.user, p.display_name]), [['alice', 'Alice A.']], 'carol shares nothing with bob');

  const cs = await alice2.conversations();
  const c = cs.conversations.find((x) => x.conv === 'd:alice:bob');
  assert.deepEqual([c.kind, c.peer, c.last_seq, c.settings.pin], ['direct', 'bob', 1, true]);
  const bc = (await bob.conversations()).conversations.find((x) => x.conv === 'd:alice:bob');
  assert.deepEqual([bc.peer, bc.unread, bc.display_name], ['alice', 1, 'Alice A.']);

  await root.notify('bob', 'Maintenance', 'Tonight 22:00');
  const [n1] = await waitEvents(bob, 'notify', 1);
  assert.deepEqual([n1.from, n1.title, n1.body, n1.to.user], ['root', 'Maintenance', 'Tonight 22:00', 'bob']);
  await root.notify({ all: true }, 'Hello', 'everyone');
  for (const c2 of [alice, bob]) await waitEvents(c2, 'notify', 1, (n) => n.to.all === true && n.title === 'Hello');
  await assert.rejects(alice.notify('bob', 'x', 'y'), (err) => err instanceof ImError && err.code === 0x87 && /^not allowed/.test(err.reason));
});

test('uploadFile to the embedded media store, then an image message (MQTT 5)', async (t) => {
  const b = await startBroker(t);
  const alice = await device(t, b, 'alice');
  const bob = await device(t, b, 'bob');
  // The smallest PNG: a 1x1 transparent pixel.
  const png = Uint8Array.from(atob('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=='), (ch) => ch.charCodeAt(0));
  const body = await alice.uploadFile(png, { name: 'dot.png', mime: 'image/png' });
  assert.deepEqual([body.name, body.size, body.mime], ['dot.png', png.length, 'image/png']);
  assert.match(body.sha256, /^[0-9a-f]{64}$/);
  assert.ok(body.url.startsWith(`http://${b.admin}/media/`), body.url);
  const ack = await alice.send('bob', JSON.stringify(body), { type: 'image' });
  const [m] = await waitEvents(bob, 'message', 1);
  assert.equal(m.type, 'image');
  assert.equal(m.seq, ack.seq);
  const got = JSON.parse(m.body);
  assert.equal(got.url, body.url);
  const res = await fetch(got.url);
  assert.equal(res.status, 200);
  assert.deepEqual(new Uint8Array(await res.arrayBuffer()), png);
  // A media message whose url this server did not issue is refused.
  await assert.rejects(
    alice.send('bob', JSON.stringify({ ...body, url: body.url.replace(/s=[^&]+/, 's=AAAA') }), { type: 'image' }),
    (err) => err instanceof ImError && err.code === 0x87,
  );
  await until(async () => (await alice.outbox()).length === 0, 2000, 'outbox empty');
});
