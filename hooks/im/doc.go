// Package im adapts the IM server to the MQTT engines: Hook is the mochi hook,
// EngineHook and EnginePublisher the native engine's adapter (below). The
// mochi hook hands every PUBLISH under
// the im/ tree to the im.Service, publishes what the service delivers, keeps
// presence from connects and disconnects, and supplies the im/ namespace
// policy to hooks/acl. It decides nothing itself: the im package owns the
// protocol (docs/protocol.md) and the state.
//
// # Events
//
//   - OnPublish (in the publisher's read goroutine, before mochi acknowledges):
//     a PUBLISH to an im/ topic goes to Service.Handle, which stores it through
//     the raft write path and answers on im/u/{user}/ack. The hook then tells
//     mochi to acknowledge without routing the packet (packets.CodeSuccessIgnore):
//     nobody subscribes to the up topics. An MQTT 5 QoS 1 publish that the
//     service refused gets the refusal's reason code on its PUBACK. MQTT 3.1.1,
//     QoS 0 and QoS 2 publishes always get a plain acknowledgement (mochi cannot
//     send a negative one for them: it would route the packet for 3.1.1 and QoS 0,
//     and answer QoS 2 with a PUBACK, mochi #510): the ack topic carries the
//     refusal. On a TCP or TLS connection the hook corks the connection when the
//     service is about to publish the ack (Request.Replying), so the ack and
//     mochi's PUBACK leave in one write.
//   - OnPacketProcessed: after mochi wrote its PUBACK, the hook yields to the
//     client's write loop until the queued ack is written (at most 4 yields,
//     reading mochi's queued-packet count) and uncorks (cork.go).
//   - OnSessionEstablished / OnDisconnect: Service.Connected / Disconnected,
//     which keep presence. A session taken over by a new connection with the same
//     client id is not reported as disconnected. A user above the device cap is
//     disconnected (MQTT 5: DISCONNECT 0x97 quota exceeded).
//
// # Delivery
//
// Deliver publishes through mochi from the hook's own inline client (MQTT 5
// properties, so a request/response reply carries its Correlation Data), like
// any server publish: online sessions get it from mochi, persistent sessions
// through the storage hook's durable queue, and the ACL decides who receives it.
// A Delivery with SkipIfOnly (the author's copy of a message) is published only
// when a subscriber other than the sending client matches its topic: in mochi's
// index or, in a cluster, among the routes of the other nodes.
//
// # Wiring
//
// New(Options) before the server starts; add the hook before the storage hook
// (an im/ up publish must not reach it) and after acl; give both ACL hooks
// acl.WithPolicies(hook.Policy()). The hook does not own the Service: the broker
// closes it after the server.
//
// # The native engine
//
// EngineHook implements hooks/ext's PublishHandler (Claims: the im/ tree;
// Handle: Service.Handle bounded by HandleTimeout, its Outcome the ack's code)
// and Lifecycle (Connected / Disconnected; a refused device is 0x97, a closed
// service 0x8B). The engine calls Handle off its transport workers with the
// publisher paused, and orders the Lifecycle calls per client id, so the
// adapter holds no state. EnginePublisher is the Deliverer: every delivery
// goes through the engine's PublishMessage (no cork, no direct write: the
// engine batches), SkipIfOnly through SubscribedExcept. The service's policy,
// Policy(svc), goes to the engine's Authorizer.
//
// Wiring (broker/engine_wiring.go): NewEnginePublisher, im.New with it,
// NewEngineHook, acl with Policy(svc), engine.New with the hook as Handler and
// Lifecycle, then EnginePublisher.Bind(engine) (deliveries made before, such
// as the presence of the last run, wait in order, at most 1024). Close the
// engine, then EngineHook.Close, then the service.
package im
