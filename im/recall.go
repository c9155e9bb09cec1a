package im

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/imqtt/imqtt/persist"
)

// msgRecall: {conv, seq}. The sender recalls their message seq within
// Config.RecallWindow; a group's owner or admin recalls any message of the
// group at any time. One command: guards (the message as read; for an
// admin, their member record as read), append the recall event (type
// recall, target seq), replace the stored message by its tombstone (the
// envelope without body, recalled: true) and erase the body of every edit
// event of the message. The body is gone from the store, not hidden.
func (s *Service) msgRecall(ctx context.Context, user string, req *rpcRequest) (any, error) {
	conv, err := checkTarget(req)
	if err != nil {
		return nil, err
	}
	var res changeResult
	err = retryConflict(func() error {
		now := s.now()
		t, err := s.loadTarget(conv, user, req.Seq)
		if err != nil {
			return err
		}
		if t.env.Recalled {
			return fmt.Errorf("%w: %s/%d is recalled already", ErrNotEditable, t.cs, t.seq)
		}
		guards, err := s.mayRecall(&t, user, s.cfg.RecallWindow, now)
		if err != nil {
			return err
		}
		guards = append(guards, requireRaw(msgKey(t.cs, t.seq), t.raw)...)
		rewrites, err := s.erasures(&t)
		if err != nil {
			return err
		}
		ev := s.newEvent(user, &t, TypeRecall, now)
		err = s.commitEvent(ctx, &t, &ev, guards, rewrites)
		if err == nil {
			res = eventResult(&t, &ev)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// mayRecall decides whether user may recall t at now and returns the guards
// of that decision: the sender within the window needs none; a group owner
// or admin (any message, no window) needs their member record unchanged at
// apply time (a demotion committed in between refuses the recall).
func (s *Service) mayRecall(t *target, user string, window time.Duration, now time.Time) ([]persist.Op, error) {
	own := t.env.From == user
	if own && within(t.env.TS, window, now) {
		return nil, nil
	}
	if t.conv.Kind == ConvGroup {
		key := memberKey(t.conv.Group, user)
		raw, err := s.opts.Store.GetRaw(key)
		if err != nil && !errors.Is(err, persist.ErrNotFound) {
			return nil, fmt.Errorf("%w: read %q: %w", ErrStorage, key, err)
		}
		var m memberRec
		if err == nil {
			if err := json.Unmarshal(raw, &m); err != nil {
				return nil, fmt.Errorf("%w: decode %q: %w", ErrStorage, key, err)
			}
		}
		if roleRank(m.Role) >= roleRank(RoleAdmin) {
			return requireRaw(key, raw), nil
		}
	}
	if own {
		return nil, fmt.Errorf("%w: recall window of %s over for %s/%d", ErrTooLate, window, t.cs, t.seq)
	}
	return nil, fmt.Errorf("%w: only the sender or a group admin may recall %s/%d", ErrForbidden, t.cs, t.seq)
}

// erasures returns the rewrites of a recall: t's tombstone, and every edit
// event of t without its body.
func (s *Service) erasures(t *target) ([]persist.Op, error) {
	tomb := t.env
	tomb.Seq, tomb.Body, tomb.EditedTS, tomb.Recalled = 0, "", 0, true
	ops := []persist.Op{persist.PutRawOp(msgKey(t.cs, t.seq), tomb.appendStored(make([]byte, 0, 160)), 0)}
	var edits []uint64
	err := s.opts.Store.ScanRaw(editIndexPrefix(t.cs, t.seq), persist.ScanOptions{}, func(_, v []byte) error {
		if len(v) != 8 {
			return fmt.Errorf("edit index value of %d bytes", len(v))
		}
		edits = append(edits, seqOfMsgKey(v))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: edits of %s/%d: %w", ErrStorage, t.cs, t.seq, err)
	}
	for _, seq := range edits {
		raw, err := s.opts.Store.GetRaw(msgKey(t.cs, seq))
		if err != nil {
			return nil, fmt.Errorf("%w: read edit %s/%d: %w", ErrStorage, t.cs, seq, err)
		}
		ev, err := DecodeEnvelope(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: stored edit %s/%d: %w", ErrStorage, t.cs, seq, err)
		}
		ev.Seq, ev.Body, ev.Recalled = 0, "", true
		ops = append(ops, persist.PutRawOp(msgKey(t.cs, seq), ev.appendStored(make([]byte, 0, 160)), 0))
	}
	return ops, nil
}
