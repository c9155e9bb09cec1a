package broker

import (
	"context"
	"log/slog"

	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/internal/logfield"
)

// mochiPerMessageWarnings are mochi warnings logged once per dropped message; under
// load they flood the log (one line per message). They are counted in
// imqtt_messages_dropped_total instead and logged at debug.
var mochiPerMessageWarnings = map[string]bool{
	"client store quota reached": true,
	"packet ids exhausted":       true,
}

// mochiAttrsWithPayload are mochi's slog attributes that carry whole packets (and so
// payloads, passwords or will messages): never written to our logs.
var mochiAttrsWithPayload = map[string]bool{"pk": true, "packet": true, "will": true, "pkv": true}

// newMochiLogger routes mochi's slog output through zerolog with component=mochi,
// dropping attributes that would carry payloads or credentials. mochi's Info
// chatter (hook added, listener attached) is lowered to debug.
func newMochiLogger(log zerolog.Logger) *slog.Logger {
	zl := log.With().Str(logfield.Component, "mochi").Logger()
	return slog.New(&redactingHandler{next: zerolog.NewSlogHandler(zl)})
}

type redactingHandler struct {
	next slog.Handler
}

func (h *redactingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *redactingHandler) Handle(ctx context.Context, r slog.Record) error {
	level := r.Level
	if level == slog.LevelInfo || (level == slog.LevelWarn && mochiPerMessageWarnings[r.Message]) {
		level = slog.LevelDebug
	}
	if !h.next.Enabled(ctx, level) {
		return nil
	}
	out := slog.NewRecord(r.Time, level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		if !mochiAttrsWithPayload[a.Key] {
			out.AddAttrs(a)
		}
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *redactingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	kept := make([]slog.Attr, 0, len(attrs))
	for _, a := range attrs {
		if !mochiAttrsWithPayload[a.Key] {
			kept = append(kept, a)
		}
	}
	return &redactingHandler{next: h.next.WithAttrs(kept)}
}

func (h *redactingHandler) WithGroup(name string) slog.Handler {
	return &redactingHandler{next: h.next.WithGroup(name)}
}
