// Package broker builds and runs one imqtt node: the mochi MQTT server with imqtt's
// listeners (broker/listen), hooks (hooks/...), the admin HTTP listener
// (broker/admin) and their lifecycle.
//
// Call order: LoadConfig (or DefaultConfig/EmbeddedConfig) -> Config.Validate ->
// New -> Start -> (Reload on SIGHUP)* -> Close. Close is idempotent and safe after a
// failed Start; it stops accepting, sends DISCONNECT 0x8B (server shutting down) to
// MQTT 5 clients, waits for client goroutines and closes the hooks and stores.
//
// mochi types stop here and in hooks: nothing below (im, cluster, persist) sees them.
package broker
