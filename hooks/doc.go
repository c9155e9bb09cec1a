// Package hooks holds imqtt's mochi hooks: thin adapters from mochi events to the
// packages below (im, cluster, persist). Each hook lives in its own sub-package,
// embeds mqtt.HookBase, has one concern, Provides exactly its events, checks its
// config in Init and frees everything in Stop.
//
// Security invariant: mochi allows a connection if *any* hook returns true from
// OnConnectAuthenticate, and a topic if *any* hook returns true from OnACLCheck. So
// exactly one hook provides each: hooks/auth decides authentication (and checks the
// will topic through the ACL before the CONNACK), hooks/acl decides every ACL check.
// No other hook may provide OnConnectAuthenticate or OnACLCheck; broker tests assert it.
// One exception: hooks/flow provides OnACLCheck to hold a delivery while its
// subscriber's queue is full (mochi asks the ACL right before it enqueues), and
// always answers false; it declares NeverGrants, sits before hooks/acl, and the
// broker test checks both.
//
// Session ownership: hooks/session alone decides whether a CONNECT may use the
// session its client id names (a session belongs to the user who created it) and
// whether a user may open another persistent session. It sits right after
// hooks/auth, whose OnConnect sets the identity, and refuses in its own OnConnect,
// before mochi's takeover.
package hooks
