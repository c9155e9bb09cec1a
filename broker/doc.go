// Package broker builds and runs one imqtt node: the mochi MQTT server with imqtt's
// listeners (broker/listen), hooks (hooks/...), the admin HTTP listener
// (broker/admin) and their lifecycle.
//
// Call order: LoadConfig (or DefaultConfig/EmbeddedConfig) -> Config.Validate ->
// New -> Start -> (Reload on SIGHUP)* -> Close. Close is idempotent and safe after a
// failed Start; it stops accepting, sends DISCONNECT 0x8B (server shutting down) to
// MQTT 5 clients, waits for client goroutines and closes the hooks and stores.
//
// New runs the start steps of start.go in order: openStore (data directory,
// Badger), openRaft (raft node, join, wait for a leader), newMQTTServer (mochi
// server, metrics, listener guard), newHooks (flow, access: IM, storage, ACL;
// auth and topic depth; limits; session; router; addHooks in their security
// order), newListeners (bind every enabled listener) and newAdmin (admin HTTP,
// reloader, admin API, web client). Each step stores what it built in the
// Broker, so New's deferred Close frees exactly what the failed start made.
//
// mochi types stop here and in hooks: nothing below (im, cluster, persist) sees them.
package broker
