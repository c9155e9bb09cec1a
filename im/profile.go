package im

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/imqtt/imqtt/internal/logfield"
	"github.com/imqtt/imqtt/persist"
)

// User profiles (docs/protocol.md "Profiles", DESIGN.md "Profiles").
//
// Each field is its own raw key, so two devices changing different fields at
// the same time cannot undo each other (no read-modify-write), as for the
// conversation settings:
//
//	w/{user}/d   display name (UTF-8)
//	w/{user}/a   avatar URL
//	w/{user}/s   status text
//	w/{user}/t   be64 unix ms of the latest profile.set
//
// An absent key is an unset field. rpc profile.set writes the fields present
// in one command through raft (Service.apply) and then publishes the profile as
// it is now on im/u/{x}/profile of the user's own devices (QoS 1) and of every
// contact who may see it (QoS 0). rpc profile.get reads profiles; who may read
// whose is the presence policy (canSeePresence).
//
// The prefix is w/ ("who"), not p/: p/{user}/{node} are the presence records
// (presence.go), and clearOwnPresence matches p/ keys by their last level.

// Profile rpc methods.
const (
	MethodProfileSet = "profile.set"
	MethodProfileGet = "profile.get"
)

// leafProfile is the down leaf of profile events: im/u/{user}/profile.
const leafProfile = "profile"

// profileEventName is the "event" of a profile event.
const profileEventName = "profile"

// pfxProfile is the raw prefix of profiles.
const pfxProfile = "w/"

// Profile fields (the last level of a profile key).
const (
	profDisplayName = "d"
	profAvatar      = "a"
	profStatus      = "s"
	profUpdated     = "t"
)

// Bounds of the profile fields and requests.
const (
	maxDisplayNameRunes = 64
	maxDisplayNameBytes = 256
	maxStatusRunes      = 140
	maxStatusBytes      = 560
	maxAvatarLen        = 2048
	// maxProfileGet bounds the users of one profile.get.
	maxProfileGet = 100
	// maxProfileFanout bounds the contacts told about one profile change.
	maxProfileFanout = 10_000
)

func profilePrefix(user string) []byte { return []byte(pfxProfile + user + "/") }

func profileKey(user, field string) []byte { return []byte(pfxProfile + user + "/" + field) }

// profile is a user's profile as profile.get, profile.set and the profile
// event return it. Unset fields are omitted; Updated is 0 for a user who never
// set a profile.
type profile struct {
	User        string `json:"user"`
	DisplayName string `json:"display_name,omitempty"`
	Avatar      string `json:"avatar,omitempty"`
	Status      string `json:"status,omitempty"`
	Updated     int64  `json:"updated,omitempty"`
}

// set applies one stored field to p.
func (p *profile) set(field string, v []byte) {
	switch field {
	case profDisplayName:
		p.DisplayName = string(v)
	case profAvatar:
		p.Avatar = string(v)
	case profStatus:
		p.Status = string(v)
	case profUpdated:
		if len(v) == 8 {
			p.Updated = int64(binary.BigEndian.Uint64(v))
		}
	}
}

// profileFields are the fields of rpc profile.set (embedded in rpcRequest):
// only the fields present change; "" clears one.
type profileFields struct {
	DisplayName *string `json:"display_name"`
	Avatar      *string `json:"avatar"`
	Status      *string `json:"status"`
}

// checkProfilePatch checks the fields of profile.set. It never panics; every
// refusal wraps ErrBadPayload.
func checkProfilePatch(p *profileFields) error {
	if p.DisplayName == nil && p.Avatar == nil && p.Status == nil {
		return fmt.Errorf("%w: nothing to change (display_name, avatar, status)", ErrBadPayload)
	}
	if p.DisplayName != nil {
		if err := checkProfileText("display_name", *p.DisplayName, maxDisplayNameRunes, maxDisplayNameBytes); err != nil {
			return err
		}
	}
	if p.Status != nil {
		if err := checkProfileText("status", *p.Status, maxStatusRunes, maxStatusBytes); err != nil {
			return err
		}
	}
	if p.Avatar != nil && *p.Avatar != "" {
		if err := checkAvatar(*p.Avatar); err != nil {
			return err
		}
	}
	return nil
}

// checkProfileText checks a display name or status: valid UTF-8 of at most
// maxRunes characters and maxBytes bytes, no control characters (C0, C1), no
// line or paragraph separators, no bidirectional overrides or isolates (they
// would let a name render as another), no leading or trailing space. "" is
// valid (it clears the field).
func checkProfileText(field, s string, maxRunes, maxBytes int) error {
	if s == "" {
		return nil
	}
	if len(s) > maxBytes || !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxRunes {
		return fmt.Errorf("%w: %s must be up to %d characters (%d bytes) of UTF-8", ErrBadPayload, field, maxRunes, maxBytes)
	}
	for _, r := range s {
		if !profileRune(r) {
			return fmt.Errorf("%w: %s: character %U not allowed", ErrBadPayload, field, r)
		}
	}
	if strings.TrimSpace(s) != s {
		return fmt.Errorf("%w: %s must not start or end with a space", ErrBadPayload, field)
	}
	return nil
}

// profileRune reports whether r may appear in a display name or status.
func profileRune(r rune) bool {
	switch {
	case unicode.IsControl(r): // C0, DEL, C1
		return false
	case r == '\u2028' || r == '\u2029': // line, paragraph separator
		return false
	case r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069', r == '\u200e' || r == '\u200f':
		return false // bidirectional embeddings, overrides, isolates, marks
	case r == '\ufeff', r == utf8.RuneError:
		return false
	}
	return true
}

// checkAvatar checks an avatar URL: an absolute https URL with a host, no user
// info, at most maxAvatarLen bytes of printable ASCII without spaces
// (percent-encode the rest).
func checkAvatar(s string) error {
	bad := func(why string) error {
		return fmt.Errorf("%w: avatar must be an https URL of up to %d bytes: %s", ErrBadPayload, maxAvatarLen, why)
	}
	if len(s) > maxAvatarLen {
		return bad("too long")
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return bad("space, control or non-ASCII byte (percent-encode it)")
		}
	}
	rest, ok := strings.CutPrefix(s, "https://")
	if !ok {
		return bad("scheme is not https://")
	}
	host, _, _ := strings.Cut(rest, "/")
	host, _, _ = strings.Cut(host, "?")
	host, _, _ = strings.Cut(host, "#")
	switch {
	case strings.Contains(host, "@"):
		return bad("user info")
	case host == "" || strings.HasPrefix(host, ":"):
		return bad("no host")
	case strings.ContainsAny(host, "\\%"):
		return bad("bad host")
	}
	return nil
}

// ops returns the writes of p for user's profile at now: put or delete each
// field present, and the update time.
func (p *profileFields) ops(user string, now int64) []persist.Op {
	var ops []persist.Op
	for _, f := range [...]struct {
		v     *string
		field string
	}{{p.DisplayName, profDisplayName}, {p.Avatar, profAvatar}, {p.Status, profStatus}} {
		switch {
		case f.v == nil:
		case *f.v == "":
			ops = append(ops, persist.DeleteRawOp(profileKey(user, f.field)))
		default:
			ops = append(ops, persist.PutRawOp(profileKey(user, f.field), []byte(*f.v), 0))
		}
	}
	return append(ops, persist.PutRawOp(profileKey(user, profUpdated), be64(uint64(now)), 0))
}

// profileSetResult is the response of profile.set.
type profileSetResult struct {
	Profile profile `json:"profile"`
}

// profileSet: {display_name?, avatar?, status?}. One command writes the
// fields present; the profile as it is then is answered and published.
func (s *Service) profileSet(ctx context.Context, user string, req *rpcRequest) (any, error) {
	if err := checkProfilePatch(&req.profileFields); err != nil {
		return nil, err
	}
	now := s.nowMs()
	if _, err := s.apply(ctx, req.profileFields.ops(user, now)); err != nil {
		return nil, err
	}
	p, err := s.profileOf(user)
	if err != nil {
		return nil, err
	}
	s.profileEvent(user, p)
	return profileSetResult{Profile: p}, nil
}

// profilesResult is the response of profile.get.
type profilesResult struct {
	Profiles []profile `json:"profiles"`
}

// decodeProfileUsers checks the users of profile.get: 1..maxProfileGet
// valid names (none: the caller), returned without repeats in request order.
func decodeProfileUsers(user string, users []string) ([]string, error) {
	if len(users) == 0 {
		return []string{user}, nil
	}
	if len(users) > maxProfileGet {
		return nil, fmt.Errorf("%w: users: at most %d", ErrBadPayload, maxProfileGet)
	}
	out := make([]string, 0, len(users))
	seen := make(map[string]bool, len(users))
	for _, u := range users {
		if !ValidName(u) {
			return nil, fmt.Errorf("%w: users: invalid user %q", ErrBadPayload, clip(u))
		}
		if !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	return out, nil
}

// profileGet: {users?}. Profiles the caller may not see are left out (a
// stranger's profile answers nothing, not 0x87, so a request for several
// users is not refused for one of them); the caller's own is always there.
func (s *Service) profileGet(user string, req *rpcRequest) (any, error) {
	users, err := decodeProfileUsers(user, req.Users)
	if err != nil {
		return nil, err
	}
	res := profilesResult{Profiles: make([]profile, 0, len(users))}
	for _, u := range users {
		if !s.canSeePresence(user, u) {
			continue
		}
		p, err := s.profileOf(u)
		if err != nil {
			return nil, err
		}
		res.Profiles = append(res.Profiles, p)
	}
	return res, nil
}

// profileOf reads user's profile (one prefix scan).
func (s *Service) profileOf(user string) (profile, error) {
	p := profile{User: user}
	pre := profilePrefix(user)
	err := s.opts.Store.ScanRaw(pre, persist.ScanOptions{}, func(k, v []byte) error {
		p.set(string(k[len(pre):]), v)
		return nil
	})
	if err != nil {
		return p, fmt.Errorf("%w: profile of %s: %w", ErrStorage, user, err)
	}
	return p, nil
}

// displayName returns user's display name ("" when unset).
func (s *Service) displayName(user string) (string, error) {
	v, err := s.opts.Store.GetRaw(profileKey(user, profDisplayName))
	if errors.Is(err, persist.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("%w: display name of %s: %w", ErrStorage, user, err)
	}
	return string(v), nil
}

// contactSees reports whether viewer may see the profile of other, a user
// known to share a conversation with viewer (a conversation peer, a fellow
// group member): canSeePresence without its conversation scan.
func (s *Service) contactSees(viewer, other string) bool {
	if viewer == other {
		return true
	}
	if s.cfg.Presence == PresenceNone {
		return false
	}
	return !s.blockedEither(viewer, other)
}

// contactName is other's display name as viewer, who shares a conversation
// with other, may see it.
func (s *Service) contactName(viewer, other string) (string, error) {
	if !s.contactSees(viewer, other) {
		return "", nil
	}
	return s.displayName(other)
}

// addDisplayNames fills the display name of the peer of each direct
// conversation in list (rpc conversations).
func (s *Service) addDisplayNames(user string, list []convInfo) error {
	for i := range list {
		ci := &list[i]
		if ci.Peer == "" {
			continue
		}
		n, err := s.contactName(user, ci.Peer)
		if err != nil {
			return err
		}
		ci.DisplayName = n
	}
	return nil
}

// addMemberNames fills the display name of each group member (group.members).
func (s *Service) addMemberNames(user string, ms []memberInfo) error {
	for i := range ms {
		n, err := s.contactName(user, ms[i].User)
		if err != nil {
			return err
		}
		ms[i].DisplayName = n
	}
	return nil
}

// contacts lists the users who share a conversation with user (direct peers,
// members of user's groups), without user, at most limit of them; more is
// true when some were left out.
func (s *Service) contacts(user string, limit int) (out []string, more bool, err error) {
	convs, err := s.userConvs(user)
	if err != nil {
		return nil, false, err
	}
	seen := map[string]bool{user: true}
	add := func(u string) bool {
		if seen[u] {
			return true
		}
		if len(out) == limit {
			return false
		}
		seen[u] = true
		out = append(out, u)
		return true
	}
	for _, cs := range convs {
		c, err := ParseConv(cs)
		if err != nil {
			continue
		}
		if c.Kind == ConvDirect {
			if !add(c.peer(user)) {
				return out, true, nil
			}
			continue
		}
		ms, err := s.members(c.Group)
		if err != nil {
			return out, false, err
		}
		for _, m := range ms {
			if !add(m.User) {
				return out, true, nil
			}
		}
	}
	return out, false, nil
}

// profileEvent publishes user's profile on im/u/{x}/profile: to user's own
// devices (QoS 1, the requesting one included) and to each contact who may
// see it (QoS 0: a device that misses it reads the name from conversations,
// group.members or profile.get).
func (s *Service) profileEvent(user string, p profile) {
	b := make([]byte, 0, 128+len(p.DisplayName)+len(p.Avatar)+len(p.Status))
	b = appendStrField(append(b, '{'), "event", profileEventName, true)
	b = appendStrField(b, "user", p.User, false)
	if p.DisplayName != "" {
		b = appendStrField(b, "display_name", p.DisplayName, false)
	}
	if p.Avatar != "" {
		b = appendStrField(b, "avatar", p.Avatar, false)
	}
	if p.Status != "" {
		b = appendStrField(b, "status", p.Status, false)
	}
	b = append(appendIntField(b, "updated", p.Updated, false), '}')
	s.deliver(Delivery{Topic: userTopic(user, leafProfile), Payload: b, QoS: 1})
	if s.cfg.Presence == PresenceNone {
		return
	}
	cs, more, err := s.contacts(user, maxProfileFanout)
	if err != nil {
		s.log.Warn().Err(err).Str(logfield.User, user).Msg("im profile contacts read failed")
	}
	if more {
		s.log.Warn().Str(logfield.User, user).Int(logfield.Count, len(cs)).Msg("im profile event not sent to every contact")
	}
	for _, c := range cs {
		if s.blockedEither(user, c) {
			continue
		}
		s.deliver(Delivery{Topic: userTopic(c, leafProfile), Payload: b, QoS: 0})
	}
}
