package im

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/imqtt/imqtt/persist"
)

// Reads go straight to the local store: they see what this node has applied
// (on the proposing node, every write it acknowledged). Errors wrap ErrStorage.

// getU64 reads a be64 value; absent is 0.
func (s *Service) getU64(key []byte) (uint64, error) {
	v, err := s.opts.Store.GetRaw(key)
	if errors.Is(err, persist.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("%w: read %q: %w", ErrStorage, key, err)
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: %q holds %d bytes, not a counter", ErrStorage, key, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// exists reports whether a raw key is present.
func (s *Service) exists(key []byte) (bool, error) {
	_, err := s.opts.Store.GetRaw(key)
	if errors.Is(err, persist.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%w: read %q: %w", ErrStorage, key, err)
	}
	return true, nil
}

// getJSON reads a JSON value into v; found is false when absent.
func (s *Service) getJSON(key []byte, v any) (bool, error) {
	b, err := s.opts.Store.GetRaw(key)
	if errors.Is(err, persist.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%w: read %q: %w", ErrStorage, key, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("%w: decode %q: %w", ErrStorage, key, err)
	}
	return true, nil
}

// lastSeq returns the conversation's last seq (0 for none yet).
func (s *Service) lastSeq(conv string) (uint64, error) { return s.getU64(counterKey(conv)) }

// storedMsg is one message of a conversation log.
type storedMsg struct {
	seq uint64
	raw []byte // stored form, see Envelope.appendStored
}

// scanMsgs returns up to limit messages of conv with from <= seq <= to, in
// ascending order (descending with reverse: the newest first).
func (s *Service) scanMsgs(conv string, from, to uint64, limit int, reverse bool) ([]storedMsg, error) {
	if from > to || limit <= 0 {
		return nil, nil
	}
	opts := persist.ScanOptions{Start: msgKey(conv, from), Reverse: reverse, Limit: limit}
	if reverse {
		opts.Start = msgKey(conv, to)
	}
	var out []storedMsg
	err := s.opts.Store.ScanRaw(msgPrefix(conv), opts, func(k, v []byte) error {
		seq := seqOfMsgKey(k)
		if seq < from || seq > to {
			return persist.ErrStopScan
		}
		out = append(out, storedMsg{seq: seq, raw: v})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: scan %s: %w", ErrStorage, conv, err)
	}
	return out, nil
}

// Roles of group members.
const (
	RoleOwner  = "owner"
	RoleAdmin  = "admin"
	RoleMember = "member"
)

// roleRank orders roles: owner > admin > member.
func roleRank(r string) int {
	switch r {
	case RoleOwner:
		return 3
	case RoleAdmin:
		return 2
	case RoleMember:
		return 1
	}
	return 0
}

// memberRec is the stored value of g/{group}/m/{user}.
type memberRec struct {
	Role   string `json:"role"`
	Joined int64  `json:"joined"`
	By     string `json:"by,omitempty"`
}

// member is a member with its name.
type member struct {
	User string
	memberRec
}

// groupMeta is the stored value of g/{group}/meta.
type groupMeta struct {
	Name    string `json:"name"`
	Open    bool   `json:"open"`
	Created int64  `json:"created"`
	Creator string `json:"creator"`
}

// memberOf returns user's member record in group g; ok is false if not a member.
func (s *Service) memberOf(g, user string) (memberRec, bool, error) {
	var m memberRec
	ok, err := s.getJSON(memberKey(g, user), &m)
	return m, ok, err
}

// members lists the members of group g in user-name order.
func (s *Service) members(g string) ([]member, error) {
	var out []member
	p := memberPrefix(g)
	err := s.opts.Store.ScanRaw(p, persist.ScanOptions{}, func(k, v []byte) error {
		m := member{User: string(k[len(p):])}
		if err := json.Unmarshal(v, &m.memberRec); err != nil {
			return fmt.Errorf("decode %q: %w", k, err)
		}
		out = append(out, m)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: members of %s: %w", ErrStorage, g, err)
	}
	return out, nil
}

// userConvs lists the conversation ids in user's index, in id order.
func (s *Service) userConvs(user string) ([]string, error) {
	var out []string
	p := userConvPrefix(user)
	err := s.opts.Store.ScanRaw(p, persist.ScanOptions{}, func(k, _ []byte) error {
		out = append(out, string(k[len(p):]))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: conversations of %s: %w", ErrStorage, user, err)
	}
	return out, nil
}

// checkMember returns nil if user may read and write conv (a party of a
// direct conversation, a member of a group), else ErrNotMember.
func (s *Service) checkMember(c Conv, user string) error {
	if c.Kind == ConvDirect {
		if c.has(user) {
			return nil
		}
		return fmt.Errorf("%w: %s", ErrNotMember, c)
	}
	_, ok, err := s.memberOf(c.Group, user)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotMember, c)
	}
	return nil
}

// convMembers returns the users a conversation's messages go to.
func (s *Service) convMembers(c Conv) ([]string, error) {
	if c.Kind == ConvDirect {
		return c.directMembers(), nil
	}
	ms, err := s.members(c.Group)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.User
	}
	return out, nil
}

// visibleFrom is the first seq user may read in c: 1 in a direct conversation,
// the seq of the user's latest join notice in a group.
func (s *Service) visibleFrom(c Conv, user string) (uint64, error) {
	if c.Kind == ConvDirect {
		return 1, nil
	}
	j, err := s.getU64(joinKey(c.Group, user))
	if err != nil {
		return 0, err
	}
	return max(j, 1), nil
}
