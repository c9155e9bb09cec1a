package im

import (
	"context"
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
	return s.guarded(ctx, messageScope(conv.String()), func(gs *guards) (any, error) {
		now := s.now()
		t, err := s.loadTarget(gs, conv, user, req.Seq)
		if err != nil {
			return nil, err
		}
		if t.env.Recalled {
			return nil, fmt.Errorf("%w: %s/%d is recalled already", ErrNotEditable, t.cs, t.seq)
		}
		if err := mayRecall(gs, &t, user, s.cfg.RecallWindow, now); err != nil {
			return nil, err
		}
		rewrites, err := s.erasures(&t)
		if err != nil {
			return nil, err
		}
		ev := s.newEvent(user, &t, TypeRecall, now)
		if err := s.commitEvent(ctx, &t, &ev, gs.ops, rewrites); err != nil {
			return nil, err
		}
		return eventResult(&t, &ev), nil
	})
}

// mayRecall decides whether user may recall t at now: the sender within the
// window reads nothing more; a group owner or admin (any message, no
// window) is decided on their member record, read through gs, so a demotion
// committed before the recall applies refuses it.
func mayRecall(gs *guards, t *target, user string, window time.Duration, now time.Time) error {
	own := t.env.From == user
	if own && within(t.env.TS, window, now) {
		return nil
	}
	if t.conv.Kind == ConvGroup {
		m, _, err := gs.member(t.conv.Group, user)
		if err != nil {
			return err
		}
		if roleRank(m.Role) >= roleRank(RoleAdmin) {
			return nil
		}
	}
	if own {
		return fmt.Errorf("%w: recall window of %s over for %s/%d", ErrTooLate, window, t.cs, t.seq)
	}
	return fmt.Errorf("%w: only the sender or a group admin may recall %s/%d", ErrForbidden, t.cs, t.seq)
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
