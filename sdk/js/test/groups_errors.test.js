// Groups, typed errors with reason codes, tokens from the admin API, the ws listener.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, ImError, Codes } from '../dist/index.js';
import { startBroker } from './helpers/imqttd.js';
import { device, waitEvents } from './helpers/sdk.js';

const name = (pv) => (pv === 5 ? 'MQTT 5' : 'MQTT 3.1.1');

for (const pv of [5, 4]) {
  test(`a group and typed errors (${name(pv)})`, async (t) => {
    const b = await startBroker(t);
    const alice = await device(t, b, 'alice', { protocolVersion: pv });
    const bob = await device(t, b, 'bob', { protocolVersion: pv });
    const carol = await device(t, b, 'carol', { protocolVersion: pv });

    const g = await alice.createGroup('Team', ['bob']);
    assert.equal(g.ok, true);
    assert.match(g.group, /^\d+$/);
    assert.equal(g.conv, `g:${g.group}`);
    assert.deepEqual(g.added, ['bob']);
    const ack = await alice.send({ group: g.group }, 'hello team');
    assert.equal(ack.conv, g.conv);
    const msgs = await waitEvents(bob, 'message', 2, (m) => m.conv === g.conv);
    assert.equal(msgs[0].type, 'notice');
    assert.equal(msgs[1].body, 'hello team');
    const mem = await bob.members(g.group);
    assert.deepEqual(mem.members.map((m) => [m.user, m.role]), [['alice', 'owner'], ['bob', 'member']]);

    // 0x87 not a member, on a group send: the promise rejects and the outbox is emptied.
    await assert.rejects(carol.send({ group: g.group }, 'let me in'), (err) => {
      assert.ok(err instanceof ImError);
      assert.equal(err.code, Codes.NotAuthorized);
      assert.match(err.reason, /^not a member/);
      return true;
    });
    assert.deepEqual(await carol.outbox(), []);
    // 0x87 on an rpc: carol may not list the members.
    await assert.rejects(carol.members(g.group), (err) => err instanceof ImError && err.code === 0x87 && err.method === 'group.members');
    // 0x99 invalid payload: an empty body.
    await assert.rejects(alice.send('bob', ''), (err) => err instanceof ImError && err.code === Codes.PayloadFormatInvalid && /^invalid payload/.test(err.reason));
    await assert.rejects(alice.rpc('history', { conv: 42 }), (err) => err instanceof ImError && err.code === 0x99);
    // The group keeps working: invite carol, she sends.
    await alice.invite(g.group, ['carol']);
    const cack = await carol.send({ group: g.group }, 'thanks');
    assert.equal(cack.conv, g.conv);
    await waitEvents(alice, 'message', 1, (m) => m.body === 'thanks');
  });

  test(`CONNACK refusal is an ImError with 0x86 (${name(pv)})`, async (t) => {
    const b = await startBroker(t);
    await assert.rejects(
      connect({ url: b.mqttUrl, user: 'alice', password: 'wrong', protocolVersion: pv, timeoutMs: 5000 }),
      (err) => err instanceof ImError && err.code === Codes.BadUserNameOrPassword,
    );
  });
}

test('a token minted by the admin API connects (ws listener)', async (t) => {
  const b = await startBroker(t);
  const admin = (p, body) =>
    fetch(`http://${b.admin}${p}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${b.adminToken()}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  // A token is minted for a user of the user store (a token-only user here).
  assert.equal((await admin('/api/v1/users', { name: 'tina' })).status, 201);
  const res = await admin('/api/v1/users/tina/tokens', { device: 'sdk-test', ttl: '1h' });
  assert.equal(res.status, 201);
  const { token } = await res.json();
  for (const pv of [5, 4]) {
    const tina = await connect({ url: b.wsUrl, user: 'tina', token, protocolVersion: pv, timeoutMs: 5000 });
    t.after(() => tina.close());
    const ack = await tina.send('bob', `with a token over ws (${pv})`);
    assert.equal(ack.conv, 'bob' < 'tina' ? 'd:bob:tina' : 'd:tina:bob');
    await tina.close();
  }
  await assert.rejects(
    connect({ url: b.mqttUrl, user: 'tina', token: token.slice(0, -4) + 'AAAA', timeoutMs: 5000 }),
    (err) => err instanceof ImError && err.code === 0x86,
  );
});
