// Package admin is imqttd's admin HTTP listener: Prometheus metrics, health and
// readiness probes, the version, and a mount point for the admin API and the web
// client.
//
// # Lifecycle
//
//	srv, err := admin.New(cfg, admin.Deps{Metrics: m, Ready: ready, Version: v}, log)
//	_ = srv.Handle("GET /api/v1/clients", clientsHandler) // optional, before Start
//	err = srv.Start()                                     // binds cfg.Address; Addr() tells the port
//	...
//	err = srv.Close(ctx)                                  // graceful; idempotent; waits
//
// New validates the Config and reads TokenFile once. Start binds and runs one
// goroutine (http.Server.Serve) owned by the Server; Close shuts it down (waiting
// for in-flight requests until ctx is done, then closing their connections) and
// waits for that goroutine. Close is safe before Start, after a failed Start, and
// concurrently; Start after Close returns ErrClosed. Handle and HandlePublic must
// be called before Start.
//
// # Routes
//
//	GET /healthz          200 "ok" while the process serves HTTP; never needs the token
//	GET /readyz           200 {"status":"ready"} when Deps.Ready returns nil,
//	                      503 {"status":"not_ready","reason":"..."} otherwise
//	GET /metrics          Deps.Metrics through promhttp (absent if Metrics is nil)
//	GET /api/v1/version   {"name","version","commit","build_date","go_version","mochi_version"}
//
// Errors are JSON: {"error":{"code":"...","message":"..."}} with codes
// unauthorized, not_found, method_not_allowed; mounted handlers should use
// WriteError for the same shape.
//
// # Security
//
// The default address is loopback (127.0.0.1:18083). Config.Validate refuses a
// non-loopback address (an empty host, a routable IP, or any host name other than
// "localhost") unless a token (Token or TokenFile) is set. With a token, every
// route except /healthz and HandlePublic routes requires
// "Authorization: Bearer <token>"; a missing or wrong token gets 401 with
// WWW-Authenticate. Unknown paths also answer 401 without the token, so probing
// does not map the routes. The token is kept only as its SHA-256 digest and
// compared in constant time; it is never logged (Config.MarshalZerologObject
// redacts it). The listener speaks plain HTTP: put it behind a TLS proxy or keep it
// on loopback when the token must cross a network.
//
// Every request is logged at debug level with method, path (no query), status,
// remote address, principal ("token" or "anonymous") and duration.
package admin
