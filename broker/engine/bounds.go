package engine

import (
	"time"

	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/imqtt/imqtt/internal/logfield"
	"github.com/imqtt/imqtt/internal/mqtttopic"
)

// The security bounds of the engine (issue 16 on the mochi path: hooks/limits
// and hooks/session): who may use a session, how many persistent sessions a
// user holds, how many filters a session holds, how deep a topic may be.
// Each refusal is counted (Observer.LimitRefused with the bound's name) and
// logged at warn, sampled (one line per limitLogEvery).

// limitLogEvery is the shortest time between two refusal warnings; the
// metric counts them all.
const limitLogEvery = 10 * time.Second

// Limit names: the limit label of imqtt_limit_refusals_total, the same words
// hooks/session and hooks/limits count on the mochi path.
const (
	LimitOwnerMismatch    = "session.owner_mismatch"
	LimitMaxPerUser       = "session.max_per_user"
	LimitMaxSubsPerClient = "max_subscriptions_per_client"
	LimitMaxTopicLevels   = "max_topic_levels"
)

// refusal is a CONNECT refused by a bound: its v5 CONNACK code (connack maps
// it for 3.1.1), the limit's name and a short reason for the log.
type refusal struct {
	code  byte
	limit string
	why   string
}

// admitLocked applies the session bounds to cl's CONNECT (e.mu held, before
// attach changes anything): a session belongs to the user who created it
// (session.owner_mismatch: refuse, or clean_start, which discards another
// user's offline session but never a connected one), and an authenticated
// user holds at most session.max_per_user persistent sessions (a session the
// user already holds does not count again; anonymous clients are not
// counted). old is the session the client id names, nil if none.
func (e *Engine) admitLocked(cl *client, old *session, expiry uint32) *refusal {
	user := cl.info.Username
	if old != nil && old.user != user {
		old.mu.Lock()
		live := old.cl != nil || old.remote // connected here or on another node
		old.mu.Unlock()
		if live || !e.cfg.OwnerMismatchCleanStart {
			return &refusal{code: 0x87, limit: LimitOwnerMismatch, why: "client id holds another user's session"}
		}
	}
	if max := e.cfg.MaxSessionsPerUser; max > 0 && user != "" && expiry > 0 {
		holds := old != nil && old.counted && old.user == user
		if !holds && e.perUser[user] >= max {
			return &refusal{code: 0x97, limit: LimitMaxPerUser, why: "persistent sessions per user"}
		}
	}
	return nil
}

// countLocked keeps Engine.perUser in step after attach set s's expiry
// (e.mu held).
func (e *Engine) countLocked(s *session) {
	s.mu.Lock()
	persistent := s.expiry > 0
	s.mu.Unlock()
	switch {
	case persistent && s.user != "" && !s.counted:
		e.perUser[s.user]++
		s.counted = true
	case !persistent && s.counted:
		e.uncountLocked(s)
	}
}

// uncountLocked removes s from Engine.perUser (e.mu held).
func (e *Engine) uncountLocked(s *session) {
	if !s.counted {
		return
	}
	s.counted = false
	if e.perUser[s.user]--; e.perUser[s.user] <= 0 {
		delete(e.perUser, s.user)
	}
}

// tooDeep reports whether a topic name or filter has more than
// limits.max_topic_levels levels; the check costs O(bound), so a 40,000-level
// filter is refused before the index sees it.
func (e *Engine) tooDeep(topic string) bool {
	return mqtttopic.ExceedsLevels(topic, e.cfg.MaxTopicLevels)
}

// refused counts and logs one refusal by a bound.
func (e *Engine) refused(c *ext.Client, limit, why string) {
	e.obs.LimitRefused(limit)
	e.limitLog.Warn().Str(logfield.ClientID, c.ID).Str(logfield.User, c.Username).Str(logfield.Limit, limit).
		Str(logfield.Reason, why).Msg("refused by a limit")
}
