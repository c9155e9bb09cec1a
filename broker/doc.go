// Package broker builds and runs one imqtt node: the engine (broker/engine)
// over its transport (broker/engine/transport) with the listeners' config and
// guard (broker/listen), the hooks/ implementations of the engine's
// extension interfaces, the raft node and store, the admin HTTP listener
// (broker/admin) and their lifecycle.
//
// Call order: LoadConfig (or DefaultConfig/EmbeddedConfig) -> Config.Validate ->
// New -> Start -> (Reload on SIGHUP)* -> Close. Close is idempotent and safe after a
// failed Start; it stops the router, closes the engine (DISCONNECT 0x8B, server
// shutting down, to MQTT 5 clients), the durable store, the listeners, the
// admin listener, the IM service, the raft node and the store.
//
// New runs the start steps of start.go in order: openStore (data directory,
// Badger), openRaft (raft node, join, wait for a leader), newMetrics (registry,
// listener guard, cluster counters), newAccess (IM service, ACL with the IM
// policy, auth), newEngine (router, durable session store, engine, IM
// publisher bound to it), newListeners (bind every enabled listener) and
// newAdmin (admin HTTP, reloader, admin API, web client). Each step stores
// what it built in the Broker, so New's deferred Close frees exactly what the
// failed start made.
//
// mqtt.engine names the engine: native (the default and only one); mochi,
// whose Server the broker ran on until issue 17, is refused with an error
// naming the key. Of mochi only its wire codec (packets) is used, here and in
// hooks; nothing below (im, cluster, persist) sees it.
package broker
