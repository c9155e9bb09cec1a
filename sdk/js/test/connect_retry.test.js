// connect() retries what may pass until timeoutMs; 3.1.1 receipt refusals are events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { connect, ImError, TimeoutError, Codes } from '../dist/index.js';
import { startBroker } from './helpers/imqttd.js';
import { device, waitEvents } from './helpers/sdk.js';

const name = (pv) => (pv === 5 ? 'MQTT 5' : 'MQTT 3.1.1');

// A port nobody listens on: bound, then closed.
async function closedPort() {
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

for (const pv of [5, 4]) {
  test(`connect to an unreachable broker retries until timeoutMs (${name(pv)})`, async () => {
    const port = await closedPort();
    const start = Date.now();
    const states = [];
    await assert.rejects(
      connect({
        url: `mqtt://127.0.0.1:${port}`, user: 'alice', password: 'x', protocolVersion: pv,
        timeoutMs: 3000, reconnect: { minMs: 50, maxMs: 200 },
        on: { connection: (c) => states.push(c.state) },
      }),
      (err) => {
        assert.ok(err instanceof TimeoutError, `got ${err}`);
        assert.ok(err.cause instanceof Error, 'the last connect error is the cause');
        assert.match(String(err.cause.code ?? err.cause.message), /ECONNREFUSED/);
        return true;
      },
    );
    const took = Date.now() - start;
    assert.ok(took >= 2900 && took < 10000, `gave up after ${took} ms`);
    assert.ok(states.filter((s) => s === 'reconnecting').length >= 2, `retried: ${states}`);
  });
}

test('a broker that comes up during connect() is reached (MQTT 5)', async (t) => {
  const b = await startBroker(t);
  await b.kill();
  const pending = connect({ url: b.mqttUrl, user: 'alice', password: 'alice-pw', timeoutMs: 20000, reconnect: { minMs: 50, maxMs: 300 } });
  await b.restart();
  const im = await pending;
  t.after(() => im.close());
  const ack = await im.send('bob', 'after the wait');
  assert.equal(ack.seq, 1);
});

test('a refused receipt on MQTT 3.1.1 is an error event naming the topic; on 5 the call rejects', async (t) => {
  const b = await startBroker(t);
  const a4 = await device(t, b, 'alice', { protocolVersion: 4 });
  const bob = await device(t, b, 'bob');
  const ack = await a4.send('bob', 'hi');
  const errs = waitEvents(a4, 'error', 1, (e) => e instanceof ImError);
  await a4.markRead(ack.conv, ack.seq + 10); // resolves: 3.1.1 has no reason on the PUBACK
  const [e] = await errs;
  assert.equal(e.code, Codes.ImplementationSpecific);
  assert.match(e.reason, /^seq out of range/);
  assert.equal(e.topic, `im/receipt/${ack.conv}`);
  await assert.rejects(bob.markRead(ack.conv, ack.seq + 10), (err) => err instanceof ImError && err.code === 0x83 && /^seq out of range/.test(err.reason));
});
