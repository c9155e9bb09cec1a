package im

import (
	"fmt"
	"strings"
)

// maxNameLen bounds user names and group ids.
const maxNameLen = 64

// ValidName reports whether s can be an im user name or group id: 1..64 bytes of
// [A-Za-z0-9_.@-]. Such a name is safe as one MQTT topic level (no '/', '+',
// '#'), as a part of a conversation id (no ':') and inside store keys.
func ValidName(s string) bool {
	if len(s) == 0 || len(s) > maxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '_', c == '.', c == '@', c == '-':
		default:
			return false
		}
	}
	return true
}

// Conversation kinds.
const (
	ConvDirect = 'd'
	ConvGroup  = 'g'
)

// Conv is a parsed conversation id: "d:{a}:{b}" (a direct conversation between
// users a <= b, byte order; a == b is the user's notes to self) or "g:{group}".
// ':' is not a name character, so the syntax is unambiguous, and the id is one
// topic level.
type Conv struct {
	Kind  byte   // ConvDirect or ConvGroup
	A, B  string // direct: the two users, A <= B
	Group string // group: the group id
}

// String returns the canonical conversation id.
func (c Conv) String() string {
	if c.Kind == ConvGroup {
		return "g:" + c.Group
	}
	return "d:" + c.A + ":" + c.B
}

// Members of a direct conversation (one user for notes to self).
func (c Conv) directMembers() []string {
	if c.A == c.B {
		return []string{c.A}
	}
	return []string{c.A, c.B}
}

// has reports whether user is one of a direct conversation's two users.
func (c Conv) has(user string) bool { return c.A == user || c.B == user }

// peer returns the other user of a direct conversation.
func (c Conv) peer(user string) string {
	if c.A == user {
		return c.B
	}
	return c.A
}

// DirectConv returns the direct conversation of users a and b.
func DirectConv(a, b string) Conv {
	if b < a {
		a, b = b, a
	}
	return Conv{Kind: ConvDirect, A: a, B: b}
}

// GroupConv returns the conversation of group g.
func GroupConv(g string) Conv { return Conv{Kind: ConvGroup, Group: g} }

// ParseConv parses a canonical conversation id; anything else (unsorted users,
// invalid names, other prefixes) fails with ErrBadTopic.
func ParseConv(s string) (Conv, error) {
	switch {
	case strings.HasPrefix(s, "d:"):
		a, b, ok := strings.Cut(s[2:], ":")
		if !ok || !ValidName(a) || !ValidName(b) || b < a {
			return Conv{}, fmt.Errorf("%w: conversation %q", ErrBadTopic, clip(s))
		}
		return Conv{Kind: ConvDirect, A: a, B: b}, nil
	case strings.HasPrefix(s, "g:"):
		if !ValidName(s[2:]) {
			return Conv{}, fmt.Errorf("%w: conversation %q", ErrBadTopic, clip(s))
		}
		return Conv{Kind: ConvGroup, Group: s[2:]}, nil
	}
	return Conv{}, fmt.Errorf("%w: conversation %q", ErrBadTopic, clip(s))
}

// clip shortens client-supplied text quoted in reasons and logs.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
