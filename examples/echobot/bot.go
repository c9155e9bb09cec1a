package main

import (
	"context"
	"fmt"

	"github.com/imqtt/imqtt/sdk/go/imqtt"
)

// Run connects with cfg and answers direct text messages until ctx ends;
// logf gets the errors that do not stop the bot (a failed answer). It
// returns the connect error, or nil after ctx ended.
func Run(ctx context.Context, cfg imqtt.Config, logf func(error)) error {
	answers := make(chan imqtt.Message, 64)
	cfg.OnMessage = func(m imqtt.Message) {
		if m.To == "" || m.From == cfg.User || (m.Type != "" && m.Type != "text") {
			return // group messages, its own, notices and events
		}
		select {
		case answers <- m:
		case <-ctx.Done():
		}
	}
	cfg.OnError = logf
	c, err := imqtt.Connect(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() { _ = c.Close() }()
	for {
		select {
		case <-ctx.Done():
			return nil
		case m := <-answers:
			if _, err := c.Send(ctx, imqtt.User(m.From), "echo: "+m.Body, imqtt.SendOptions{}); err != nil && ctx.Err() == nil {
				logf(fmt.Errorf("answer %s/%d: %w", m.Conv, m.Seq, err))
			}
		}
	}
}
