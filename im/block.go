package im

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/imqtt/imqtt/internal/logfield"
	"github.com/imqtt/imqtt/persist"
)

// Blocking (docs/protocol.md "Blocking", DESIGN.md "Blocking").
//
// u/{user}/b/{other} (value: be64 unix ms of the block) says that user blocked
// other. It is written by rpc block (put_raw if absent: blocking twice keeps the
// first time) and deleted by rpc unblock, each one command through raft.
// A direct send, and a typing indicator in a direct conversation, is refused
// with ErrBlocked (0x87) when either party blocked the other: the check reads
// the local replica where the send is decided, before proposing, like the
// membership check (a send proposed before the block committed still goes
// through). Presence is hidden both ways (canSeePresence). Groups are not
// affected.

// maxBlocks bounds the users one user may block (ErrTooManyBlocks beyond).
const maxBlocks = 1000

func blockPrefix(user string) []byte { return []byte(pfxUser + user + "/b/") }

func blockKey(user, other string) []byte { return []byte(pfxUser + user + "/b/" + other) }

// checkBlocked returns ErrBlocked when c is a direct conversation and user or
// its peer blocked the other; nil for groups and notes to self.
func (s *Service) checkBlocked(c Conv, user string) error {
	if c.Kind != ConvDirect {
		return nil
	}
	peer := c.peer(user)
	if peer == user || !s.blk.any(user, peer) {
		return nil // neither ever blocked anyone (blockers.go)
	}
	if ok, err := s.exists(blockKey(user, peer)); err != nil || ok {
		if err != nil {
			return err
		}
		return fmt.Errorf("%w: you blocked %s; unblock first", ErrBlocked, peer)
	}
	// The blocked side learns nothing but the fixed reason.
	if ok, err := s.exists(blockKey(peer, user)); err != nil || ok {
		if err != nil {
			return err
		}
		return ErrBlocked
	}
	return nil
}

// blockedEither reports whether a or b blocked the other. A read error counts
// as blocked (presence fails closed) and is logged.
func (s *Service) blockedEither(a, b string) bool {
	if a == b || !s.blk.any(a, b) {
		return false
	}
	for _, k := range [2][]byte{blockKey(a, b), blockKey(b, a)} {
		ok, err := s.exists(k)
		if err != nil {
			s.log.Warn().Err(err).Str(logfield.User, a).Msg("im block check failed")
			return true
		}
		if ok {
			return true
		}
	}
	return false
}

// blockResult is the response of rpc block and unblock.
type blockResult struct {
	User    string `json:"user"`
	Blocked bool   `json:"blocked"`
}

// blockTarget checks the user field of block / unblock.
func blockTarget(user string, req *rpcRequest) (string, error) {
	if !ValidName(req.User) {
		return "", fmt.Errorf("%w: user %q: must be 1..64 of [A-Za-z0-9_.@-]", ErrBadPayload, clip(req.User))
	}
	if req.User == user {
		return "", fmt.Errorf("%w: you cannot block yourself", ErrConflict)
	}
	return req.User, nil
}

// block: {user}. Idempotent; at most maxBlocks users.
func (s *Service) block(ctx context.Context, user string, req *rpcRequest) (any, error) {
	other, err := blockTarget(user, req)
	if err != nil {
		return nil, err
	}
	key := blockKey(user, other)
	already, err := s.exists(key)
	if err != nil {
		return nil, err
	}
	if !already {
		n, err := s.countKeys(blockPrefix(user), maxBlocks)
		if err != nil {
			return nil, err
		}
		if n >= maxBlocks {
			return nil, fmt.Errorf("%w: %d users blocked", ErrTooManyBlocks, n)
		}
	}
	now := s.nowMs()
	// The blocker marker (blockers.go) rides in the same command.
	if _, err := s.apply(ctx, []persist.Op{persist.PutRawIfAbsentOp(blockerKey(user), be64(uint64(now)), 0),
		persist.PutRawIfAbsentOp(key, be64(uint64(now)), 0)}); err != nil {
		return nil, err
	}
	s.blockEvent(user, other, true, now)
	return blockResult{User: other, Blocked: true}, nil
}

// unblock: {user}. Idempotent.
func (s *Service) unblock(ctx context.Context, user string, req *rpcRequest) (any, error) {
	other, err := blockTarget(user, req)
	if err != nil {
		return nil, err
	}
	if _, err := s.apply(ctx, []persist.Op{persist.DeleteRawOp(blockKey(user, other))}); err != nil {
		return nil, err
	}
	s.blockEvent(user, other, false, s.nowMs())
	return blockResult{User: other, Blocked: false}, nil
}

// blockedUser is one entry of the block.list response.
type blockedUser struct {
	User  string `json:"user"`
	Since int64  `json:"since"`
}

// blockListResult is the response of rpc block.list.
type blockListResult struct {
	Blocked []blockedUser `json:"blocked"`
}

// blockList: {}. The users the caller blocked, by name.
func (s *Service) blockList(user string) (any, error) {
	res := blockListResult{Blocked: []blockedUser{}}
	p := blockPrefix(user)
	err := s.opts.Store.ScanRaw(p, persist.ScanOptions{Limit: maxBlocks}, func(k, v []byte) error {
		b := blockedUser{User: string(k[len(p):])}
		if len(v) == 8 {
			b.Since = int64(binary.BigEndian.Uint64(v))
		}
		res.Blocked = append(res.Blocked, b)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: blocks of %s: %w", ErrStorage, user, err)
	}
	return res, nil
}

// blockedSet returns the users user blocked (for conversations).
func (s *Service) blockedSet(user string) (map[string]bool, error) {
	out := map[string]bool{}
	p := blockPrefix(user)
	err := s.opts.Store.ScanRaw(p, persist.ScanOptions{Limit: maxBlocks}, func(k, _ []byte) error {
		out[string(k[len(p):])] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: blocks of %s: %w", ErrStorage, user, err)
	}
	return out, nil
}

// countKeys counts the keys under prefix, stopping at limit.
func (s *Service) countKeys(prefix []byte, limit int) (int, error) {
	n := 0
	err := s.opts.Store.ScanRaw(prefix, persist.ScanOptions{Limit: limit}, func(_, _ []byte) error {
		n++
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("%w: count %q: %w", ErrStorage, prefix, err)
	}
	return n, nil
}

// blockEvent tells user's devices that a block changed (im/u/{user}/prefs).
func (s *Service) blockEvent(user, other string, blocked bool, ts int64) {
	b := make([]byte, 0, 96)
	b = appendStrField(append(b, '{'), "event", prefsEventBlock, true)
	b = appendStrField(b, "user", other, false)
	b = appendBoolField(b, "blocked", blocked, false)
	b = appendIntField(b, "ts", ts, false)
	s.prefsEvent(user, append(b, '}'))
}
