package imqtt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// maxOwnSent bounds the memory of acked cids (to recognise copies of this
// device's own sends).
const maxOwnSent = 4096

// Send sends body to a user or group and returns the server's ack. The cid
// is made here (unless o.CID), and the send is written to the outbox
// (Store) BEFORE it is published: if the connection is down or drops, the
// entry is re-sent with the same cid and payload on every reconnect (and by
// the next Client on the same Store) until its ack arrives, and the server
// stores it once. Send waits for the ack until ctx is done: then it returns
// ctx's error (with the Ack's CID set), the entry stays in the outbox and its
// ack, when it comes, goes to OnAck. A refusal returns an *Error and removes
// the entry; an ack 0x80 (storage unavailable: outcome unknown) keeps it
// and re-sends. When a reconnect is refused for good (StateFailed), Send
// returns that *Error and the entry stays in the outbox.
func (c *Client) Send(ctx context.Context, to Target, body string, o SendOptions) (Ack, error) {
	if err := c.stopErr(); err != nil {
		return Ack{}, err
	}
	cid := o.CID
	if cid == "" {
		cid = newCID()
	}
	req := map[string]any{"cid": cid, "body": body}
	if o.Type != "" {
		req["type"] = o.Type
	}
	switch {
	case len(o.Mentions) == 1 && o.Mentions[0] == "all":
		req["mentions"] = "all"
	case len(o.Mentions) > 0:
		req["mentions"] = o.Mentions
	}
	payload, err := json.Marshal(req)
	if err != nil {
		return Ack{}, fmt.Errorf("imqtt: encode send: %w", err)
	}
	e := OutboxEntry{CID: cid, Topic: to.topic(), Payload: payload, Created: time.Now().UnixMilli()}
	ch := make(chan Ack, 1)
	c.mu.Lock()
	c.mine[cid] = true
	c.sends[cid] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.sends, cid)
		c.mu.Unlock()
	}()
	if err := c.store.PutOutbox(e); err != nil {
		c.mu.Lock()
		delete(c.mine, cid)
		c.mu.Unlock()
		return Ack{CID: cid}, fmt.Errorf("imqtt: outbox put %s: %w", cid, err)
	}
	// A PUBACK refusal (MQTT 5) comes on the ack topic too: read it there.
	if err := c.tr.publish(ctx, e.Topic, e.Payload, "", nil); err != nil && !isRefusal(err) &&
		!errors.Is(err, ErrNotConnected) && ctx.Err() == nil {
		c.fail(err) // the entry is re-sent on reconnect
	}
	select {
	case a := <-ch:
		if a.Err != nil {
			return a, a.Err
		}
		return a, nil
	case <-ctx.Done():
		return Ack{CID: cid}, ctx.Err()
	case <-c.failed:
		return Ack{CID: cid}, c.stoppedErr()
	case <-c.done:
		return Ack{CID: cid}, c.stoppedErr()
	}
}

// Outbox returns the sends waiting for their ack, oldest first.
func (c *Client) Outbox() ([]OutboxEntry, error) { return c.store.ListOutbox() }

// handleAck settles the outbox entry of an ack (loop goroutine). Acks of
// other devices' sends (not in this outbox) are ignored.
func (c *Client) handleAck(payload []byte) {
	a, err := decodeAck(payload)
	if err != nil {
		c.fail(err)
		return
	}
	if a.CID == "" {
		// A refused receipt or typing (no cid). MQTT 5 returned it to the
		// caller from the PUBACK; MQTT 3.1.1 has no other way to tell.
		if a.Err != nil && c.cfg.Protocol == 4 {
			c.fail(a.Err)
		}
		return
	}
	c.mu.Lock()
	mine := c.mine[a.CID]
	ch := c.sends[a.CID]
	c.mu.Unlock()
	if !mine {
		return
	}
	c.emit(func() { call(c.cfg.OnAck, a) })
	if a.Err != nil && a.Err.Code == CodeUnspecified {
		signal(c.retryCh) // outcome unknown: keep and re-send
		return
	}
	if err := c.store.DeleteOutbox(a.CID); err != nil {
		c.fail(err)
	}
	c.mu.Lock()
	delete(c.mine, a.CID)
	if a.Err == nil {
		c.ownSent[a.CID] = true
		c.ownOrder = append(c.ownOrder, a.CID)
		if len(c.ownOrder) > maxOwnSent {
			delete(c.ownSent, c.ownOrder[0])
			c.ownOrder = c.ownOrder[1:]
		}
	}
	c.mu.Unlock()
	if a.Err == nil {
		c.rec.own(a.Conv, a.Seq)
	}
	if ch != nil {
		ch <- a // capacity 1, one ack per cid is settled
	}
}

// isOwnSend reports whether cid is one of this device's acked sends.
func (c *Client) isOwnSend(cid string) bool {
	if cid == "" {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ownSent[cid] || c.mine[cid]
}

// flush re-publishes every outbox entry, oldest first, with its cid and
// payload (session goroutine). It stops at the first failure: the next
// connection flushes again.
func (c *Client) flush(ctx context.Context) error {
	entries, err := c.store.ListOutbox()
	if err != nil {
		return fmt.Errorf("imqtt: read outbox: %w", err)
	}
	for _, e := range entries {
		c.mu.Lock()
		c.mine[e.CID] = true
		c.mu.Unlock()
		if err := c.tr.publish(ctx, e.Topic, e.Payload, "", nil); err != nil && !isRefusal(err) {
			return err // a refusal is settled by its ack
		}
	}
	return nil
}
