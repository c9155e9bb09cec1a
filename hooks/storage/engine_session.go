package storage

import (
	"context"
	"fmt"

	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/imqtt/imqtt/persist"
)

// Sessions calls fn for every stored session with its subscriptions. It
// reads everything first (two read transactions), then calls fn outside of
// them, so fn may write.
func (e *EngineStore) Sessions(fn func(ext.Session, []ext.Subscription) error) error {
	ss, err := e.opts.Store.Sessions()
	if err != nil {
		return fmt.Errorf("read sessions: %w", err)
	}
	subs := make(map[string][]ext.Subscription, len(ss))
	err = e.opts.Store.EachSubscription(func(client string, s persist.Subscription) error {
		subs[client] = append(subs[client], extSubscription(&s))
		return nil
	})
	if err != nil {
		return fmt.Errorf("read subscriptions: %w", err)
	}
	for i := range ss {
		if err := fn(extSession(&ss[i]), subs[ss[i].ClientID]); err != nil {
			return err
		}
	}
	return nil
}

// Retained calls fn for every stored retained message not expired, streamed
// from one read transaction (fn must not write through this store).
func (e *EngineStore) Retained(fn func(ext.StoredMessage) error) error {
	return e.opts.Store.EachRetained(e.now(), func(m persist.Message) error {
		return fn(storedMessage(&m))
	})
}

// PutSession writes s's record.
func (e *EngineStore) PutSession(ctx context.Context, s ext.Session) error {
	r := sessionFromExt(&s)
	r.NodeID = e.opts.NodeID
	if _, err := e.apply(ctx, []persist.Op{persist.PutSessionOp(r)}); err != nil {
		return fmt.Errorf("put session %q: %w", s.ClientID, err)
	}
	return nil
}

// DeleteSession removes clientID's session with its subscriptions, queue
// (its shared bodies released) and in-flight records.
func (e *EngineStore) DeleteSession(ctx context.Context, clientID string) error {
	err := e.applyOwn(persist.OpDeleteSession, clientID, func() error {
		_, err := e.apply(ctx, []persist.Op{persist.DeleteSessionOp(clientID)})
		return err
	})
	e.core.bound.forget(clientID)
	if err != nil {
		return fmt.Errorf("delete session %q: %w", clientID, err)
	}
	return nil
}

// PutSubscriptions writes subs of clientID in one write (none: no write).
func (e *EngineStore) PutSubscriptions(ctx context.Context, clientID string, subs []ext.Subscription) error {
	if len(subs) == 0 {
		return nil
	}
	ops := make([]persist.Op, len(subs))
	for i := range subs {
		ops[i] = persist.PutSubscriptionOp(clientID, subscriptionFromExt(&subs[i]))
	}
	err := e.applyOwn(persist.OpPutSubscription, clientID, func() error {
		_, err := e.apply(ctx, ops)
		return err
	})
	if err != nil {
		return fmt.Errorf("put %d subscriptions of %q: %w", len(subs), clientID, err)
	}
	return nil
}

// DeleteSubscriptions removes filters of clientID in one write (none: no
// write).
func (e *EngineStore) DeleteSubscriptions(ctx context.Context, clientID string, filters []string) error {
	if len(filters) == 0 {
		return nil
	}
	ops := make([]persist.Op, len(filters))
	for i, f := range filters {
		ops[i] = persist.DeleteSubscriptionOp(clientID, f)
	}
	err := e.applyOwn(persist.OpDeleteSubscription, clientID, func() error {
		_, err := e.apply(ctx, ops)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete %d subscriptions of %q: %w", len(filters), clientID, err)
	}
	return nil
}
