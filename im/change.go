package im

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	"github.com/imqtt/imqtt/internal/logfield"
	"github.com/imqtt/imqtt/persist"
)

// Changes to a sent message: edit (edit.go), recall (recall.go) and
// reactions (reaction.go). Each is one command that appends an event (its
// own seq, Envelope.Target naming the changed message) to the conversation
// log and, in the same command, rewrites what the event changes (the stored
// message, the reaction state). DESIGN.md "Edit, recall and reactions".

// Keys of changes (DESIGN.md "Key schema"), one letter for all of them:
//
//	y/{conv}/e/{target be64}{edit id be64}   be64 seq of an edit event of target
//	y/{conv}/r/{target be64}{emoji}/{user}   empty: user reacted with emoji
const pfxChange = "y/"

func editIndexPrefix(conv string, target uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(pfxChange+conv+"/e/"), target)
}

func editIndexKey(conv string, target, editID uint64) []byte {
	return binary.BigEndian.AppendUint64(editIndexPrefix(conv, target), editID)
}

func reactionPrefix(conv string, target uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(pfxChange+conv+"/r/"), target)
}

func reactionKey(conv string, target uint64, emoji, user string) []byte {
	return append(append(append(reactionPrefix(conv, target), emoji...), '/'), user...)
}

// changeFields are the rpc fields of msg.edit, msg.recall and msg.react
// (embedded in rpcRequest; msg.edit's new text is rpcRequest.Body).
type changeFields struct {
	Seq    uint64 `json:"seq"`
	Emoji  string `json:"emoji"`
	Remove bool   `json:"remove"`
}

// isChangeType reports whether t is the type of a change event.
func isChangeType(t string) bool { return t == TypeEdit || t == TypeRecall || t == TypeReaction }

// checkTarget checks the conv and seq of a change request.
func checkTarget(req *rpcRequest) (Conv, error) {
	conv, err := ParseConv(req.Conv)
	if err != nil {
		return Conv{}, fmt.Errorf("%w: conv %q", ErrBadPayload, clip(req.Conv))
	}
	if req.Seq == 0 {
		return Conv{}, fmt.Errorf("%w: seq must be at least 1", ErrBadPayload)
	}
	return conv, nil
}

// changeResult is the response of msg.edit, msg.recall and msg.react: the
// event's id, seq and ts, and the changed message's seq. Changed is false
// (and the event fields empty) for a reaction that was already so.
type changeResult struct {
	Conv    string `json:"conv"`
	Target  uint64 `json:"target"`
	Changed bool   `json:"changed"`
	ID      string `json:"id,omitempty"`
	Seq     uint64 `json:"seq,omitempty"`
	TS      int64  `json:"ts,omitempty"`
}

// target is the message a change names, as read before proposing.
type target struct {
	conv Conv
	cs   string
	seq  uint64
	raw  []byte // the stored bytes (guarded by loadTarget's guards)
	env  Envelope
}

// loadTarget reads message seq of conv for a change by user: user must be a
// member, the message visible to them, and a message (not a notice or
// event). A recalled message is returned (its env.Recalled set). The
// message's bytes are read through gs: a command built on this read
// requires them unchanged when it applies.
func (s *Service) loadTarget(gs *guards, conv Conv, user string, seq uint64) (target, error) {
	if err := s.checkMember(conv, user); err != nil {
		return target{}, err
	}
	cs := conv.String()
	vis, err := s.visibleFrom(conv, user)
	if err != nil {
		return target{}, err
	}
	if seq < vis {
		return target{}, fmt.Errorf("%w: %s/%d", ErrNoMessage, cs, seq)
	}
	raw, ok, err := gs.raw(msgKey(cs, seq))
	if err != nil {
		return target{}, err
	}
	if !ok {
		return target{}, fmt.Errorf("%w: %s/%d", ErrNoMessage, cs, seq)
	}
	env, err := DecodeEnvelope(raw)
	if err != nil {
		return target{}, fmt.Errorf("%w: stored %s/%d: %w", ErrStorage, cs, seq, err)
	}
	if env.Type == TypeNotice || isChangeType(env.Type) {
		return target{}, fmt.Errorf("%w: %s/%d is a %s", ErrNotEditable, cs, seq, env.Type)
	}
	return target{conv: conv, cs: cs, seq: seq, raw: raw, env: env}, nil
}

// newEvent returns the event envelope of a change by user of t at now.
func (s *Service) newEvent(user string, t *target, typ string, now time.Time) Envelope {
	ev := Envelope{ID: s.ids.next(now), Conv: t.cs, From: user, TS: now.UnixMilli(), Type: typ, Target: t.seq}
	if t.conv.Kind == ConvDirect {
		ev.To = t.conv.peer(user)
	}
	return ev
}

// within reports whether a message sent at ts (unix ms) is still inside
// window at now; a zero window is always passed.
func within(ts int64, window time.Duration, now time.Time) bool {
	return window > 0 && now.UnixMilli()-ts <= window.Milliseconds()
}

// commitEvent proposes one command: guards, then the append of ev (raising
// the author's cursors and the extra raise keys to its seq), then rewrites;
// and after commit delivers ev to the conversation's members. It sets
// ev.Seq. A failing guard returns an error wrapping persist.ErrConflict
// (nothing was written).
func (s *Service) commitEvent(ctx context.Context, t *target, ev *Envelope, guards, rewrites []persist.Op, raise ...[]byte) error {
	raise = append(raise, readKey(t.cs, ev.From), deliveredKey(t.cs, ev.From))
	ops := make([]persist.Op, 0, len(guards)+1+len(rewrites))
	ops = append(ops, guards...)
	ops = append(ops, persist.AppendRawOp(counterKey(t.cs), msgPrefix(t.cs), nil,
		ev.appendStored(make([]byte, 0, 160+len(ev.Body))), 0, raise...))
	ops = append(ops, rewrites...)
	rs, err := s.apply(ctx, ops)
	if err != nil {
		return err
	}
	ev.Seq = rs[len(guards)].Seq
	members, err := s.convMembers(t.conv)
	if err != nil {
		// Committed: the answer must go out; devices that miss the event sync.
		s.log.Warn().Err(err).Str(logfield.Conv, t.cs).Uint64(logfield.Seq, ev.Seq).Msg("im fanout skipped")
		members = nil
	}
	s.fanout(members, ev, ev.AppendJSON(make([]byte, 0, 160+len(ev.Body))), "")
	return nil
}

// eventResult is the changeResult of a committed event.
func eventResult(t *target, ev *Envelope) changeResult {
	return changeResult{Conv: t.cs, Target: t.seq, Changed: true,
		ID: strconv.FormatUint(ev.ID, 10), Seq: ev.Seq, TS: ev.TS}
}
