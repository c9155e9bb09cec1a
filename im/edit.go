package im

import (
	"context"
	"fmt"
	"time"

	"github.com/imqtt/imqtt/persist"
)

// msgEdit: {conv, seq, body}. The sender replaces the body of their text
// message seq within Config.EditWindow. One command: guard (the message is
// as read), append the edit event (type edit, target seq, the new body),
// rewrite the stored message (new body, edited_ts), and index the event
// under the message (y/{conv}/e/...) so a recall can erase its body too.
func (s *Service) msgEdit(ctx context.Context, user string, req *rpcRequest) (any, error) {
	conv, body, err := checkEdit(req, s.cfg.MaxBodyBytes)
	if err != nil {
		return nil, err
	}
	if s.opts.Filter != nil {
		out, reject := s.opts.Filter.Filter(body)
		if reject {
			return nil, ErrRejected
		}
		if len(out) > s.cfg.MaxBodyBytes || out == "" {
			return nil, fmt.Errorf("%w: filtered body of %d bytes", ErrRejected, len(out))
		}
		body = out
	}
	// Guarded (guard.go): another change of the message committed between
	// the read and the apply makes the request read and decide again.
	return s.guarded(ctx, messageScope(conv.String()), func(gs *guards) (any, error) {
		now := s.now()
		t, err := s.loadTarget(gs, conv, user, req.Seq)
		if err != nil {
			return nil, err
		}
		if err := mayEdit(&t, user, s.cfg.EditWindow, now); err != nil {
			return nil, err
		}
		ev := s.newEvent(user, &t, TypeEdit, now)
		ev.Body = body
		edited := t.env
		edited.Seq, edited.Body, edited.EditedTS = 0, body, ev.TS
		rewrite := persist.PutRawOp(msgKey(t.cs, t.seq), edited.appendStored(make([]byte, 0, 160+len(body))), 0)
		err = s.commitEvent(ctx, &t, &ev, gs.ops, []persist.Op{rewrite}, editIndexKey(t.cs, t.seq, ev.ID))
		if err != nil {
			return nil, err
		}
		return eventResult(&t, &ev), nil
	})
}

// checkEdit checks the fields of a msg.edit request.
func checkEdit(req *rpcRequest, maxBody int) (Conv, string, error) {
	conv, err := checkTarget(req)
	if err != nil {
		return conv, "", err
	}
	if req.Body == "" {
		return conv, "", fmt.Errorf("%w: empty body", ErrBadPayload)
	}
	if len(req.Body) > maxBody {
		return conv, "", fmt.Errorf("%w: body of %d bytes above %d", ErrTooLarge, len(req.Body), maxBody)
	}
	return conv, req.Body, nil
}

// mayEdit decides whether user may edit t at now.
func mayEdit(t *target, user string, window time.Duration, now time.Time) error {
	switch {
	case t.env.From != user:
		return fmt.Errorf("%w: only the sender may edit %s/%d", ErrForbidden, t.cs, t.seq)
	case t.env.Recalled:
		return fmt.Errorf("%w: %s/%d is recalled", ErrNotEditable, t.cs, t.seq)
	case t.env.Type != TypeText:
		return fmt.Errorf("%w: %s/%d is not a text message", ErrNotEditable, t.cs, t.seq)
	case !within(t.env.TS, window, now):
		return fmt.Errorf("%w: edit window of %s over for %s/%d", ErrTooLate, window, t.cs, t.seq)
	}
	return nil
}
