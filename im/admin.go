package im

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/imqtt/imqtt/persist"
)

// Operator operations (broker/adminapi: the admin HTTP API and imqttd ctl).
// The caller is the authenticated operator, so they bypass the users'
// permissions; they read the replicated store and are the same on every node.

// NotifyTarget says who a notification is for: exactly one field is set.
type NotifyTarget = notifyTarget

// GroupSummary is one group in AdminGroups.
type GroupSummary struct {
	Group   string `json:"group"`
	Conv    string `json:"conv"`
	Name    string `json:"name"`
	Open    bool   `json:"open"`
	Created int64  `json:"created"`
	Creator string `json:"creator"`
	Members int    `json:"members"`
	LastSeq uint64 `json:"last_seq"`
}

// maxAdminGroups bounds one page of AdminGroups.
const maxAdminGroups = 1000

// AdminGroups lists the groups with ids greater than after, in id order, at
// most limit (1..1000; 0 means 100); more says whether a next page exists.
func (s *Service) AdminGroups(after string, limit int) (groups []GroupSummary, more bool, err error) {
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, maxAdminGroups)
	start := []byte(pfxGroup)
	if after != "" {
		if !ValidName(after) {
			return nil, false, fmt.Errorf("%w: after %q", ErrBadPayload, clip(after))
		}
		start = []byte(pfxGroup + after + "0") // '0' sorts after '/': past every key of after
	}
	var ids []string
	err = s.opts.Store.ScanRaw([]byte(pfxGroup), persist.ScanOptions{Start: start}, func(k, _ []byte) error {
		rest := k[len(pfxGroup):]
		g, leaf, ok := bytes.Cut(rest, []byte("/"))
		if !ok || string(leaf) != "meta" {
			return nil
		}
		if len(ids) == limit {
			more = true
			return persist.ErrStopScan
		}
		ids = append(ids, string(g))
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("list groups: %w", err)
	}
	for _, g := range ids {
		sum, err := s.groupSummary(g)
		if err != nil {
			return nil, false, err
		}
		groups = append(groups, sum)
	}
	return groups, more, nil
}

func (s *Service) groupSummary(g string) (GroupSummary, error) {
	var meta groupMeta
	ok, err := s.getJSON(groupMetaKey(g), &meta)
	if err != nil {
		return GroupSummary{}, err
	}
	if !ok {
		return GroupSummary{}, fmt.Errorf("%w: group %s", ErrNoGroup, g)
	}
	ms, err := s.members(g)
	if err != nil {
		return GroupSummary{}, err
	}
	last, err := s.lastSeq(GroupConv(g).String())
	if err != nil {
		return GroupSummary{}, err
	}
	return GroupSummary{Group: g, Conv: GroupConv(g).String(), Name: meta.Name, Open: meta.Open,
		Created: meta.Created, Creator: meta.Creator, Members: len(ms), LastSeq: last}, nil
}

// AdminGroup returns a group with its members (the rpc group.members result),
// or an error wrapping ErrNoGroup.
func (s *Service) AdminGroup(g string) (any, error) {
	if !ValidName(g) {
		return nil, fmt.Errorf("%w: group %q", ErrBadPayload, clip(g))
	}
	if _, err := s.groupSummary(g); err != nil {
		return nil, err
	}
	var meta groupMeta
	if _, err := s.getJSON(groupMetaKey(g), &meta); err != nil {
		return nil, err
	}
	ms, err := s.members(g)
	if err != nil {
		return nil, err
	}
	res := membersResult{Group: g, Conv: GroupConv(g).String(), Name: meta.Name, Open: meta.Open,
		Created: meta.Created, Creator: meta.Creator, Members: make([]memberInfo, len(ms))}
	for i, m := range ms {
		res.Members[i] = memberInfo{User: m.User, Role: m.Role, Joined: m.Joined}
	}
	return res, nil
}

// AdminNotify sends a notification as from (a name shown to the recipients,
// e.g. "admin") to a user, a group or everyone, like rpc notify. Errors wrap
// ErrBadPayload, ErrTooLarge or ErrConflict (no such group).
func (s *Service) AdminNotify(from string, to NotifyTarget, title, body string) (any, error) {
	if !ValidName(from) {
		return nil, fmt.Errorf("%w: from %q", ErrBadPayload, clip(from))
	}
	res, err := s.sendNotify(from, &rpcRequest{To: &to, Title: title, Body: body})
	if errors.Is(err, ErrConflict) {
		return nil, fmt.Errorf("%w: %w", ErrNoGroup, err)
	}
	return res, err
}
