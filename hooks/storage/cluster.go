package storage

import (
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/imqtt/imqtt/persist"
)

// Observe keeps this node's view in step with the replicated store: it is the
// persist.Observer of the node's store, called for every applied entry, on
// every node, in log order — so it sees the changes other nodes made (see
// doc.go "Cluster"). For a session that is not connected to this node it
// mirrors PutSession / DeleteSession / Put- and DeleteSubscription into the
// registry, mochi's client table and topic index (a publish here then
// enqueues for it, and a reconnect here resumes it); for a session connected
// here it does nothing (the hook's own path made the change). An Enqueue for a
// session whose pump runs here wakes the pump. Retained updates go into
// mochi's retained index. All of it is idempotent: the entries this node
// wrote itself come through here too.
func (h *Hook) Observe(_ uint64, batches [][]persist.Op, results [][]persist.Result) {
	for bi, batch := range batches {
		for oi := range batch {
			op := &batch[oi]
			var res persist.Result
			if bi < len(results) && oi < len(results[bi]) {
				res = results[bi][oi]
			}
			if res.Err != nil {
				continue
			}
			h.observeOp(op, res)
		}
	}
}

func (h *Hook) observeOp(op *persist.Op, res persist.Result) {
	srv := h.opts.Server
	switch op.Kind {
	case persist.OpEnqueue, persist.OpEnqueueRef:
		h.mu.Lock()
		s := h.sessions[op.Client]
		h.mu.Unlock()
		if s != nil {
			s.notify(h, res.Seq)
		}
	case persist.OpCommitBody:
		// The staged references name no sessions in the op: wake every pump
		// here (a pump with nothing new reads one seq and goes back to sleep).
		if res.Count == 0 {
			return
		}
		h.mu.Lock()
		var ss []*session
		for _, s := range h.sessions {
			if s.pump != nil {
				ss = append(ss, s)
			}
		}
		h.mu.Unlock()
		for _, s := range ss {
			s.notifyQueue(h)
		}
	case persist.OpDequeueThrough:
		// A session pumped on another node: this node's queue counter (the
		// bound on enqueues made here) only ever grew; re-read it from the
		// store at the next enqueue.
		h.mu.Lock()
		if s := h.sessions[op.Client]; s != nil && s.pump == nil {
			h.core.bound.forget(op.Client)
		}
		h.mu.Unlock()
	case persist.OpPutSession:
		if op.Session == nil || h.connectedHere(op.Session.ClientID) {
			return
		}
		ss := op.Session
		h.mu.Lock()
		if h.sessions[ss.ClientID] == nil {
			// username and proto are read without the lock once the session
			// is registered: set them only on a new one.
			h.putSessionLocked(&session{id: ss.ClientID, username: ss.Username, proto: ss.ProtocolVersion})
		}
		h.mu.Unlock()
		if _, ok := srv.Clients.Get(ss.ClientID); ok {
			return // the session's (offline) client is already in the table
		}
		c := storedClient(ss)
		cl := srv.NewClient(nil, "cluster", ss.ClientID, false)
		cl.Properties.Username = c.Username
		cl.Properties.Clean = c.Clean
		cl.Properties.ProtocolVersion = c.ProtocolVersion
		cl.Properties.Props.SessionExpiryInterval = c.Properties.SessionExpiryInterval
		cl.Properties.Props.SessionExpiryIntervalFlag = c.Properties.SessionExpiryIntervalFlag
		cl.Stop(packets.ErrSessionTakenOver)
		srv.Clients.Add(cl)
	case persist.OpDeleteSession:
		if h.connectedHere(op.Client) {
			return
		}
		h.mu.Lock()
		if s := h.sessions[op.Client]; s != nil && s.cl == nil {
			h.deleteSessionLocked(op.Client)
		}
		h.mu.Unlock()
		if cl, ok := srv.Clients.Get(op.Client); ok && (cl.Net.Conn == nil || cl.Closed()) {
			for f := range cl.State.Subscriptions.GetAll() {
				srv.Topics.Unsubscribe(f, op.Client)
				cl.State.Subscriptions.Delete(f)
			}
			srv.Clients.Delete(op.Client)
		}
	case persist.OpPutSubscription:
		if op.Subscription == nil || h.connectedHere(op.Client) {
			return
		}
		ss := storedSubscription(op.Client, op.Subscription)
		sub := packets.Subscription{
			Filter: ss.Filter, Identifier: ss.Identifier, RetainHandling: ss.RetainHandling,
			Qos: ss.Qos, RetainAsPublished: ss.RetainAsPublished, NoLocal: ss.NoLocal,
		}
		srv.Topics.Subscribe(op.Client, sub)
		if cl, ok := srv.Clients.Get(op.Client); ok {
			cl.State.Subscriptions.Add(sub.Filter, sub)
		}
	case persist.OpDeleteSubscription:
		if h.connectedHere(op.Client) {
			return
		}
		srv.Topics.Unsubscribe(op.Filter, op.Client)
		if cl, ok := srv.Clients.Get(op.Client); ok {
			cl.State.Subscriptions.Delete(op.Filter)
		}
	case persist.OpPutRetained, persist.OpPutRetainedOwned:
		if op.Message != nil {
			m := retainedMessage(op.Message)
			srv.Topics.RetainMessage(m.ToPacket())
		}
	case persist.OpDeleteRetained:
		srv.Topics.RetainMessage(packets.Packet{
			FixedHeader: packets.FixedHeader{Type: packets.Publish, Retain: true},
			TopicName:   op.Topic,
		})
	}
}

// connectedHere reports whether the session id has a client connected to this
// node (its own hooks keep its state).
func (h *Hook) connectedHere(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.sessions[id]
	if s != nil && s.cl != nil || h.establishing[id] > 0 {
		return true
	}
	return false
}

// TakenOver is told, before the client is disconnected, that the client id
// connected to another node of the cluster: the session (if persistent) now
// lives there, so this node stops its pump and must not record the
// disconnect (the other node owns the session record from now on).
func (h *Hook) TakenOver(cl *mqtt.Client) { h.detach(cl) }
