// Package adminapi is imqttd's admin HTTP API (/api/v1/...): connected
// clients, durable sessions, subscriptions, retained messages, reload and the
// cluster status. It is mounted on the admin listener (broker/admin), which
// owns the socket, the request checks (Host, cross-site, bearer token, JSON
// Content-Type on state-changing requests: no handler here runs for a request
// that fails one), the request log and the JSON error shape;
// docs/admin-api.md is the reference for operators.
//
// # What it owns
//
// Nothing with a lifetime: New builds an API value over the node's parts
// (Deps); its handlers run in the admin server's request goroutines and are
// safe for concurrent use. It reads and acts on the MQTT side only through
// MQTT (mqtt.go), an interface of its own: the broker implements it over the
// engine (broker/adminapi_engine.go over broker/engine's snapshots), so this
// package imports no mochi (tools/deptest checks it).
// The API does not own the MQTT side, the store, the raft node or the hooks:
// the broker opens them before and closes them after the admin listener.
//
// # Call order (broker.mountAdminAPI)
//
//	api, err := adminapi.New(adminapi.Deps{MQTT: side, Store: ..., Apply: node.Apply, ...})
//	err = api.Mount(adminServer) // before adminServer.Start
//
// # Routes
//
//	GET    /api/v1/health                 status, node id, connected clients (503 when not ready)
//	GET    /api/v1/clients                ?user= &client_id_prefix= &listener= + paging
//	GET    /api/v1/clients/{id}           one connected client with its subscriptions
//	DELETE /api/v1/clients/{id}           kick: MQTT 5 gets DISCONNECT 0x98; 404 if not connected
//	GET    /api/v1/sessions               durable sessions (store), online flag; ?user= &client_id_prefix=
//	GET    /api/v1/sessions/{id}          one durable session with subscriptions, queue, in-flight
//	DELETE /api/v1/sessions/{id}          delete an offline session (raft); 409 if connected, 404 unknown
//	GET    /api/v1/subscriptions          ?filter=F [&exact=true] | ?topic=T; 400 for a bad filter
//	GET    /api/v1/retained               ?filter=F (default #); payload in base64
//	DELETE /api/v1/retained?topic=T       durable delete (raft) and index; 404 if none
//	POST   /api/v1/reload                 as SIGHUP; 200 with parts, 422 when a part failed
//	GET    /api/v1/cluster                raft status: state, leader, term, indexes, members
//
// GET /api/v1/version, /healthz, /readyz and /metrics belong to broker/admin.
//
// Lists are pages {"items":[...],"next_cursor":"..."}: ?limit= (1..1000,
// default 100) and ?cursor= (the previous page's next_cursor, opaque). Items
// come in key order (client id; client id then filter; topic), so a cursor
// stays valid while the set changes: items before it are not repeated. Errors
// are {"error":{"code":"...","message":"..."}} with codes bad_request (400),
// not_found (404), conflict (409), reload_failed (422), peer_unauthenticated
// (422: the node to add did not prove the cluster secret), unavailable (503: raft
// has no quorum, the disk is full, a durable write timed out), internal (500).
//
// # Durable changes
//
// Deleting a session or a retained message changes replicated state, so it
// goes through raft (persist.EncodeOps -> Deps.Apply), never to the store
// directly:
//
//   - DELETE /sessions/{id}: refused (409) while the client is connected to
//     this node. MQTT.ExpireSession runs first; if the store still holds the
//     session the API applies
//     persist.DeleteSessionOp itself. Then MQTT.ForgetSession drops the
//     offline session the node holds in memory, as an expiry does, so a
//     reconnect gets Session Present 0.
//   - DELETE /retained: MQTT.PublishEmptyRetained publishes an empty retained
//     message through the node's own path like `mosquitto_pub -r -n`: the
//     storage hook applies DeleteRetained through raft and the index drops its
//     copy; current subscribers receive the empty message [MQTT-3.3.1-10]. If
//     a hook refused the publish, the API applies DeleteRetainedOp itself and
//     MQTT.ClearRetained clears the index. A write that does not commit
//     answers 503 (nothing is reported deleted that is still stored).
//
// # Audit
//
// The admin server logs every request at debug (method, path, status, remote,
// principal). The API also logs every action that changes the node (kick,
// delete_session, delete_retained, reload) at info, or warn when it failed,
// with "principal" (token: the caller held the bearer token; loopback: the
// token is off, admin.require_token: false, which admin.Config.Validate allows
// only on a loopback address; mtls:SUBJECT for a verified client certificate if the listener
// ever terminates TLS), "remote", "action", "status" and the target
// (client_id or topic). Tokens and payloads are never logged.
//
// # Limits
//
// Clients, subscriptions and retained messages are this node's view (its
// engine's tables); sessions come from the replicated store (none while
// storage is off). In a cluster, kick and client details act on clients
// connected to the node asked. Queue depth is read from the store (key scan
// per session). IM
// administration (groups, members, notifications) is not part of this
// package yet.
package adminapi
