// Helpers around the SDK for the tests: a connected device that records its events.
import { connect } from '../../dist/index.js';
import { until } from './imqttd.js';

/** Connects user to broker b (protocol 5 or 4) and records every event; t.after closes it. */
export async function device(t, b, user, opts = {}) {
  const events = { message: [], ack: [], receipt: [], presence: [], typing: [], notify: [], connection: [], error: [], prefs: [], profile: [] };
  const on = {};
  for (const k of Object.keys(events)) on[k] = (v) => events[k].push(v);
  const c = await connect({ url: b.mqttUrl, user, password: `${user}-pw`, reconnect: { minMs: 50, maxMs: 300 }, timeoutMs: 5000, on, ...opts });
  c.events = events;
  t.after(() => c.close());
  return c;
}

/** Waits until the device has at least n events of kind (matching pred) and returns them. */
export async function waitEvents(c, kind, n, pred = () => true, ms = 10000) {
  return until(() => {
    const got = c.events[kind].filter(pred);
    return got.length >= n ? got : null;
  }, ms, `${n} ${kind} events of ${c.user}`);
}
