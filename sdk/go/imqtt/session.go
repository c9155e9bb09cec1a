package imqtt

import (
	"context"
	"errors"
	"time"
)

// session runs what follows a (re)connect, a gap and a 0x80 ack, one at a
// time, until Close: subscribe, re-send the outbox, sync. It is the only
// goroutine that waits for replies on the Client's behalf, so the loop
// goroutine never blocks.
func (c *Client) session() {
	defer c.wg.Done()
	first := true
	var retry <-chan time.Time
	for {
		select {
		case <-c.done:
			return
		case <-c.upCh:
			err := c.setUp()
			if first {
				if err != nil && errors.Is(err, ErrNotConnected) {
					continue // dropped during set-up: the next up retries
				}
				c.ready <- err
				first = false
			} else if err != nil {
				c.fail(err)
			}
		case <-c.syncCh:
			if err := c.syncAll(); err != nil && !errors.Is(err, ErrClosed) {
				c.fail(err)
			}
		case <-c.retryCh:
			retry = time.After(backoff(1, c.cfg.ReconnectMin, c.cfg.ReconnectMin))
		case <-retry:
			retry = nil
			ctx, cancel := c.timeoutCtx()
			if err := c.flush(ctx); err != nil && !errors.Is(err, ErrNotConnected) {
				c.fail(err)
			}
			cancel()
		}
	}
}

// timeoutCtx is a context with cfg.Timeout that ends at Close too.
func (c *Client) timeoutCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.life, c.cfg.Timeout)
}

// setUp subscribes the device's topics, re-sends the outbox, runs the auto
// sync and reports the connection.
func (c *Client) setUp() error {
	ctx, cancel := c.timeoutCtx()
	defer cancel()
	if err := c.tr.subscribe(ctx, "im/u/"+c.user+"/#", "im/notify/all"); err != nil {
		return err
	}
	c.mu.Lock()
	watched := append([]string(nil), c.watched...)
	c.mu.Unlock()
	for _, u := range watched {
		if err := c.tr.subscribe(ctx, "im/presence/"+u); err != nil {
			c.fail(err)
		}
	}
	if err := c.flush(ctx); err != nil {
		return err
	}
	if !c.cfg.NoAutoSync {
		if err := c.syncAll(); err != nil {
			return err
		}
	}
	c.emit(func() { c.onConnection(Connection{State: StateConnected}) })
	return nil
}
