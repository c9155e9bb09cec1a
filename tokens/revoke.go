package tokens

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/imqtt/imqtt/internal/logfield"
	"github.com/imqtt/imqtt/persist"
)

// maxRevokeOps bounds one revocation command (RevokeUser proposes several).
const maxRevokeOps = 256

// Revoke puts token id on the deny list until its expiry (plus Margin): it
// is refused at CONNECT on every node, and every node's Observe reports it
// to OnRevoke, which closes the connections that used it. Revoking twice is
// not an error. Errors wrap ErrNotFound (no live record: unknown id, or
// expired already), ErrStorage or ErrClosed.
func (s *Service) Revoke(ctx context.Context, id string) (Record, error) {
	if err := s.usable(); err != nil {
		return Record{}, err
	}
	rec, err := s.record(id)
	if err != nil {
		return Record{}, err
	}
	if err := s.deny(ctx, []Record{rec}); err != nil {
		return Record{}, err
	}
	return rec, nil
}

// RevokeUser revokes every live token of user and returns their records
// (those already revoked are left out). Errors wrap ErrStorage or ErrClosed;
// tokens revoked before an error stay revoked.
func (s *Service) RevokeUser(ctx context.Context, user string) ([]Record, error) {
	infos, err := s.List(user)
	if err != nil {
		return nil, err
	}
	var recs []Record
	for _, in := range infos {
		if !in.Revoked {
			recs = append(recs, in.Record)
		}
	}
	for i := 0; i < len(recs); i += maxRevokeOps {
		if err := s.deny(ctx, recs[i:min(i+maxRevokeOps, len(recs))]); err != nil {
			return recs[:i], err
		}
	}
	return recs, nil
}

// List returns the live tokens of user (not expired), revoked ones marked,
// in id order. Errors wrap ErrStorage or ErrClosed.
func (s *Service) List(user string) ([]Info, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	pfx := userPrefix(user)
	var ids []string
	err := s.opts.Store.ScanRaw(pfx, persist.ScanOptions{}, func(k, _ []byte) error {
		ids = append(ids, string(bytes.TrimPrefix(k, pfx)))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: scan tokens of %q: %w", ErrStorage, user, err)
	}
	out := make([]Info, 0, len(ids))
	for _, id := range ids {
		rec, err := s.record(id)
		if errors.Is(err, ErrNotFound) {
			continue // expired between the scan and the read
		}
		if err != nil {
			return nil, err
		}
		in := Info{Record: rec}
		switch _, err := s.opts.Store.GetRaw(denyKey(id)); {
		case err == nil:
			in.Revoked = true
		case !errors.Is(err, persist.ErrNotFound):
			return nil, fmt.Errorf("%w: deny list: %w", ErrStorage, err)
		}
		out = append(out, in)
	}
	return out, nil
}

// record reads the live record of id.
func (s *Service) record(id string) (Record, error) {
	if !validID(id) {
		return Record{}, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	b, err := s.opts.Store.GetRaw(recordKey(id))
	switch {
	case errors.Is(err, persist.ErrNotFound):
		return Record{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	case err != nil:
		return Record{}, fmt.Errorf("%w: read token %s: %w", ErrStorage, id, err)
	}
	return decodeRecord(b)
}

// deny proposes one command that puts recs on the deny list.
func (s *Service) deny(ctx context.Context, recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	ops := make([]persist.Op, 0, len(recs))
	ids := make([]string, 0, len(recs))
	for _, r := range recs {
		body, err := encodeRecord(r)
		if err != nil {
			return err
		}
		ops = append(ops, persist.PutRawOp(denyKey(r.ID), body, r.ExpiresAt().Add(Margin).UnixMilli()))
		ids = append(ids, r.ID)
	}
	if _, err := s.apply(ctx, ops); err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	s.log.Info().Str(logfield.User, recs[0].User).Strs(logfield.Revoked, ids).Msg("tokens revoked")
	return nil
}
