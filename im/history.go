package im

import (
	"encoding/json"
	"fmt"
)

// maxPageBytes bounds the messages of one history or sync response (a page
// ends early, with more = true, rather than exceed it).
const maxPageBytes = 1 << 20

// maxConversations bounds one conversations response.
const maxConversations = 1000

// historyResult is the response of rpc history.
type historyResult struct {
	Conv     string            `json:"conv"`
	LastSeq  uint64            `json:"last_seq"`
	Messages []json.RawMessage `json:"messages"`
	More     bool              `json:"more"`
}

// envelopes turns stored messages into delivered envelopes while they fit in
// budget bytes (the first always, with atLeastOne). full reports an early stop.
func envelopes(msgs []storedMsg, budget int, atLeastOne bool) (out []json.RawMessage, full bool, err error) {
	out = make([]json.RawMessage, 0, len(msgs))
	for _, m := range msgs {
		if (len(out) > 0 || !atLeastOne) && len(m.raw)+24 > budget {
			return out, true, nil
		}
		b, err := withSeq(make([]byte, 0, len(m.raw)+24), m.raw, m.seq)
		if err != nil {
			return nil, false, err
		}
		budget -= len(b)
		out = append(out, b)
	}
	return out, false, nil
}

// history: {conv, before?, after?, limit?}. Messages in ascending seq order;
// with after: the first page after it; otherwise the last page before `before`
// (or the newest). A group member sees messages from their latest join on.
func (s *Service) history(user string, req *rpcRequest) (any, error) {
	conv, err := ParseConv(req.Conv)
	if err != nil {
		return nil, fmt.Errorf("%w: conv %q", ErrBadPayload, clip(req.Conv))
	}
	if err := s.checkMember(conv, user); err != nil {
		return nil, err
	}
	limit := req.Limit
	if limit == 0 || limit > s.cfg.HistoryMax {
		limit = s.cfg.HistoryMax
	}
	cs := conv.String()
	last, err := s.lastSeq(cs)
	if err != nil {
		return nil, err
	}
	vis, err := s.visibleFrom(conv, user)
	if err != nil {
		return nil, err
	}
	res := historyResult{Conv: cs, LastSeq: last, Messages: []json.RawMessage{}}
	if req.After >= last {
		return res, nil // also keeps After+1 below from wrapping
	}
	lo, hi := vis, last
	if req.After >= lo {
		lo = req.After + 1
	}
	if req.Before > 0 && req.Before-1 < hi {
		hi = req.Before - 1
	}
	if lo > hi {
		return res, nil
	}
	// Forward from lo with after; otherwise backward from hi (the newest first,
	// so the byte budget keeps the newest), reversed at the end.
	forward := req.After > 0
	msgs, err := s.scanMsgs(cs, lo, hi, limit, !forward)
	if err != nil {
		return nil, err
	}
	page, full, err := envelopes(msgs, maxPageBytes, true)
	if err != nil {
		return nil, err
	}
	if err := s.addReactions(cs, user, msgs, page); err != nil {
		return nil, err
	}
	if n := len(page); n > 0 {
		edge := msgs[n-1].seq // the furthest message in scan order
		res.More = full || (forward && edge < hi) || (!forward && edge > lo)
	}
	if !forward {
		for i, j := 0, len(page)-1; i < j; i, j = i+1, j-1 {
			page[i], page[j] = page[j], page[i]
		}
	}
	res.Messages = page
	return res, nil
}

// syncResult is the response of rpc sync.
type syncResult struct {
	Messages []json.RawMessage `json:"messages"`
	Since    map[string]uint64 `json:"since"`
	More     bool              `json:"more"`
}

// sync: {since: {conv: seq}, limit?}. Everything after since[conv] in every
// conversation of the user (conversation id order, then seq), one page at a
// time. The response's since has the position to ask from next for every
// conversation of the user; more says whether to ask again.
func (s *Service) sync(user string, req *rpcRequest) (any, error) {
	limit := req.Limit
	if limit == 0 || limit > s.cfg.SyncPageMax {
		limit = s.cfg.SyncPageMax
	}
	convs, err := s.userConvs(user)
	if err != nil {
		return nil, err
	}
	res := syncResult{Messages: []json.RawMessage{}, Since: make(map[string]uint64, len(convs))}
	budget := maxPageBytes
	for _, cs := range convs {
		pos := req.Since[cs]
		res.Since[cs] = pos
		conv, err := ParseConv(cs)
		if err != nil || res.More {
			continue
		}
		last, err := s.lastSeq(cs)
		if err != nil {
			return nil, err
		}
		vis, err := s.visibleFrom(conv, user)
		if err != nil {
			return nil, err
		}
		if pos >= last {
			continue // nothing new (and pos+1 below cannot wrap)
		}
		from := max(pos+1, vis)
		if from > last {
			res.Since[cs] = last
			continue
		}
		room := limit - len(res.Messages)
		if room == 0 {
			res.More = true
			continue
		}
		msgs, err := s.scanMsgs(cs, from, last, room, false)
		if err != nil {
			return nil, err
		}
		if len(msgs) == 0 { // cannot happen in a gap-free log; never loop the client
			res.Since[cs] = max(pos, last)
			continue
		}
		page, full, err := envelopes(msgs, budget, len(res.Messages) == 0)
		if err != nil {
			return nil, err
		}
		if len(page) == 0 {
			res.More = true
			continue
		}
		for _, b := range page {
			budget -= len(b)
		}
		res.Messages = append(res.Messages, page...)
		got := msgs[len(page)-1].seq
		res.Since[cs] = got
		if full || got < last {
			res.More = true
		}
	}
	return res, nil
}

// convInfo is one entry of the conversations response.
type convInfo struct {
	Conv          string `json:"conv"`
	Kind          string `json:"kind"` // direct or group
	Peer          string `json:"peer,omitempty"`
	Group         string `json:"group,omitempty"`
	Name          string `json:"name,omitempty"`
	LastSeq       uint64 `json:"last_seq"`
	Delivered     uint64 `json:"delivered"`
	Read          uint64 `json:"read"`
	Unread        uint64 `json:"unread"`
	PeerDelivered uint64 `json:"peer_delivered,omitempty"`
	PeerRead      uint64 `json:"peer_read,omitempty"`
	// Settings and Blocked: the caller's own (settings.go, block.go).
	Settings *convSettings `json:"settings,omitempty"`
	Blocked  bool          `json:"blocked,omitempty"`
	// DisplayName: the peer's, as the caller may see it (profile.go).
	DisplayName string `json:"display_name,omitempty"`
}

// conversationsResult is the response of rpc conversations.
type conversationsResult struct {
	Conversations []convInfo `json:"conversations"`
	More          bool       `json:"more"`
}

// conversations lists the user's conversations with last seq, cursors and
// unread count (last seq - max(read cursor, first visible seq - 1)).
func (s *Service) conversations(user string) (any, error) {
	convs, err := s.userConvs(user)
	if err != nil {
		return nil, err
	}
	res := conversationsResult{Conversations: make([]convInfo, 0, min(len(convs), maxConversations))}
	if len(convs) > maxConversations {
		convs, res.More = convs[:maxConversations], true
	}
	for _, cs := range convs {
		conv, err := ParseConv(cs)
		if err != nil {
			continue
		}
		ci, err := s.convInfo(conv, user)
		if err != nil {
			return nil, err
		}
		res.Conversations = append(res.Conversations, ci)
	}
	if err := s.addPrefs(user, res.Conversations); err != nil {
		return nil, err
	}
	if err := s.addDisplayNames(user, res.Conversations); err != nil {
		return nil, err
	}
	return res, nil
}

func (s *Service) convInfo(conv Conv, user string) (convInfo, error) {
	cs := conv.String()
	ci := convInfo{Conv: cs}
	var err error
	if ci.LastSeq, err = s.lastSeq(cs); err != nil {
		return ci, err
	}
	if ci.Read, err = s.getU64(readKey(cs, user)); err != nil {
		return ci, err
	}
	if ci.Delivered, err = s.getU64(deliveredKey(cs, user)); err != nil {
		return ci, err
	}
	vis, err := s.visibleFrom(conv, user)
	if err != nil {
		return ci, err
	}
	if seen := max(ci.Read, vis-1); ci.LastSeq > seen {
		ci.Unread = ci.LastSeq - seen
	}
	if conv.Kind == ConvDirect {
		ci.Kind, ci.Peer = "direct", conv.peer(user)
		if ci.PeerRead, err = s.getU64(readKey(cs, ci.Peer)); err != nil {
			return ci, err
		}
		if ci.PeerDelivered, err = s.getU64(deliveredKey(cs, ci.Peer)); err != nil {
			return ci, err
		}
		return ci, nil
	}
	ci.Kind, ci.Group = "group", conv.Group
	var meta groupMeta
	if _, err := s.getJSON(groupMetaKey(conv.Group), &meta); err != nil {
		return ci, err
	}
	ci.Name = meta.Name
	return ci, nil
}
