package storage

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/imqtt/imqtt/internal/logfield"
	"github.com/imqtt/imqtt/persist"
)

// Limit labels for LimitObserver.LimitRefused: the config keys of the bounds.
const (
	LimitRetainedCount = "retained.max_per_user"
	LimitRetainedBytes = "retained.max_bytes_per_user"
)

// LimitObserver counts refusals by a security bound (hooks/metrics
// implements it: imqtt_limit_refusals_total{limit}).
type LimitObserver interface {
	LimitRefused(limit string)
}

// RetainedConfig bounds what one user may keep retained, cluster-wide. In the
// imqttd config file it is the top-level `retained:` section.
type RetainedConfig struct {
	// MaxPerUser is the most retained messages one user may own (0 = no bound).
	MaxPerUser int `yaml:"max_per_user"`
	// MaxBytesPerUser bounds the topic+payload bytes of a user's retained
	// messages (0 = no bound).
	MaxBytesPerUser int64 `yaml:"max_bytes_per_user"`
}

// DefaultRetainedConfig returns 1000 messages and 16 MiB per user.
func DefaultRetainedConfig() RetainedConfig {
	return RetainedConfig{MaxPerUser: 1000, MaxBytesPerUser: 16 << 20}
}

// Validate checks the bounds; errors wrap ErrInvalidConfig and name the key.
func (c RetainedConfig) Validate() error {
	switch {
	case c.MaxPerUser < 0:
		return fmt.Errorf("%w: retained.max_per_user: %d: must be >= 0", ErrInvalidConfig, c.MaxPerUser)
	case c.MaxBytesPerUser < 0:
		return fmt.Errorf("%w: retained.max_bytes_per_user: %d: must be >= 0", ErrInvalidConfig, c.MaxBytesPerUser)
	}
	return nil
}

// retainedUpdate is the durable retained update of rm (its topic's retained
// message; an empty payload deletes it [MQTT-3.3.1-10]): charged to owner
// (persist.PutRetainedOwnedOp with the retained bounds), or with inline not
// charged, freeing whatever owner the topic had. limited reports whether the
// op can be refused by the quota: then applyRetained applies it first.
func (c *core) retainedUpdate(rm persist.Message, owner string, inline bool) (op persist.Op, limited bool) {
	if inline {
		if len(rm.Payload) == 0 {
			return persist.DeleteRetainedOp(rm.Topic), false
		}
		return persist.PutRetainedOp(rm), false
	}
	rc := c.retained
	op = persist.PutRetainedOwnedOp(rm, owner, uint64(rc.MaxPerUser), uint64(rc.MaxBytesPerUser))
	return op, len(rm.Payload) > 0 && (rc.MaxPerUser > 0 || rc.MaxBytesPerUser > 0)
}

// applyRetained applies a limited retained update alone, first, so that a
// refusal by the quota (an error wrapping persist.ErrQuotaExceeded and
// ext.ErrQuotaExceeded) leaves nothing written: the publisher's own state
// decides, nobody else's. An unlimited one is returned to go with the
// copies' first command.
func (c *core) applyRetained(ctx context.Context, op persist.Op, limited bool) (head []persist.Op, err error) {
	if !limited {
		return []persist.Op{op}, nil
	}
	_, err = c.apply(ctx, []persist.Op{op})
	return nil, err
}

// retainRefused records a retained message of owner refused by the quota:
// the metric with the bound it hit, and a rate-limited warning.
func (c *core) retainRefused(clientID, owner, topic string, err error) {
	// Which bound: the count one if the message would add one past it.
	limit := LimitRetainedBytes
	if max := c.retained.MaxPerUser; max > 0 {
		u, uerr := c.store.RetainedUsage(owner)
		o, _, owned, oerr := c.store.RetainedOwner(topic)
		if uerr == nil && oerr == nil && !(owned && o == owner) && u.Count+1 > uint64(max) {
			limit = LimitRetainedCount
		}
	}
	if c.limits != nil {
		c.limits.LimitRefused(limit)
	}
	if n, ok := c.quotaLog.allow(c.now()); ok {
		c.log.Warn().Err(err).Str(logfield.ClientID, clientID).Str(logfield.User, owner).
			Str(logfield.Topic, topic).Str(logfield.Limit, limit).Int(logfield.Suppressed, n).
			Msg("retained message refused by quota")
	}
}

// logLimiter lets one log line through per interval and counts the others.
type logLimiter struct {
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

// allow reports whether a line may be logged now and how many were
// suppressed since the last one.
func (l *logLimiter) allow(now time.Time) (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.last) < time.Second {
		l.suppressed++
		return 0, false
	}
	n := l.suppressed
	l.last, l.suppressed = now, 0
	return n, true
}
