package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/internal/logfield"
)

// promotedRaftMessage reports raft INFO messages about leadership and
// membership; they stay at info. Every other raft INFO line goes to debug.
func promotedRaftMessage(msg string) bool {
	switch msg {
	case "entering follower state",
		"entering candidate state",
		"entering leader state",
		"election won",
		"added peer, starting replication",
		"removed peer, stopping replication",
		"removed ourself, shutting down",
		"removed ourself, transitioning to follower",
		"updating configuration":
		return true
	}
	return false
}

// expectedRaftWarning reports raft WARN messages that describe a normal event
// (every node starts with an election); they are logged at info.
func expectedRaftWarning(msg string) bool {
	return msg == "heartbeat timeout reached, starting election"
}

// hclogAdapter routes hashicorp/go-hclog output (raft, raft-wal) into zerolog.
// Raft's messages are fixed lowercase strings and its arguments become fields.
type hclogAdapter struct {
	zl      zerolog.Logger
	name    string
	implied []any
}

var _ hclog.Logger = (*hclogAdapter)(nil)

// newHCLog returns an hclog.Logger writing to zl with subsystem set.
func newHCLog(zl zerolog.Logger, subsystem string) hclog.Logger {
	return &hclogAdapter{zl: zl.With().Str(logfield.Subsystem, subsystem).Logger()}
}

func (h *hclogAdapter) event(level hclog.Level, msg string) *zerolog.Event {
	switch level {
	case hclog.Trace:
		return h.zl.Trace()
	case hclog.Debug:
		return h.zl.Debug()
	case hclog.Warn:
		if expectedRaftWarning(msg) {
			return h.zl.Info()
		}
		return h.zl.Warn()
	case hclog.Error:
		return h.zl.Error()
	case hclog.Off:
		return nil
	default: // Info, NoLevel
		if promotedRaftMessage(msg) {
			return h.zl.Info()
		}
		return h.zl.Debug()
	}
}

// closedConnError reports raft transport errors that only say a connection
// was closed under a reader: every node logs them when it or a peer stops.
func closedConnError(level hclog.Level, args []any) bool {
	if level != hclog.Error {
		return false
	}
	for _, a := range args {
		if err, ok := a.(error); ok && (errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF)) {
			return true
		}
	}
	return false
}

// Log implements hclog.Logger.
func (h *hclogAdapter) Log(level hclog.Level, msg string, args ...any) {
	if closedConnError(level, args) {
		level = hclog.Debug
	}
	ev := h.event(level, msg)
	if ev == nil || !ev.Enabled() {
		return
	}
	if h.name != "" {
		ev = ev.Str(logfield.Logger, h.name)
	}
	addHCLogArgs(ev, h.implied)
	addHCLogArgs(ev, args)
	ev.Msg(msg)
}

// addHCLogArgs adds hclog's key/value pairs as fields. Values are rendered
// without reflection-based JSON (raft passes *Raft and other structs holding
// channels).
func addHCLogArgs(ev *zerolog.Event, args []any) {
	for i := 0; i < len(args); i += 2 {
		if i+1 == len(args) {
			ev.Str(logfield.ExtraValueAtEnd, fmt.Sprint(args[i]))
			return
		}
		key, ok := args[i].(string)
		if !ok {
			key = fmt.Sprint(args[i])
		}
		switch v := args[i+1].(type) {
		case nil:
			ev.Str(key, "")
		case error:
			ev.AnErr(key, v)
		case string:
			ev.Str(key, v)
		case bool:
			ev.Bool(key, v)
		case int:
			ev.Int(key, v)
		case int32:
			ev.Int32(key, v)
		case int64:
			ev.Int64(key, v)
		case uint:
			ev.Uint(key, v)
		case uint32:
			ev.Uint32(key, v)
		case uint64:
			ev.Uint64(key, v)
		case float64:
			ev.Float64(key, v)
		case time.Duration:
			ev.Str(key, v.String())
		case time.Time:
			ev.Time(key, v)
		case hclog.Format:
			if len(v) > 0 {
				if f, ok := v[0].(string); ok {
					ev.Str(key, fmt.Sprintf(f, v[1:]...))
					continue
				}
			}
			ev.Str(key, fmt.Sprint([]any(v)...))
		case fmt.Stringer:
			ev.Str(key, v.String())
		default:
			ev.Str(key, fmt.Sprintf("%+v", v))
		}
	}
}

// Trace implements hclog.Logger.
func (h *hclogAdapter) Trace(msg string, args ...any) { h.Log(hclog.Trace, msg, args...) }

// Debug implements hclog.Logger.
func (h *hclogAdapter) Debug(msg string, args ...any) { h.Log(hclog.Debug, msg, args...) }

// Info implements hclog.Logger.
func (h *hclogAdapter) Info(msg string, args ...any) { h.Log(hclog.Info, msg, args...) }

// Warn implements hclog.Logger.
func (h *hclogAdapter) Warn(msg string, args ...any) { h.Log(hclog.Warn, msg, args...) }

// Error implements hclog.Logger.
func (h *hclogAdapter) Error(msg string, args ...any) { h.Log(hclog.Error, msg, args...) }

// IsTrace implements hclog.Logger.
func (h *hclogAdapter) IsTrace() bool { return h.zl.GetLevel() <= zerolog.TraceLevel }

// IsDebug implements hclog.Logger.
func (h *hclogAdapter) IsDebug() bool { return h.zl.GetLevel() <= zerolog.DebugLevel }

// IsInfo implements hclog.Logger. Most raft INFO lines are logged at debug, so
// this reports whether debug is on.
func (h *hclogAdapter) IsInfo() bool { return h.zl.GetLevel() <= zerolog.InfoLevel }

// IsWarn implements hclog.Logger.
func (h *hclogAdapter) IsWarn() bool { return h.zl.GetLevel() <= zerolog.WarnLevel }

// IsError implements hclog.Logger.
func (h *hclogAdapter) IsError() bool { return h.zl.GetLevel() <= zerolog.ErrorLevel }

// ImpliedArgs implements hclog.Logger.
func (h *hclogAdapter) ImpliedArgs() []any { return h.implied }

// With implements hclog.Logger.
func (h *hclogAdapter) With(args ...any) hclog.Logger {
	c := *h
	c.implied = append(append([]any(nil), h.implied...), args...)
	return &c
}

// Name implements hclog.Logger.
func (h *hclogAdapter) Name() string { return h.name }

// Named implements hclog.Logger.
func (h *hclogAdapter) Named(name string) hclog.Logger {
	c := *h
	if c.name != "" {
		c.name += "." + name
	} else {
		c.name = name
	}
	return &c
}

// ResetNamed implements hclog.Logger.
func (h *hclogAdapter) ResetNamed(name string) hclog.Logger {
	c := *h
	c.name = name
	return &c
}

// SetLevel implements hclog.Logger; the level is the zerolog logger's and is
// not changed here.
func (h *hclogAdapter) SetLevel(hclog.Level) {}

// GetLevel implements hclog.Logger.
func (h *hclogAdapter) GetLevel() hclog.Level {
	switch l := h.zl.GetLevel(); {
	case l <= zerolog.TraceLevel:
		return hclog.Trace
	case l == zerolog.DebugLevel:
		return hclog.Debug
	case l == zerolog.InfoLevel:
		return hclog.Info
	case l == zerolog.WarnLevel:
		return hclog.Warn
	case l == zerolog.ErrorLevel:
		return hclog.Error
	default:
		return hclog.Off
	}
}

// StandardLogger implements hclog.Logger.
func (h *hclogAdapter) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(h.StandardWriter(opts), "", 0)
}

// StandardWriter implements hclog.Logger: each write is one event, at
// opts.ForceLevel if set, else at debug.
func (h *hclogAdapter) StandardWriter(opts *hclog.StandardLoggerOptions) io.Writer {
	level := hclog.Debug
	if opts != nil && opts.ForceLevel != hclog.NoLevel {
		level = opts.ForceLevel
	}
	return &hclogWriter{h: h, level: level}
}

type hclogWriter struct {
	h     *hclogAdapter
	level hclog.Level
}

func (w *hclogWriter) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(bytes.TrimRight(p, "\n")))
	if line != "" {
		w.h.Log(w.level, "raft standard log", "line", line)
	}
	return len(p), nil
}
