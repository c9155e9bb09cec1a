package im

import (
	"strings"

	"github.com/imqtt/imqtt/internal/logfield"
	"github.com/imqtt/imqtt/internal/mqtttopic"
	"github.com/imqtt/imqtt/persist"
)

// The built-in access rules of the im/ tree (docs/protocol.md "Access").
// Nobody but the server publishes into im/u/..., im/presence/... or
// im/notify/...; clients publish only the up topics, which Handle processes.

// CanPublish reports whether user may PUBLISH to topic: only well-formed up
// topics (im/send/user/{to}, im/send/group/{group}, im/receipt/{conv},
// im/typing/{conv}, im/rpc/{method}); membership is checked by Handle.
func (s *Service) CanPublish(user, topic string) bool {
	if !ValidName(user) {
		return false
	}
	_, err := parseUp(topic)
	return err == nil
}

// CanSubscribe reports whether user may SUBSCRIBE to an im/ filter (a shared
// subscription prefix is ignored): anything under their own im/u/{user}/ (the
// first three levels literal), im/presence/{x} for a user x the presence policy
// shows them, im/presence/+ (or #) unless the policy is none (deliveries are
// then checked one by one by CanReceive), and im/notify/all.
func (s *Service) CanSubscribe(user, filter string) bool {
	if !ValidName(user) {
		return false
	}
	filter = stripShare(filter)
	lv := strings.Split(filter, "/")
	if len(lv) < 2 || lv[0] != "im" {
		return false
	}
	switch lv[1] {
	case "u":
		return len(lv) >= 3 && lv[2] == user
	case "presence":
		if len(lv) != 3 {
			return false
		}
		switch x := lv[2]; x {
		case "+", "#":
			return s.cfg.Presence != PresenceNone
		default:
			return ValidName(x) && s.canSeePresence(user, x)
		}
	case "notify":
		return len(lv) == 3 && lv[2] == "all"
	}
	return false
}

// CanReceive reports whether a message on topic (a topic name) may be delivered
// to user: their own im/u/{user}/ tree, im/notify/all, and im/presence/{x} when
// the policy shows x to them. Called for every delivery under im/.
func (s *Service) CanReceive(user, topic string) bool {
	if !ValidName(user) {
		return false
	}
	if topic == TopicNotifyAll {
		return true
	}
	if rest, ok := strings.CutPrefix(topic, "im/u/"); ok {
		u, _, ok := strings.Cut(rest, "/")
		return ok && u == user
	}
	if x, ok := strings.CutPrefix(topic, "im/presence/"); ok {
		return ValidName(x) && s.canSeePresence(user, x)
	}
	return false
}

// stripShare removes the $share/{group}/ prefix of a well-formed shared
// subscription; a malformed one ("$share//f") is returned as it is, so it is
// no im/ filter (hooks/acl refuses it before any policy is asked).
func stripShare(filter string) string {
	if _, inner, ok, err := mqtttopic.ParseShared(filter); ok && err == nil {
		return inner
	}
	return filter
}

// canSeePresence applies Config.Presence: everyone sees themselves; all: every
// user; shared: users sharing a conversation; none: nobody else.
func (s *Service) canSeePresence(user, other string) bool {
	if user == other {
		return true
	}
	if s.blockedEither(user, other) {
		return false // block.go: presence is hidden both ways
	}
	switch s.cfg.Presence {
	case PresenceAll:
		return true
	case PresenceShared:
		ok, err := s.sharesConversation(user, other)
		if err != nil {
			s.log.Warn().Err(err).Str(logfield.User, user).Msg("im presence check failed")
			return false
		}
		return ok
	}
	return false
}

// sharesConversation reports whether user and other have a direct
// conversation or a group in common. It reads user's conversation index:
// O(conversations of user) reads.
func (s *Service) sharesConversation(user, other string) (bool, error) {
	if ok, err := s.exists(userConvKey(user, DirectConv(user, other).String())); ok || err != nil {
		return ok, err
	}
	var groups []string
	p := userConvPrefix(user)
	err := s.opts.Store.ScanRaw(append(p, "g:"...), persist.ScanOptions{}, func(k, _ []byte) error {
		groups = append(groups, string(k[len(p)+2:]))
		return nil
	})
	if err != nil {
		return false, err
	}
	for _, g := range groups {
		if ok, err := s.exists(memberKey(g, other)); ok || err != nil {
			return ok, err
		}
	}
	return false, nil
}
