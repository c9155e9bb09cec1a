package im

import (
	"context"
	"fmt"

	"github.com/imqtt/imqtt/internal/logfield"
)

// Handle processes one upstream PUBLISH under im/ from client c: it checks,
// stores (through the raft write path) and delivers, and answers the client on
// im/u/{user}/ack or the rpc reply topic. The returned Outcome is the same
// verdict, for the MQTT 5 PUBACK. The sender is always c.User, never a payload
// field. Handle is safe for concurrent calls, blocks for at most about
// Config.ApplyTimeout (or until ctx is done), and never panics: a bug is
// answered with 0x80 and logged.
func (s *Service) Handle(ctx context.Context, c Client, r Request) (out Outcome) {
	if !s.begin() {
		return outcomeOf(ErrClosed)
	}
	defer s.end()
	defer func() {
		if p := recover(); p != nil {
			s.log.Error().Str(logfield.User, c.User).Str(logfield.ClientID, c.ClientID).Str(logfield.Topic, clip(r.Topic)).
				Str(logfield.Reason, fmt.Sprint(p)).Msg("im handler panicked")
			out = outcomeOf(ErrInternal)
		}
	}()
	if !ValidName(c.User) {
		// There is no im/u/{user}/ tree to answer in.
		return outcomeOf(fmt.Errorf("%w: user name must be 1..64 of [A-Za-z0-9_.@-]", ErrNotAuthenticated))
	}
	t, err := parseUp(r.Topic)
	// Every up publish counts, one to a bad topic too (it is answered).
	limited := s.opts.Limiter != nil && !s.opts.Limiter.Allow(c.User)
	if err == nil && limited {
		err = ErrRateLimited
	}
	if err == nil && len(r.Payload) > s.maxPayload {
		err = fmt.Errorf("%w: payload of %d bytes above %d", ErrTooLarge, len(r.Payload), s.maxPayload)
	}
	if err != nil {
		if t.kind == upRPC {
			return s.refuseRPC(c, &r, t.method, "", err)
		}
		return s.refuse(c, &r, "", "", err)
	}
	switch t.kind {
	case upSendUser, upSendGroup:
		return s.handleSend(ctx, c, &r, t)
	case upReceipt:
		return s.handleReceipt(ctx, c, &r, t.conv)
	case upTyping:
		return s.handleTyping(c, &r, t.conv)
	default:
		return s.handleRPC(ctx, c, &r, t.method)
	}
}

// refuse answers a refused non-rpc request on the ack topic (and the reply
// topic, if valid) and returns its Outcome.
func (s *Service) refuse(c Client, r *Request, cid, reply string, err error) Outcome {
	out := outcomeOf(err)
	s.logRefusal(c, r.Topic, out, err)
	s.sendAck(c, reply, r, refusalAck(out, cid, r.Topic))
	return out
}

// refuseRPC answers a refused rpc on the default rpc topic (its reply topic may
// be what was wrong) and returns its Outcome.
func (s *Service) refuseRPC(c Client, r *Request, method, rid string, err error) Outcome {
	out := outcomeOf(err)
	s.logRefusal(c, r.Topic, out, err)
	s.rpcRespond(c.User, "", r.CorrelationData, rpcHead{Method: method, RID: rid, Code: out.Code, Reason: out.Reason}, nil)
	return out
}

func (s *Service) logRefusal(c Client, topic string, out Outcome, err error) {
	ev := s.log.Debug()
	if out.Code == CodeUnspecified {
		ev = s.log.Warn()
	}
	ev.Err(err).Str(logfield.User, c.User).Str(logfield.ClientID, c.ClientID).Str(logfield.Topic, clip(topic)).
		Uint8(logfield.Code, out.Code).Msg("im request refused")
}
