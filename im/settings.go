package im

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/imqtt/imqtt/persist"
)

// Conversation settings per user (docs/protocol.md "Conversation settings",
// DESIGN.md "Conversation settings").
//
// Each setting is its own raw key, so two devices changing different settings
// at the same time cannot undo each other (no read-modify-write); the same
// setting changed twice ends as the later command in the log has it:
//
//	u/{user}/s/{conv}/m   be64 muted until (unix ms); 0 = until unmuted
//	u/{user}/s/{conv}/p   be64 pinned at (unix ms)
//	u/{user}/s/{conv}/a   be64 archived at (unix ms)
//	u/{user}/s/{conv}/n   custom name (direct conversations only)
//
// An absent key is the default (not muted, not pinned, not archived, no
// name). rpc conversation.set writes them in one command and then publishes
// the conversation's settings as they are now on im/u/{user}/prefs, so every
// device of the user follows; rpc conversations returns them.

// leafPrefs is the down leaf of settings and block events: im/u/{user}/prefs.
const leafPrefs = "prefs"

// Events on im/u/{user}/prefs.
const (
	prefsEventConversation = "conversation"
	prefsEventBlock        = "block"
)

// Setting fields (the last level of a settings key).
const (
	setMute    = "m"
	setPin     = "p"
	setArchive = "a"
	setName    = "n"
)

// maxConvNameLen bounds a custom conversation name, bytes.
const maxConvNameLen = 128

func settingsPrefix(user string) []byte { return []byte(pfxUser + user + "/s/") }

func convSettingsPrefix(user, conv string) []byte {
	return []byte(pfxUser + user + "/s/" + conv + "/")
}

func settingKey(user, conv, field string) []byte {
	return []byte(pfxUser + user + "/s/" + conv + "/" + field)
}

// convSettings is a user's settings of one conversation, as conversations,
// conversation.set and the prefs event return them. Zero values are omitted.
type convSettings struct {
	Mute       bool   `json:"mute,omitempty"`
	MuteUntil  int64  `json:"mute_until,omitempty"`
	Pin        bool   `json:"pin,omitempty"`
	PinnedAt   int64  `json:"pinned_at,omitempty"`
	Archive    bool   `json:"archive,omitempty"`
	ArchivedAt int64  `json:"archived_at,omitempty"`
	Name       string `json:"name,omitempty"`
}

func (c *convSettings) empty() bool { return *c == convSettings{} }

// set applies one stored setting (field, value) to c; now decides whether a
// mute has expired.
func (c *convSettings) set(field string, v []byte, now int64) {
	u := func() int64 {
		if len(v) != 8 {
			return 0
		}
		return int64(binary.BigEndian.Uint64(v))
	}
	switch field {
	case setMute:
		if until := u(); until == 0 || until > now {
			c.Mute, c.MuteUntil = true, until
		}
	case setPin:
		c.Pin, c.PinnedAt = true, u()
	case setArchive:
		c.Archive, c.ArchivedAt = true, u()
	case setName:
		c.Name = string(v)
	}
}

// settingsPatch is the "set" object of rpc conversation.set: only the fields
// present change.
type settingsPatch struct {
	Mute      *bool   `json:"mute"`
	MuteUntil *int64  `json:"mute_until"`
	Pin       *bool   `json:"pin"`
	Archive   *bool   `json:"archive"`
	Name      *string `json:"name"`
}

// decodeSettingsPatch decodes and checks the "set" object of
// conversation.set. It never panics; every refusal wraps ErrBadPayload.
func decodeSettingsPatch(raw json.RawMessage) (settingsPatch, error) {
	var p settingsPatch
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return p, fmt.Errorf("%w: set: required object", ErrBadPayload)
	}
	if err := decodeObject(raw, &p); err != nil {
		return p, fmt.Errorf("set: %w", err)
	}
	if p.Mute == nil && p.MuteUntil == nil && p.Pin == nil && p.Archive == nil && p.Name == nil {
		return p, fmt.Errorf("%w: set: nothing to change (mute, mute_until, pin, archive, name)", ErrBadPayload)
	}
	if p.MuteUntil != nil {
		if *p.MuteUntil <= 0 {
			return p, fmt.Errorf("%w: set: mute_until %d: must be unix ms > 0", ErrBadPayload, *p.MuteUntil)
		}
		if p.Mute != nil && !*p.Mute {
			return p, fmt.Errorf("%w: set: mute_until with mute false", ErrBadPayload)
		}
	}
	if p.Name != nil && (len(*p.Name) > maxConvNameLen || !printable(*p.Name)) {
		return p, fmt.Errorf("%w: set: name must be up to %d bytes of printable UTF-8", ErrBadPayload, maxConvNameLen)
	}
	return p, nil
}

// ops returns the writes of p for user's settings of conv at now.
func (p *settingsPatch) ops(user, conv string, now int64) []persist.Op {
	var ops []persist.Op
	put := func(field string, v []byte) { ops = append(ops, persist.PutRawOp(settingKey(user, conv, field), v, 0)) }
	del := func(field string) { ops = append(ops, persist.DeleteRawOp(settingKey(user, conv, field))) }
	switch {
	case p.MuteUntil != nil:
		put(setMute, be64(uint64(*p.MuteUntil)))
	case p.Mute != nil && *p.Mute:
		put(setMute, be64(0))
	case p.Mute != nil:
		del(setMute)
	}
	for _, f := range [...]struct {
		v     *bool
		field string
	}{{p.Pin, setPin}, {p.Archive, setArchive}} {
		switch {
		case f.v == nil:
		case *f.v:
			put(f.field, be64(uint64(now)))
		default:
			del(f.field)
		}
	}
	switch {
	case p.Name == nil:
	case *p.Name == "":
		del(setName)
	default:
		put(setName, []byte(*p.Name))
	}
	return ops
}

// convSetResult is the response of rpc conversation.set.
type convSetResult struct {
	Conv     string       `json:"conv"`
	Settings convSettings `json:"settings"`
}

// convSet: {conv, set: {mute?, mute_until?, pin?, archive?, name?}}. The
// caller must be in the conversation; name is for direct conversations (a
// group is renamed for everyone with group.rename).
func (s *Service) convSet(ctx context.Context, user string, req *rpcRequest) (any, error) {
	conv, err := ParseConv(req.Conv)
	if err != nil {
		return nil, fmt.Errorf("%w: conv %q", ErrBadPayload, clip(req.Conv))
	}
	p, err := decodeSettingsPatch(req.Set)
	if err != nil {
		return nil, err
	}
	if p.Name != nil && conv.Kind != ConvDirect {
		return nil, fmt.Errorf("%w: set: name is for direct conversations (group.rename renames a group)", ErrBadPayload)
	}
	now := s.nowMs()
	if p.MuteUntil != nil && *p.MuteUntil <= now {
		return nil, fmt.Errorf("%w: set: mute_until %d is not in the future", ErrBadPayload, *p.MuteUntil)
	}
	if err := s.checkMember(conv, user); err != nil {
		return nil, err
	}
	cs := conv.String()
	if _, err := s.apply(ctx, p.ops(user, cs, now)); err != nil {
		return nil, err
	}
	cur, err := s.convSettingsOf(user, cs)
	if err != nil {
		return nil, err
	}
	s.settingsEvent(user, cs, cur, now)
	return convSetResult{Conv: cs, Settings: cur}, nil
}

// convSettingsOf reads user's settings of conv.
func (s *Service) convSettingsOf(user, conv string) (convSettings, error) {
	var c convSettings
	now := s.nowMs()
	p := convSettingsPrefix(user, conv)
	err := s.opts.Store.ScanRaw(p, persist.ScanOptions{}, func(k, v []byte) error {
		c.set(string(k[len(p):]), v, now)
		return nil
	})
	if err != nil {
		return c, fmt.Errorf("%w: settings of %s in %s: %w", ErrStorage, user, conv, err)
	}
	return c, nil
}

// allSettings reads user's settings of every conversation that has any.
func (s *Service) allSettings(user string) (map[string]*convSettings, error) {
	out := map[string]*convSettings{}
	now := s.nowMs()
	p := settingsPrefix(user)
	err := s.opts.Store.ScanRaw(p, persist.ScanOptions{}, func(k, v []byte) error {
		conv, field, ok := cutLast(string(k[len(p):]))
		if !ok {
			return nil
		}
		c := out[conv]
		if c == nil {
			c = &convSettings{}
			out[conv] = c
		}
		c.set(field, v, now)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: settings of %s: %w", ErrStorage, user, err)
	}
	return out, nil
}

// cutLast splits s at its last '/'.
func cutLast(s string) (before, after string, ok bool) {
	i := strings.LastIndexByte(s, '/')
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+1:], true
}

// mutedFor reports whether user muted conv now (for the push decision). A
// read error counts as not muted (a push too many rather than a lost one).
func (s *Service) mutedFor(user, conv string) bool {
	v, err := s.opts.Store.GetRaw(settingKey(user, conv, setMute))
	if err != nil {
		if !errors.Is(err, persist.ErrNotFound) {
			s.log.Warn().Err(err).Msg("im mute check failed")
		}
		return false
	}
	var c convSettings
	c.set(setMute, v, s.nowMs())
	return c.Mute
}

// addPrefs fills the settings of user's conversations and, for direct ones,
// whether user blocked the peer (rpc conversations).
func (s *Service) addPrefs(user string, list []convInfo) error {
	set, err := s.allSettings(user)
	if err != nil {
		return err
	}
	blocked, err := s.blockedSet(user)
	if err != nil {
		return err
	}
	for i := range list {
		ci := &list[i]
		if c := set[ci.Conv]; c != nil && !c.empty() {
			ci.Settings = c
		}
		ci.Blocked = ci.Peer != "" && blocked[ci.Peer]
	}
	return nil
}

// settingsEvent tells user's devices the settings of conv after a change.
func (s *Service) settingsEvent(user, conv string, c convSettings, ts int64) {
	set, err := json.Marshal(c)
	if err != nil { // cannot happen for this type
		s.log.Error().Err(err).Msg("im settings event encoding failed")
		return
	}
	b := make([]byte, 0, 96+len(set))
	b = appendStrField(append(b, '{'), "event", prefsEventConversation, true)
	b = appendStrField(b, "conv", conv, false)
	b = append(appendKey(b, "settings", false), set...)
	b = appendIntField(b, "ts", ts, false)
	s.prefsEvent(user, append(b, '}'))
}

// prefsEvent publishes a prefs event to every device of user (QoS 1). The
// requesting device gets it too (and the rpc response): the event carries the
// state, not a delta, so applying it twice is harmless.
func (s *Service) prefsEvent(user string, payload []byte) {
	s.deliver(Delivery{Topic: userTopic(user, leafPrefs), Payload: payload, QoS: 1})
}
