package im

import (
	"strings"

	"github.com/imqtt/imqtt/internal/logfield"
	"github.com/imqtt/imqtt/internal/mqtttopic"
	"github.com/imqtt/imqtt/persist"
)

// The built-in access rules of the im/ tree (docs/protocol.md "Access").
// Nobody but the server publishes into im/u/..., im/presence/... or
// im/notify/...; every other publish under im/ reaches Handle, which
// processes the up topics and answers anything else with 0x90 and an ack.

// serverTree reports whether first (the level after im/) is a tree only the
// server publishes to (the down topics); a client publish there is refused
// by the access check, before Handle, so it is never routed nor answered.
func serverTree(first string) bool {
	switch first {
	case "u", "presence", "notify":
		return true
	}
	return false
}

// CanPublish reports whether user (a valid user name) may PUBLISH to topic
// under im/: anything but the server's trees im/u/..., im/presence/... and
// im/notify/.... Handle then answers a topic that is not a well-formed up
// topic (an unknown method, an invalid user, group or conversation id, an
// unknown level) with ErrBadTopic (0x90) on the PUBACK and the ack topic;
// membership is checked by Handle too.
func (s *Service) CanPublish(user, topic string) bool {
	if !ValidName(user) {
		return false
	}
	rest, ok := strings.CutPrefix(topic, "im/")
	if !ok {
		return topic == "im"
	}
	first, _, _ := strings.Cut(rest, "/")
	return !serverTree(first)
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
