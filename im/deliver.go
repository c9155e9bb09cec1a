package im

import (
	"unicode/utf8"

	"github.com/imqtt/imqtt/internal/logfield"
)

// Delivery happens here and only here: after a write is committed on this node,
// the service publishes one copy per member (write-diffusion to online devices,
// in memory; offline devices catch up with sync). In a cluster this moves to an
// apply observer on every node (DESIGN.md "Delivery").

// deliver publishes d; a failure is logged and not retried (sync recovers).
func (s *Service) deliver(d Delivery) {
	if err := s.opts.Deliver.Deliver(d); err != nil {
		s.log.Warn().Err(err).Str(logfield.Topic, d.Topic).Msg("im delivery failed")
	}
}

// fanout publishes a committed message (payload: the delivered envelope) to
// im/u/{m}/msg of every member, the author included (multi-device), and tells
// the Pusher about members other than the author with no online device.
// device is the author's sending device ("" for none): it has the ack, so the
// author's copy goes out only when another device of the author subscribes
// (Delivery.SkipIfOnly).
func (s *Service) fanout(members []string, env *Envelope, payload []byte, device string) {
	for _, m := range members {
		d := Delivery{Topic: userTopic(m, leafMsg), Payload: payload, QoS: 1}
		if m == env.From {
			d.SkipIfOnly = device
		} else if env.mentioned(m) {
			d.Payload = withMention(payload)
		}
		s.deliver(d)
	}
	if s.opts.Push == nil || env.Type == TypeNotice || env.Type == TypeReaction {
		return
	}
	for _, m := range members {
		if m == env.From || s.onlineHere(m) || s.onlineAnywhere(m) {
			continue
		}
		mention := env.mentioned(m)
		if !mention && s.mutedFor(m, env.Conv) {
			continue // muted: delivered, not pushed (settings.go)
		}
		s.opts.Push.Push(PushEvent{User: m, Conv: env.Conv, From: env.From, Preview: preview(mediaPreview(env.Type, env.Body)),
			ID: env.ID, Seq: env.Seq, TS: env.TS, Mention: mention, Kind: pushKind(env.Type), Target: env.Target})
	}
}

// previewRunes bounds PushEvent.Preview.
const previewRunes = 64

func preview(body string) string {
	n := 0
	for i := range body {
		if n == previewRunes {
			return body[:i] + "…"
		}
		n++
	}
	if !utf8.ValidString(body) {
		return ""
	}
	return body
}

// pushKind is PushEvent.Kind of an envelope type: "" for messages.
func pushKind(typ string) string {
	if typ == TypeEdit || typ == TypeRecall {
		return typ
	}
	return ""
}
