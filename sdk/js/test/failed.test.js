// A reconnect refused for good stops the reconnect loop: a token revoked
// through the admin API kicks the device (0x98) and its reconnect gets 0x86.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, ImError, MemoryStore, Codes } from '../dist/index.js';
import { startBroker, until } from './helpers/imqttd.js';

/** Calls the admin API of broker b. */
async function admin(b, method, p, body) {
  const res = await fetch(`http://${b.admin}${p}`, {
    method,
    headers: { Authorization: `Bearer ${b.adminToken()}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

for (const pv of [5, 4]) {
  test(`a revoked token fails the client, the outbox stays (${pv === 5 ? 'MQTT 5' : 'MQTT 3.1.1'})`, async (t) => {
    const b = await startBroker(t);
    assert.equal((await admin(b, 'POST', '/api/v1/users', { name: 'tina' })).status, 201);
    const mint = async () => {
      const r = await admin(b, 'POST', '/api/v1/users/tina/tokens', { device: 'sdk-test', ttl: '1h' });
      assert.equal(r.status, 201);
      return r.body;
    };
    const first = await mint();
    const store = new MemoryStore();
    const events = [];
    // A slow first reconnect leaves time to queue a send and an rpc while the connection is down.
    const tina = await connect({
      url: b.mqttUrl, user: 'tina', token: first.token, protocolVersion: pv, store, timeoutMs: 8000,
      reconnect: { minMs: 1000, maxMs: 1000 }, on: { connection: (e) => events.push(e) },
    });
    t.after(() => tina.close());
    await tina.send('bob', 'before the revocation');

    assert.equal((await admin(b, 'DELETE', `/api/v1/tokens/${first.id}`)).status, 200);
    await until(() => tina.connectionState !== 'connected', 5000, 'tina is kicked');
    const pendingSend = tina.send('bob', 'while revoked');
    const pendingRpc = tina.conversations();
    await until(async () => (await tina.outbox()).length === 1, 5000, 'the send is queued');

    const isRefusal = (err) => err instanceof ImError && err.code === Codes.BadUserNameOrPassword;
    await assert.rejects(pendingSend, isRefusal);
    await assert.rejects(pendingRpc, isRefusal);
    const failed = events.filter((e) => e.state === 'failed');
    assert.equal(failed.length, 1);
    assert.ok(isRefusal(failed[0].error), `failed with ${failed[0].error}`);
    assert.equal(tina.connectionState, 'failed');
    // Nothing retries: no reconnect timer, the mqtt client is ended, calls fail at once.
    assert.equal(tina.reconnectTimer, undefined);
    assert.ok(tina.mqtt.disconnecting || tina.mqtt.disconnected);
    assert.equal(events.filter((e) => e.state === 'reconnecting').length, 1);
    await assert.rejects(tina.send('bob', 'after'), { name: 'ClosedError' });
    const [kept] = await tina.outbox();
    assert.equal(JSON.parse(kept.payload).body, 'while revoked');
    await tina.close(); // idempotent after a failure

    // A later connect with a new token re-sends the kept entry (same cid).
    const second = await mint();
    const acks = [];
    const tina2 = await connect({ url: b.mqttUrl, user: 'tina', token: second.token, protocolVersion: pv, store, timeoutMs: 5000, on: { ack: (a) => acks.push(a) } });
    t.after(() => tina2.close());
    await until(() => acks.some((a) => a.cid === kept.cid), 5000, 'the kept send is acked');
    assert.deepEqual(await tina2.outbox(), []);
    const h = await tina2.history(acks[0].conv);
    assert.deepEqual(h.messages.map((m) => m.body), ['before the revocation', 'while revoked']);
  });
}
