package im

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/imqtt/imqtt/persist"
)

// Reaction bounds.
const (
	maxEmojiLen      = 32 // bytes of UTF-8
	maxReactionKinds = 20 // distinct reactions on one message
)

// msgReact: {conv, seq, emoji, remove?}. The user adds (or, with remove,
// takes back) a reaction on message seq. The state is one key per user and
// reaction (y/{conv}/r/{seq}{emoji}/{user}), so history counts without
// replaying the log and concurrent reactions of different users never
// conflict. A change appends a reaction event (type reaction, target,
// emoji, remove) in the same command; a request that changes nothing (the
// reaction is already there, or already gone) appends nothing and answers
// changed: false. A reaction on a recalled message is refused.
func (s *Service) msgReact(ctx context.Context, user string, req *rpcRequest) (any, error) {
	conv, err := checkReact(req)
	if err != nil {
		return nil, err
	}
	now := s.now()
	// No retry: a reaction key is per user, so concurrent reactions never
	// conflict; the guards of the read are not proposed.
	t, err := s.loadTarget(&guards{s: s}, conv, user, req.Seq)
	if err != nil {
		return nil, err
	}
	if t.env.Recalled {
		return nil, fmt.Errorf("%w: %s/%d is recalled", ErrNotEditable, t.cs, t.seq)
	}
	key := reactionKey(t.cs, t.seq, req.Emoji, user)
	has, err := s.exists(key)
	if err != nil {
		return nil, err
	}
	if has != req.Remove {
		return changeResult{Conv: t.cs, Target: t.seq}, nil
	}
	op := persist.DeleteRawOp(key)
	if !req.Remove {
		counts, err := s.reactionsOf(t.cs, t.seq, user)
		if err != nil {
			return nil, err
		}
		if len(counts) >= maxReactionKinds && !hasEmoji(counts, req.Emoji) {
			return nil, fmt.Errorf("%w: %s/%d has %d distinct reactions", ErrTooManyReactions, t.cs, t.seq, len(counts))
		}
		op = persist.PutRawOp(key, nil, 0)
	}
	ev := s.newEvent(user, &t, TypeReaction, now)
	ev.Emoji, ev.Remove = req.Emoji, req.Remove
	if err := s.commitEvent(ctx, &t, &ev, nil, []persist.Op{op}); err != nil {
		return nil, err
	}
	return eventResult(&t, &ev), nil
}

// checkReact checks the fields of a msg.react request.
func checkReact(req *rpcRequest) (Conv, error) {
	conv, err := checkTarget(req)
	if err != nil {
		return conv, err
	}
	if req.Emoji == "" || len(req.Emoji) > maxEmojiLen || !printable(req.Emoji) {
		return conv, fmt.Errorf("%w: emoji must be 1..%d bytes of printable UTF-8", ErrBadPayload, maxEmojiLen)
	}
	return conv, nil
}

// reactionCount is one reaction of a message in a history response.
type reactionCount struct {
	Emoji string `json:"emoji"`
	Count int    `json:"count"`
	Me    bool   `json:"me,omitempty"` // the caller reacted so
}

func hasEmoji(cs []reactionCount, emoji string) bool {
	for _, c := range cs {
		if c.Emoji == emoji {
			return true
		}
	}
	return false
}

// reactionsOf counts the reactions on message seq of conv (in emoji byte
// order), marking those of user.
func (s *Service) reactionsOf(conv string, seq uint64, user string) ([]reactionCount, error) {
	var out []reactionCount
	p := reactionPrefix(conv, seq)
	err := s.opts.Store.ScanRaw(p, persist.ScanOptions{}, func(k, _ []byte) error {
		rest := k[len(p):]
		i := bytes.LastIndexByte(rest, '/') // user names contain no '/'
		if i <= 0 {
			return nil
		}
		emoji, who := rest[:i], rest[i+1:]
		if n := len(out); n == 0 || out[n-1].Emoji != string(emoji) {
			out = append(out, reactionCount{Emoji: string(emoji)})
		}
		out[len(out)-1].Count++
		if string(who) == user {
			out[len(out)-1].Me = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: reactions of %s/%d: %w", ErrStorage, conv, seq, err)
	}
	return out, nil
}

// recalledMark is in a stored message only as the recalled field: inside a
// JSON string its quotes would be escaped.
var recalledMark = []byte(`,"recalled":true`)

// addReactions adds "reactions" to each envelope of page that has any
// (page[i] is the envelope of msgs[i]); recalled messages show none.
func (s *Service) addReactions(conv, user string, msgs []storedMsg, page []json.RawMessage) error {
	for i := range page {
		if bytes.Contains(msgs[i].raw, recalledMark) {
			continue
		}
		counts, err := s.reactionsOf(conv, msgs[i].seq, user)
		if err != nil {
			return err
		}
		if len(counts) == 0 {
			continue
		}
		rj, err := json.Marshal(counts)
		if err != nil {
			return fmt.Errorf("%w: encode reactions: %w", ErrInternal, err)
		}
		b := page[i]
		out := make([]byte, 0, len(b)+len(rj)+16)
		out = append(append(out, b[:len(b)-1]...), `,"reactions":`...)
		page[i] = append(append(out, rj...), '}')
	}
	return nil
}
