package im

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

// Mentions (docs/protocol.md "Mentions", DESIGN.md "Mentions").
//
// A group message may carry "mentions": ["bob", "carol"] (members) or "all"
// (everyone; admins and the owner only). The stored envelope keeps the list
// (or "all") once, as sent minus the names that are not members (ignored: a
// member may have left while the message was typed) and the sender. On the
// live delivery to a mentioned member the envelope also has "mention": true,
// and the push event for them is sent even when they muted the conversation.

// maxMentions bounds the names of one message.
const maxMentions = 50

// MentionAll is the "mentions" value that mentions every member.
const MentionAll = "all"

// decodeMentions decodes the "mentions" field of a send: absent or null is
// none, the string "all" is everyone, an array is up to maxMentions valid user
// names (duplicates dropped, order kept). It never panics; every refusal wraps
// ErrBadPayload.
func decodeMentions(raw json.RawMessage) (names []string, all bool, err error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, false, nil
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil || s != MentionAll {
			return nil, false, fmt.Errorf("%w: mentions: a string must be %q", ErrBadPayload, MentionAll)
		}
		return nil, true, nil
	case '[':
		var list []string
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, false, fmt.Errorf("%w: mentions: want an array of user names: %v", ErrBadPayload, err)
		}
		if len(list) > maxMentions {
			return nil, false, fmt.Errorf("%w: mentions: %d names above %d", ErrBadPayload, len(list), maxMentions)
		}
		for _, n := range list {
			if !ValidName(n) {
				return nil, false, fmt.Errorf("%w: mentions: %q is not a user name", ErrBadPayload, clip(n))
			}
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
		return names, false, nil
	}
	return nil, false, fmt.Errorf("%w: mentions: want an array of user names or %q", ErrBadPayload, MentionAll)
}

// resolveMentions checks the mentions of user's message in conv and sets
// them on env: groups only; "all" needs an admin or the owner; names that are
// not members, and the sender, are dropped.
func (s *Service) resolveMentions(conv Conv, user string, raw json.RawMessage, env *Envelope) error {
	names, all, err := decodeMentions(raw)
	if err != nil || (len(names) == 0 && !all) {
		return err
	}
	if conv.Kind != ConvGroup {
		return fmt.Errorf("%w: mentions are for group messages", ErrBadPayload)
	}
	if all {
		me, ok, err := s.memberOf(conv.Group, user)
		if err != nil {
			return err
		}
		if !ok || roleRank(me.Role) < roleRank(RoleAdmin) {
			return fmt.Errorf("%w: only admins and the owner mention all", ErrForbidden)
		}
		env.MentionAll = true
		return nil
	}
	for _, n := range names {
		if n == user {
			continue
		}
		ok, err := s.exists(memberKey(conv.Group, n))
		if err != nil {
			return err
		}
		if ok {
			env.Mentions = append(env.Mentions, n)
		}
	}
	return nil
}

// mentioned reports whether the message mentions user (never its author).
func (e *Envelope) mentioned(user string) bool {
	if user == e.From {
		return false
	}
	return e.MentionAll || slices.Contains(e.Mentions, user)
}

// appendMentions appends the "mentions" field, if any.
func (e *Envelope) appendMentions(b []byte) []byte {
	switch {
	case e.MentionAll:
		b = appendStrField(b, "mentions", MentionAll, false)
	case len(e.Mentions) > 0:
		b = append(appendKey(b, "mentions", false), '[')
		for i, n := range e.Mentions {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, n)
		}
		b = append(b, ']')
	}
	return b
}

// withMention returns the delivered envelope payload with "mention":true
// added as its last field (the live copy for a mentioned member).
func withMention(payload []byte) []byte {
	if len(payload) < 2 || payload[len(payload)-1] != '}' {
		return payload
	}
	out := make([]byte, 0, len(payload)+16)
	out = append(out, payload[:len(payload)-1]...)
	return append(out, `,"mention":true}`...)
}
