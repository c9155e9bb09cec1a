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
	LimitMaxQueuedBytes   = "max_queued_bytes"
)

// refusal is a CONNECT refused by a bound: its v5 CONNACK code (connack maps
// it for 3.1.1), the limit's name and a short reason for the log.
type refusal struct {
	code  byte
	limit string
	why   string
	owner string // the session's owner (owner mismatch)
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
			return &refusal{code: 0x87, limit: LimitOwnerMismatch, why: "client id holds another user's session", owner: old.user}
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

// The log messages of the refusals, the mochi path's words (hooks/session,
// hooks/limits) so operators grep one text on either engine.
const (
	msgConnectRefused = "connect refused"
	msgTooDeep        = "topic too deep, refused"
	msgTooManySubs    = "subscriptions refused: client holds max_subscriptions_per_client"
)

// logPrefixLen bounds the part of a refused topic copied into the log.
const logPrefixLen = 64

// refusedConnect counts and logs a CONNECT refused by a bound.
func (e *Engine) refusedConnect(c *ext.Client, no *refusal) {
	e.obs.LimitRefused(no.limit)
	e.limitLog.Warn().Str(logfield.ClientID, c.ID).Str(logfield.User, c.Username).Str(logfield.Owner, no.owner).
		Str(logfield.Remote, c.Remote.String()).Str(logfield.Limit, no.limit).Str(logfield.Reason, no.why).Msg(msgConnectRefused)
}

// refusedDeep counts and logs a topic name or filter deeper than
// limits.max_topic_levels; packet names what carried it (publish,
// subscribe, unsubscribe, will).
func (e *Engine) refusedDeep(c *ext.Client, packet, topic string) {
	e.obs.LimitRefused(LimitMaxTopicLevels)
	prefix := topic[:min(len(topic), logPrefixLen)]
	e.limitLog.Warn().Str(logfield.ClientID, c.ID).Str(logfield.Packet, packet).Int(logfield.Limit, e.cfg.MaxTopicLevels).
		Int(logfield.TopicBytes, len(topic)).Str(logfield.TopicPrefix, prefix).Msg(msgTooDeep)
}

// refusedSubs counts and logs a filter past
// limits.max_subscriptions_per_client.
func (e *Engine) refusedSubs(c *ext.Client, held int) {
	e.obs.LimitRefused(LimitMaxSubsPerClient)
	e.limitLog.Warn().Str(logfield.ClientID, c.ID).Int(logfield.Count, held).Int(logfield.Limit, e.cfg.MaxSubscriptionsPerClient).
		Msg(msgTooManySubs)
}
