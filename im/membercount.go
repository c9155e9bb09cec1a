package im

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/imqtt/imqtt/persist"
)

// The member count of a group (DESIGN.md "Guards"): g/{group}/n holds the
// be64 number of member records under g/{group}/m/. Every command that adds
// or removes members changes it in the same command (create writes it,
// invite and join add with incr_raw, leave and kick subtract), so a decision
// that depends on the count (im.group_max_members, "the owner leaves only
// when alone", "no one joins a group whose last member left") reads one
// record and guards it, instead of scanning member records no guard covers.
//
// Groups created before the record existed have none. The first command
// that changes such a group's members counts them with a scan, requires the
// record still absent, and writes it: every membership change after this
// version writes the record, so one applied between the scan and the
// command fails the absence guard and the request reads again.

// memberCount is a group's member count as read for one decision.
type memberCount struct {
	key     []byte
	n       uint64
	present bool // false: counted by scanning; the command writes the record
}

// count reads g's member count. decide says a decision depends on the value:
// the command then requires it unchanged. An absent record is counted by a
// scan and required still absent (whatever decide says), so that the
// command's put is based on what the command applies to.
func (gs *guards) count(g string, decide bool) (memberCount, error) {
	c := memberCount{key: memberCountKey(g)}
	v, err := gs.s.opts.Store.GetRaw(c.key)
	switch {
	case err == nil:
		if len(v) != 8 {
			return c, fmt.Errorf("%w: member count of %s is %d bytes", ErrStorage, g, len(v))
		}
		c.n, c.present = binary.BigEndian.Uint64(v), true
		if decide {
			gs.ops = append(gs.ops, persist.RequireRawOp(c.key, v))
		}
		return c, nil
	case !errors.Is(err, persist.ErrNotFound):
		return c, fmt.Errorf("%w: read %q: %w", ErrStorage, c.key, err)
	}
	gs.ops = append(gs.ops, persist.RequireRawAbsentOp(c.key))
	ms, err := gs.s.members(g)
	if err != nil {
		return c, err
	}
	c.n = uint64(len(ms))
	return c, nil
}

// add returns the op that changes the count by delta (negative: members
// removed): incr_raw on the record, or, for a group counted by a scan, the
// put of the new count.
func (c memberCount) add(delta int) persist.Op {
	if c.present {
		return persist.IncrRawOp(c.key, uint64(int64(delta))) // wraps: -1 subtracts one
	}
	return persist.PutRawOp(c.key, be64(c.n+uint64(int64(delta))), 0)
}

// countOp is the op of a new group's count record (group.create).
func countOp(g string, n int) persist.Op {
	return persist.PutRawOp(memberCountKey(g), be64(uint64(n)), 0)
}
