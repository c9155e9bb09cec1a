// Package push is the offline-push webhook of the IM server: when a message is
// stored for a user with no connected device, the IM service hands an Event to
// a Dispatcher, which POSTs it as signed JSON to a configured URL, the bridge
// to APNs/FCM gateways. The service does not hand over events for a
// conversation the user muted, unless the message mentions them
// (Event.Mention, "mention": true in the body).
//
// # Delivery
//
// Enqueue never blocks: events go to a bounded queue (Config.Queue); when it
// is full the event is dropped and counted. Config.Workers goroutines POST
// them. A connection error, a timeout, 429 or a 5xx is retried up to
// Config.MaxAttempts attempts with jittered exponential backoff between
// BackoffMin and BackoffMax; any other status ends the event (2xx: sent, 4xx:
// failed). Every attempt carries the same X-Imqtt-Event-Id, so the receiver can
// drop duplicates.
//
// # Signature
//
// X-Imqtt-Timestamp is the unix time (seconds) of the attempt and
// X-Imqtt-Signature is "sha256=" + hex(HMAC-SHA256(secret, timestamp + "." +
// body)). Verify checks it; a receiver should also refuse old timestamps.
//
// # Lifecycle
//
// New starts the workers; Close stops them and waits: an attempt in progress
// is cancelled, queued events are dropped and counted. Close is idempotent.
// The Dispatcher is a prometheus.Collector (imqtt_push_*).
package push
