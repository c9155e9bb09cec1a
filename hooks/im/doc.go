// Package im adapts the IM server to the engine (broker/engine): Hook hands
// every PUBLISH under the im/ tree to the im.Service, Publisher publishes
// what the service delivers, and Policy supplies the im/ namespace policy to
// hooks/acl. It decides nothing itself: the im package owns the protocol
// (docs/protocol.md) and the state.
//
// Hook implements hooks/ext's PublishHandler (Claims: the im/ tree;
// Handle: Service.Handle bounded by HandleTimeout, its Outcome the ack's code)
// and Lifecycle (Connected / Disconnected; a refused device is 0x97, a closed
// service 0x8B). The engine calls Handle off its transport workers with the
// publisher paused, and orders the Lifecycle calls per client id, so the
// adapter holds no state. Publisher is the Deliverer: every delivery
// goes through the engine's PublishMessage (no cork, no direct write: the
// engine batches), SkipIfOnly through SubscribedExcept. The service's policy,
// Policy(svc), goes to the engine's Authorizer.
//
// Wiring (broker/engine_wiring.go): NewPublisher, im.New with it,
// New, acl with Policy(svc), engine.New with the hook as Handler and
// Lifecycle, then Publisher.Bind(engine) (deliveries made before, such
// as the presence of the last run, wait in order, at most 1024). Close the
// engine, then Hook.Close, then the service.
package im
