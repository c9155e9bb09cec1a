// Package imqtt is the Go client SDK of imqtt's IM protocol
// (docs/protocol.md; guide: docs/sdk.md "Go"). It is a client: it imports
// only the standard library and the Paho MQTT modules, nothing of the
// broker.
//
// # Life cycle
//
// Connect validates the Config, takes the device's client id (Config.ClientID,
// else the one kept in the Store, else a new one it stores), connects with
// clean start / clean session false (one persistent session per device),
// subscribes im/u/{user}/# and im/notify/all at QoS 1, re-sends the outbox
// and runs sync (unless NoAutoSync), then returns. From then on the Client
// reconnects by itself (exponential backoff with full jitter between
// ReconnectMin and ReconnectMax) and repeats those steps after each
// reconnect. Close disconnects, stops every goroutine and is idempotent;
// calls waiting then return ErrClosed.
//
// A CONNACK refusal that retrying cannot fix (permanent: 0x84, 0x85, 0x86,
// 0x87, 0x8A, 0x8C; MQTT 3.1.1 return codes 1, 2, 4, 5) is returned by
// Connect at once; on a reconnect (a revoked token) it stops the retries:
// OnConnection gets StateFailed with the *Error, waiting and later calls
// return it, and the Client closes itself; the outbox stays in the Store
// for a later Connect. Network errors and other refusals are retried, in
// Connect until ctx or Config.Timeout ends (then ErrTimeout wrapping the
// last connect error).
//
// MQTT 5 (Protocol 5, default) runs over paho.golang's autopaho; requests
// carry a Response Topic im/u/{user}/r/{tag} and Correlation Data. MQTT
// 3.1.1 (Protocol 4) runs over paho.mqtt.golang; requests carry reply_to
// and rid in the payload. Both sit behind one small transport interface
// (transport.go).
//
// # Goroutines
//
// A Client owns three goroutines, started by Connect and stopped by Close:
// loop (decodes what the server publishes, settles sends and rpcs, orders
// messages; it never blocks on the network), session (subscribe, outbox
// re-send and sync after a connect, a gap or a 0x80 ack) and dispatch
// (calls the handlers). Handlers run one at a time, in order, on dispatch:
// they may call Client methods, including Send, but a slow handler delays
// the events after it. The transports own their own goroutines.
//
// # Guarantees
//
//   - Send writes {cid, topic, payload, created} to the Store before it
//     publishes; the entry is removed when its ack arrives (ok or refused),
//     and re-sent with the same cid and payload on every reconnect and by
//     the next Client on the same Store until then. The server's dedup
//     stores it once (the repeated ack has Dup). Send is never failed by
//     time: it waits for the ack until its ctx ends.
//   - OnMessage gets each envelope once and in seq order per conversation:
//     seq ≤ cursor is dropped; seq = cursor+1 is delivered and the cursor
//     (kept in the Store) moves; a later seq is held and a sync fills the
//     gap. The device's own sends are counted by their ack, not emitted.
//   - Refusals are *Error (Code, Reason; errors.As). Requests without reply
//     within Config.Timeout fail with ErrTimeout.
package imqtt
