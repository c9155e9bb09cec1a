// Package hooks holds imqtt's implementations of the engine's extension
// interfaces (hooks/ext, implemented by broker/engine's callers): thin
// adapters from the engine to the packages below (im, cluster, persist).
// Each lives in its own sub-package with one concern and holds no type of
// another module but mochi's wire codec (packets):
//
//   - hooks/auth: ext.Authenticator (password file, JWT, loopback anonymous;
//     it checks the will topic through the ACL before the CONNACK);
//   - hooks/acl: ext.Authorizer, the one decision of every publish,
//     subscription and delivery (the IM namespace policy plugs in);
//   - hooks/storage: ext.Store, durable sessions and retained messages
//     through raft (EngineStore);
//   - hooks/im: ext.PublishHandler and ext.Lifecycle for the IM service, and
//     its Deliverer (Publisher);
//   - hooks/route: ext.Router, publish routing between the nodes of a cluster;
//   - hooks/metrics: ext.Observer and the Prometheus registry;
//   - hooks/limits and hooks/session: the configs of the bounds the engine
//     enforces (keepalive, topic depth, back-pressure; session ownership,
//     sessions per user, subscriptions per client).
//
// Security invariant: exactly one implementation decides authentication
// (hooks/auth) and one decides access (hooks/acl); the engine asks nobody
// else. Until issue 17 these were mochi hooks, where mochi allowed if any
// hook said yes; that path and its workarounds are gone.
package hooks
