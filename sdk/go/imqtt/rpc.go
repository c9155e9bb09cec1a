package imqtt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// RPC calls method (docs/protocol.md "RPC") with params (a struct or map
// marshalling to a JSON object, or nil) and returns the whole response
// object. The reply comes on this Client's reply topic: MQTT 5 Response
// Topic + Correlation Data, or MQTT 3.1.1 reply_to + rid in the payload.
// Errors: *Error for a refusal, ErrTimeout after Config.Timeout,
// ErrNotConnected while the connection is down (rpcs are not queued),
// ErrClosed, the *Error of a permanent reconnect refusal that failed the
// Client (StateFailed), or ctx's error.
func (c *Client) RPC(ctx context.Context, method string, params any) (json.RawMessage, error) {
	if err := c.stopErr(); err != nil {
		return nil, err
	}
	req := map[string]json.RawMessage{}
	if params != nil {
		b, err := json.Marshal(params)
		if err != nil {
			return nil, fmt.Errorf("imqtt: %s params: %w", method, err)
		}
		if err := json.Unmarshal(b, &req); err != nil {
			return nil, fmt.Errorf("imqtt: %s params must be a JSON object: %w", method, err)
		}
	}
	rid := c.ridPrefix + strconv.FormatUint(c.ridSeq.Add(1), 10)
	req["rid"], _ = json.Marshal(rid)
	if c.cfg.Protocol == 4 {
		req["reply_to"], _ = json.Marshal(c.replyTopic)
	}
	payload, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("imqtt: encode %s: %w", method, err)
	}
	ch := make(chan reply, 1)
	c.mu.Lock()
	c.rpcs[rid] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.rpcs, rid)
		c.mu.Unlock()
	}()
	tctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	timedOut := func(err error) error {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return fmt.Errorf("%w: %s: no reply within %s", ErrTimeout, method, c.cfg.Timeout)
		}
		return err
	}
	// A PUBACK refusal (MQTT 5) is in the response too, with the method.
	if err := c.tr.publish(tctx, "im/rpc/"+method, payload, c.replyTopic, []byte(rid)); err != nil && !isRefusal(err) {
		return nil, timedOut(err)
	}
	select {
	case r := <-ch:
		if err := r.err(method); err != nil {
			return r.Raw, err
		}
		return r.Raw, nil
	case <-tctx.Done():
		return nil, timedOut(tctx.Err())
	case <-c.failed:
		return nil, c.stoppedErr()
	case <-c.done:
		return nil, c.stoppedErr()
	}
}

// call is RPC decoding the response into out (when not nil).
func (c *Client) call(ctx context.Context, method string, params, out any) error {
	raw, err := c.RPC(ctx, method, params)
	if err != nil || out == nil {
		return err
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrBadReply, method, err)
	}
	return nil
}

// handleReply hands an rpc response to its waiting RPC (loop goroutine),
// matched by Correlation Data or rid. Replies to other devices are ignored.
func (c *Client) handleReply(in inbound) {
	r, err := decodeReply(in.payload)
	if err != nil {
		c.fail(err)
		return
	}
	key := string(in.corr)
	if key == "" {
		key = r.RID
	}
	c.mu.Lock()
	ch := c.rpcs[key]
	delete(c.rpcs, key)
	c.mu.Unlock()
	if ch != nil {
		ch <- r
	}
}

// syncResult is the response of rpc sync.
type syncResult struct {
	Messages []Message        `json:"messages"`
	Since    map[string]int64 `json:"since"`
	More     bool             `json:"more"`
}

// Sync runs sync from the stored cursors, paging while more, and delivers
// the messages through OnMessage like live ones (once, in seq order). The
// Client runs it by itself on every (re)connect (unless NoAutoSync) and
// on a gap.
func (c *Client) Sync(ctx context.Context) error {
	return c.syncWith(ctx)
}

// syncAll is Sync with cfg.Timeout per page, ending at Close.
func (c *Client) syncAll() error {
	return c.syncWith(c.life)
}

func (c *Client) syncWith(ctx context.Context) error {
	since, err := c.store.Cursors()
	if err != nil {
		return fmt.Errorf("imqtt: read cursors: %w", err)
	}
	for {
		var res syncResult
		if err := c.call(ctx, "sync", map[string]any{"since": since}, &res); err != nil {
			return err
		}
		if len(res.Messages) > 0 {
			c.in.push(loopItem{synced: res.Messages})
		}
		if !res.More {
			return nil
		}
		if len(res.Since) > 0 {
			since = res.Since
		}
	}
}
