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
//	GET /healthz          200 "ok" while the process serves HTTP; no check applies
//	GET /readyz           200 {"status":"ready"} when Deps.Ready returns nil,
//	                      503 {"status":"not_ready","reason":"..."} otherwise; no token
//	GET /metrics          Deps.Metrics through promhttp (absent if Metrics is nil)
//	GET /api/v1/version   {"name","version","commit","build_date","go_version","mochi_version"}
//
// Errors are JSON: {"error":{"code":"...","message":"..."}} with codes
// unauthorized, forbidden_host, forbidden_origin, unsupported_media_type,
// not_found, method_not_allowed; mounted handlers should use WriteError for
// the same shape.
//
// # Security
//
// The threat is any local process and any web page the operator's browser
// opens: a page can send a "simple" cross-origin POST (text/plain or a form,
// no CORS preflight), and with DNS rebinding read answers. ServeHTTP runs four
// checks (guard.go) before any route, in this order; the first that fails
// answers and no handler runs:
//
//  1. Host (403 forbidden_host): the Host header's host must be localhost, a
//     loopback IP, the IP the connection arrived on (http.LocalAddrContextKey:
//     the bound address, or the interface of a wildcard bind), or an entry of
//     Config.AllowedHosts; the port is not compared. A request without Host
//     (HTTP/1.0) passes: browsers always send one.
//  2. Cross-site (403 forbidden_origin): Sec-Fetch-Site cross-site or
//     same-site, or an Origin whose host:port is not Host ("null" included),
//     on every route except GET/HEAD of HandlePublic routes (a link from
//     another site to the web client keeps working).
//  3. Token (401 unauthorized, WWW-Authenticate): "Authorization: Bearer
//     <token>" on every route except /healthz, /readyz and HandlePublic routes.
//     Unknown paths also answer 401 without the token, so probing does not map
//     the routes.
//  4. Content-Type (415 unsupported_media_type): a matched route called with
//     any method but GET, HEAD, OPTIONS, TRACE, or a DELETE without a body,
//     needs Content-Type application/json, which a browser sends
//     cross-origin only after a preflight this listener never grants.
//
// /healthz skips all four: it answers a constant and changes nothing, and load
// balancers reach it under names the node cannot know.
//
// The token is Config.Token, the file Config.TokenFile (read once by New; a
// file readable by group or others is accepted with a warning), or, with
// Config.RequireToken (the default) and neither set, Config.GeneratedTokenFile
// (the broker passes <node.data_dir>/admin.token): New creates it with 32
// random bytes in hex, mode 0600 (temporary file, fsync, hard link, so a crash
// leaves no partial token and nothing is overwritten), or reuses it; an
// existing file that is a symbolic link, not a regular file, not owned by the
// process's user or has any group/other permission bit is ErrTokenFileUnsafe
// and the node does not start. RequireToken false is the explicit opt-out,
// which Validate accepts only on a loopback address without Token or
// TokenFile; Start then logs a warning. The token is kept only as its SHA-256
// digest and compared in constant time; it is never logged
// (Config.MarshalZerologObject redacts it); the start-up line names the file.
// The listener speaks plain HTTP: put it behind a TLS proxy or keep it on
// loopback when the token crosses a network.
//
// Each refusal is counted with Deps.Refusals.LimitRefused (labels LimitHost,
// LimitOrigin, LimitToken, LimitContentType) and logged at warn through a
// sampled logger (5 lines per 10 s), with the reason and the offending header
// values cut to 200 bytes, never the Authorization header.
//
// Every request is logged at debug level with method, path (no query), status,
// remote address, principal ("token" or "anonymous") and duration.
package admin
