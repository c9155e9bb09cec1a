package im

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/imqtt/imqtt/internal/logfield"
	"github.com/imqtt/imqtt/persist"
)

// Apply-time checks for decisions made from read state (DESIGN.md "Guards").
// One implementation for every request that decides on read state: the group
// changes (group.go) and the message changes (edit.go, recall.go).
//
// A group change reads records (the actor's member record and role, the
// target's, the group meta), decides, and proposes. Between the read and the
// apply another command may change those records: two hand-overs of the same
// ownership would both pass a check made before proposing. So every record a
// decision read goes into the command as a persist guard (require_raw: the
// key must still hold the bytes that were read, or still be absent); a guard
// that no longer holds fails the whole command with persist.ErrConflict and
// nothing is written. guarded then reads again and decides again, up to
// maxGuardAttempts times: the second decision sees the first change and
// answers what the rules say for the new state (0x87 "only the owner sets
// roles", 0x83 "not a member", ...). If the records keep changing under it,
// the answer is ErrConflict (0x83) and the client may retry.

// maxGuardAttempts bounds how often one request re-reads and re-decides after
// its guards failed.
const maxGuardAttempts = 5

// guardBackoff is the pause before the n-th retry (n * guardBackoff): on a
// follower the local store may not have applied the command that won yet.
const guardBackoff = 2 * time.Millisecond

// guards collects the guards of one decision: every record read through it is
// required unchanged when the command applies.
type guards struct {
	s   *Service
	ops []persist.Op
}

// raw reads raw key and guards its current value (or its absence).
func (gs *guards) raw(key []byte) ([]byte, bool, error) {
	v, err := gs.s.opts.Store.GetRaw(key)
	if errors.Is(err, persist.ErrNotFound) {
		gs.ops = append(gs.ops, persist.RequireRawAbsentOp(key))
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("%w: read %q: %w", ErrStorage, key, err)
	}
	gs.ops = append(gs.ops, persist.RequireRawOp(key, v))
	return v, true, nil
}

// json reads the JSON record under key into v and guards it.
func (gs *guards) json(key []byte, v any) (bool, error) {
	b, ok, err := gs.raw(key)
	if err != nil || !ok {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("%w: decode %q: %w", ErrStorage, key, err)
	}
	return true, nil
}

// member reads user's member record in g and guards it (ok false: not a
// member, and the command requires that it still is not).
func (gs *guards) member(g, user string) (memberRec, bool, error) {
	var m memberRec
	ok, err := gs.json(memberKey(g, user), &m)
	return m, ok, err
}

// actor is Service.actor with a guard: user's member record, or ErrNotMember.
func (gs *guards) actor(g, user string) (memberRec, error) {
	m, ok, err := gs.member(g, user)
	if err != nil {
		return m, err
	}
	if !ok {
		return m, fmt.Errorf("%w: group %s", ErrNotMember, g)
	}
	return m, nil
}

// meta reads the group's meta record and guards it.
func (gs *guards) meta(g string) (groupMeta, bool, error) {
	var m groupMeta
	ok, err := gs.json(groupMetaKey(g), &m)
	return m, ok, err
}

// guardScope names what a guarded request changes: the log field and id of
// its log lines, and the word of its refusal.
type guardScope struct {
	field, id, what string
}

func groupScope(g string) guardScope { return guardScope{field: logfield.Group, id: g, what: "group"} }

func messageScope(conv string) guardScope {
	return guardScope{field: logfield.Conv, id: conv, what: "message"}
}

// with returns the guards followed by ops: a command whose guards come first,
// as persist requires.
func (gs *guards) with(ops []persist.Op) []persist.Op {
	return append(append(make([]persist.Op, 0, len(gs.ops)+len(ops)), gs.ops...), ops...)
}

// guarded runs decide (read through gs, decide, propose gs.with(ops)) until its
// command is not refused by a guard, at most maxGuardAttempts times.
func (s *Service) guarded(ctx context.Context, sc guardScope, decide func(gs *guards) (any, error)) (any, error) {
	for attempt := 1; ; attempt++ {
		res, err := decide(&guards{s: s})
		if !errors.Is(err, persist.ErrConflict) {
			return res, err
		}
		if attempt == maxGuardAttempts {
			s.log.Warn().Str(sc.field, sc.id).Int(logfield.Count, attempt).Msg("im guarded change gave up on concurrent changes")
			// The guard's details (op index, key) are not the client's business.
			return nil, fmt.Errorf("%w: the %s changed during the request %d times; retry", ErrConflict, sc.what, attempt)
		}
		s.log.Debug().Str(sc.field, sc.id).Int(logfield.Count, attempt).Msg("im guarded change re-decided after a concurrent change")
		t := time.NewTimer(time.Duration(attempt) * guardBackoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%w: %w", ErrStorage, ctx.Err())
		case <-s.life.Done():
			t.Stop()
			return nil, ErrClosed
		}
	}
}
