package im

import (
	"context"
	"fmt"

	"github.com/imqtt/imqtt/internal/logfield"
	"github.com/imqtt/imqtt/persist"
)

// receiptScanMax bounds how many messages a group read receipt scans to find
// the authors to tell (DESIGN.md "Receipts").
const receiptScanMax = 500

// handleReceipt handles im/receipt/{conv}: raise the user's delivered (and, for
// read, read) cursor to seq and, if it moved, tell the user's devices and the
// authors of the messages it covers. Only refusals are acked.
func (s *Service) handleReceipt(ctx context.Context, c Client, r *Request, conv Conv) Outcome {
	p, err := decodeReceipt(r.Payload)
	if err == nil {
		err = s.receipt(ctx, c.User, conv, p)
	}
	if err != nil {
		return s.refuse(c, r, "", "", err)
	}
	return Outcome{}
}

func (s *Service) receipt(ctx context.Context, user string, conv Conv, p receiptPayload) error {
	if err := s.checkMember(conv, user); err != nil {
		return err
	}
	cs := conv.String()
	last, err := s.lastSeq(cs)
	if err != nil {
		return err
	}
	if p.Seq > last {
		return fmt.Errorf("%w: seq %d above the last seq %d of %s", ErrOutOfRange, p.Seq, last, cs)
	}
	key := deliveredKey(cs, user)
	if p.Type == ReceiptRead {
		key = readKey(cs, user)
	}
	old, err := s.getU64(key)
	if err != nil {
		return err
	}
	ops := []persist.Op{persist.MaxRawOp(key, p.Seq)}
	if p.Type == ReceiptRead { // read implies delivered
		ops = append(ops, persist.MaxRawOp(deliveredKey(cs, user), p.Seq))
	}
	rs, err := s.apply(ctx, ops)
	if err != nil {
		return err
	}
	if rs[0].Found {
		return nil // the cursor was already there: nobody to tell
	}
	b := make([]byte, 0, 128)
	b = appendStrField(append(b, '{'), "conv", cs, true)
	b = appendStrField(b, "user", user, false)
	b = appendStrField(b, "type", p.Type, false)
	b = appendUintField(b, "seq", rs[0].Seq, false)
	b = appendIntField(b, "ts", s.nowMs(), false)
	b = append(b, '}')
	for _, to := range s.receiptAudience(conv, user, old, rs[0].Seq) {
		s.deliver(Delivery{Topic: userTopic(to, leafReceipt), Payload: b, QoS: 1})
	}
	return nil
}

// receiptAudience is who hears that user's cursor moved from old to seq: the
// user (other devices), the peer of a direct conversation, and in a group the
// authors of the messages in (old, seq] (at most receiptScanMax scanned).
func (s *Service) receiptAudience(conv Conv, user string, old, seq uint64) []string {
	out := []string{user}
	if conv.Kind == ConvDirect {
		if p := conv.peer(user); p != user {
			out = append(out, p)
		}
		return out
	}
	from := max(old+1, seq-min(seq, receiptScanMax-1))
	msgs, err := s.scanMsgs(conv.String(), from, seq, receiptScanMax, false)
	if err != nil {
		s.log.Warn().Err(err).Str(logfield.Conv, conv.String()).Msg("im receipt audience scan failed")
		return out
	}
	seen := map[string]bool{user: true}
	for _, m := range msgs {
		env, err := DecodeEnvelope(m.raw)
		if err != nil || env.Type == TypeNotice || seen[env.From] {
			continue
		}
		seen[env.From] = true
		out = append(out, env.From)
	}
	return out
}
