package im

import (
	"context"
	"fmt"
	"time"

	"github.com/imqtt/imqtt/internal/logfield"
	"github.com/imqtt/imqtt/persist"
)

// sent is what a send produced.
type sent struct {
	conv string
	id   uint64
	seq  uint64
	ts   int64
	dup  bool
}

// handleSend handles im/send/user/{to} and im/send/group/{group}.
func (s *Service) handleSend(ctx context.Context, c Client, r *Request, t upTopic) Outcome {
	p, err := decodeSend(r.Payload, s.cfg.MaxBodyBytes)
	cid := p.CID
	if len(cid) > maxCIDLen || !printable(cid) {
		cid = ""
	}
	if err == nil && isMediaType(p.Type) {
		p.Body, err = s.checkMedia(p.Type, p.Body) // im/media.go
	}
	if err != nil {
		return s.refuse(c, r, cid, "", err)
	}
	reply, err := replyTopic(c.User, r, p.ReplyTo)
	if err != nil {
		return s.refuse(c, r, cid, "", err)
	}
	var conv Conv
	if t.kind == upSendUser {
		conv = DirectConv(c.User, t.name)
	} else {
		conv = GroupConv(t.name)
	}
	res, err := s.send(ctx, c, conv, p)
	if err != nil {
		return s.refuse(c, r, cid, reply, err)
	}
	s.sendAck(c, reply, r, ack{ok: true, cid: cid, conv: res.conv,
		id: res.id, seq: res.seq, ts: res.ts, dup: res.dup})
	return Outcome{}
}

// send stores a message from c's user in conv and delivers it. A re-send
// (same user, conversation and cid within the dedup window) returns the
// original id, seq and ts and delivers nothing.
func (s *Service) send(ctx context.Context, c Client, conv Conv, p sendPayload) (sent, error) {
	user := c.User
	if err := s.checkMember(conv, user); err != nil {
		return sent{}, err
	}
	if err := s.checkBlocked(conv, user); err != nil {
		return sent{}, err
	}
	body := p.Body
	if s.opts.Filter != nil && !isMediaType(p.Type) { // a media body is checked by the store
		out, reject := s.opts.Filter.Filter(body)
		if reject {
			return sent{}, ErrRejected
		}
		if len(out) > s.cfg.MaxBodyBytes || out == "" {
			return sent{}, fmt.Errorf("%w: filtered body of %d bytes", ErrRejected, len(out))
		}
		body = out
	}
	now := s.now()
	cs := conv.String()
	env := Envelope{ID: s.ids.next(now), Conv: cs, From: user, TS: now.UnixMilli(), CID: p.CID, Type: p.Type, Body: body}
	if conv.Kind == ConvDirect {
		env.To = conv.peer(user)
	}
	if err := s.resolveMentions(conv, user, p.Mentions, &env); err != nil {
		return sent{}, err
	}
	stored := env.appendStored(make([]byte, 0, 128+len(body)))
	ops := make([]persist.Op, 1, 3)
	ops[0] = persist.AppendRawOp(counterKey(cs), msgPrefix(cs), dedupKey(cs, user, p.CID), stored,
		s.expiry(now), readKey(cs, user), deliveredKey(cs, user))
	if conv.Kind == ConvDirect {
		// The first message of a direct conversation puts it in both users' index.
		for _, m := range conv.directMembers() {
			key := userConvKey(m, cs)
			if s.indexed.has(key) {
				continue
			}
			ok, err := s.exists(key)
			if err != nil {
				return sent{}, err
			}
			if ok {
				s.indexed.add(key)
				continue
			}
			ops = append(ops, persist.PutRawIfAbsentOp(key, nil, 0))
		}
	}
	rs, err := s.apply(ctx, ops)
	if err != nil {
		return sent{}, err
	}
	for _, op := range ops[1:] {
		s.indexed.add(op.Key) // committed: the entry exists now
	}
	env.Seq = rs[0].Seq
	if rs[0].Found {
		return s.original(cs, env.Seq)
	}
	members, err := s.convMembers(conv)
	if err != nil {
		// Committed: the ack must go out; devices that miss the message sync.
		s.log.Warn().Err(err).Str(logfield.Conv, cs).Uint64(logfield.Seq, env.Seq).Msg("im fanout skipped")
		members = nil
	}
	s.fanout(members, &env, env.AppendJSON(make([]byte, 0, 160+len(body))), c.ClientID)
	return sent{conv: cs, id: env.ID, seq: env.Seq, ts: env.TS}, nil
}

// original reads the message a dedup hit refers to.
func (s *Service) original(conv string, seq uint64) (sent, error) {
	v, err := s.opts.Store.GetRaw(msgKey(conv, seq))
	if err != nil {
		return sent{}, fmt.Errorf("%w: read %s/%d: %w", ErrStorage, conv, seq, err)
	}
	env, err := DecodeEnvelope(v)
	if err != nil {
		return sent{}, fmt.Errorf("%w: stored %s/%d: %w", ErrStorage, conv, seq, err)
	}
	return sent{conv: conv, id: env.ID, seq: seq, ts: env.TS, dup: true}, nil
}

// expiry returns the dedup expiry of a write at now.
func (s *Service) expiry(now time.Time) int64 { return now.Add(s.cfg.DedupWindow).UnixMilli() }
