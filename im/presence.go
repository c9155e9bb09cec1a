package im

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/imqtt/imqtt/internal/logfield"
	"github.com/imqtt/imqtt/persist"
)

// Presence in a cluster: each node keeps the devices connected to it in
// memory, and records in the replicated store only whether a user has at
// least one device on it (key p/{user}/{node}, written when the user's first
// device connects to the node, deleted when the last one leaves). Every
// node's store observer (Observe) notes the users whose records changed; on
// the leader, presenceLoop recomputes each such user's status from the
// replica (online when any current member node has a record) and publishes the
// retained im/presence/{user} when it differs from what this node last
// published. One publisher, deciding in log order, so a user online on two
// nodes is not shown offline when one of them loses its device, and
// concurrent transitions on two nodes cannot leave a stale status behind.
//
// A node's records are removed when it starts (it has no device then: they
// are what a crash left behind) and do not count once it is no longer a
// member (Options.Members).
type presence struct {
	mu      sync.Mutex // devices; orders one node's record writes
	devices map[string]map[string]struct{}

	qmu       sync.Mutex
	pending   map[string]struct{} // users whose records changed
	published map[string]string   // status last published (leader only)
	wake      chan struct{}
}

// Presence statuses.
const (
	StatusOnline  = "online"
	StatusOffline = "offline"
)

// presenceWriteTimeout bounds a presence record write.
const presenceWriteTimeout = 10 * time.Second

// Connected records a device of c.User and, for the user's first device on
// this node, the user's presence record for this node. A device above
// Config.MaxDevices is refused with ErrTooManyDevices (and not recorded); a
// client id already recorded (a session takeover) is accepted as is. Clients
// without an im user name are ignored.
func (s *Service) Connected(c Client) error {
	if !ValidName(c.User) {
		return nil
	}
	if !s.begin() {
		return ErrClosed
	}
	defer s.end()
	p := &s.pres
	p.mu.Lock()
	defer p.mu.Unlock()
	devs := p.devices[c.User]
	if _, ok := devs[c.ClientID]; ok {
		return nil
	}
	if s.cfg.MaxDevices > 0 && len(devs) >= s.cfg.MaxDevices {
		return fmt.Errorf("im: user %q: %w (%d online)", c.User, ErrTooManyDevices, len(devs))
	}
	if devs == nil {
		devs = make(map[string]struct{}, 1)
		p.devices[c.User] = devs
	}
	devs[c.ClientID] = struct{}{}
	if len(devs) == 1 {
		s.writePresent(c.User, persist.PutRawOp(presentKey(c.User, s.opts.NodeName), []byte(strconv.FormatInt(s.nowMs(), 10)), 0))
	}
	return nil
}

// Disconnected forgets a device of c.User and, when it was the user's last on
// this node, deletes the user's presence record for this node. A device that
// was never recorded (refused by Connected) changes nothing.
func (s *Service) Disconnected(c Client) {
	if !ValidName(c.User) || !s.begin() {
		return
	}
	defer s.end()
	p := &s.pres
	p.mu.Lock()
	defer p.mu.Unlock()
	devs := p.devices[c.User]
	if _, ok := devs[c.ClientID]; !ok {
		return
	}
	delete(devs, c.ClientID)
	if len(devs) == 0 {
		delete(p.devices, c.User)
		s.writePresent(c.User, persist.DeleteRawOp(presentKey(c.User, s.opts.NodeName)))
	}
}

// writePresent applies a presence record change. A failed write is logged:
// presence is then stale until the user's next transition on this node.
func (s *Service) writePresent(user string, op persist.Op) {
	ctx, cancel := context.WithTimeout(s.life, presenceWriteTimeout)
	defer cancel()
	if _, err := s.apply(ctx, []persist.Op{op}); err != nil {
		s.log.Warn().Err(err).Str(logfield.User, user).Msg("presence record write failed")
	}
}

// clearOwnPresence deletes this node's presence records (at start: the node
// has no device yet, so they are left over from a crash) and queues their
// users for presenceLoop (the store observer is not installed yet).
func (s *Service) clearOwnPresence() error {
	var ops []persist.Op
	suffix := "/" + s.opts.NodeName
	err := s.opts.Store.ScanRaw([]byte(pfxPresent), persist.ScanOptions{}, func(key, _ []byte) error {
		if k := string(key); strings.HasSuffix(k, suffix) {
			ops = append(ops, persist.DeleteRawOp(append([]byte(nil), key...)))
			s.notePresence(k[len(pfxPresent) : len(k)-len(suffix)])
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w: scan presence records: %w", ErrStorage, err)
	}
	for len(ops) > 0 {
		n := min(len(ops), 256)
		ctx, cancel := context.WithTimeout(s.life, presenceWriteTimeout)
		_, err := s.apply(ctx, ops[:n])
		cancel()
		if err != nil {
			return err
		}
		ops = ops[n:]
	}
	return nil
}

// Observe is the store observer's part for the IM service (the broker calls
// it for every applied entry, on every node, in log order): it notes the users
// whose presence records changed, for presenceLoop. Quick, never blocks.
func (s *Service) Observe(_ uint64, batches [][]persist.Op, _ [][]persist.Result) {
	var users []string
	for _, b := range batches {
		for i := range b {
			op := &b[i]
			if op.Kind != persist.OpPutRaw && op.Kind != persist.OpDeleteRaw {
				continue
			}
			k := string(op.Key)
			if !strings.HasPrefix(k, pfxPresent) {
				continue
			}
			rest := k[len(pfxPresent):]
			if j := strings.LastIndexByte(rest, '/'); j > 0 {
				users = append(users, rest[:j])
			}
		}
	}
	s.notePresence(users...)
}

// notePresence queues users for presenceLoop.
func (s *Service) notePresence(users ...string) {
	if len(users) == 0 {
		return
	}
	p := &s.pres
	p.qmu.Lock()
	if p.pending == nil {
		p.pending = map[string]struct{}{}
	}
	for _, u := range users {
		p.pending[u] = struct{}{}
	}
	p.qmu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// presenceLoop publishes presence changes while this node leads (see the
// comment at the top). Owned by the Service; Close stops it.
func (s *Service) presenceLoop() {
	defer s.wg.Done()
	p := &s.pres
	for {
		select {
		case <-s.done:
			return
		case <-p.wake:
		}
		p.qmu.Lock()
		users := p.pending
		p.pending = nil
		p.qmu.Unlock()
		if s.opts.IsLeader != nil && !s.opts.IsLeader() {
			// Another node publishes; forget what we published, so a later
			// term of ours starts from the facts, not from memory.
			p.qmu.Lock()
			clear(p.published)
			p.qmu.Unlock()
			continue
		}
		for u := range users {
			status := StatusOffline
			if s.onlineAnywhere(u) {
				status = StatusOnline
			}
			p.qmu.Lock()
			same := p.published[u] == status
			p.published[u] = status
			p.qmu.Unlock()
			if !same {
				s.publishPresence(u, status)
			}
		}
	}
}

// onlineHere reports whether user has a device connected to this node (no
// store read: the push check asks it first).
func (s *Service) onlineHere(user string) bool {
	s.pres.mu.Lock()
	defer s.pres.mu.Unlock()
	return len(s.pres.devices[user]) > 0
}

// onlineAnywhere reports whether user has a device on a current member node
// (from the local replica).
func (s *Service) onlineAnywhere(user string) bool {
	var members map[string]bool
	if s.opts.Members != nil {
		members = map[string]bool{}
		for _, m := range s.opts.Members() {
			members[m] = true
		}
	}
	prefix := presentPrefix(user)
	found := false
	_ = s.opts.Store.ScanRaw(prefix, persist.ScanOptions{}, func(key, _ []byte) error {
		node := string(key[len(prefix):])
		if members == nil || members[node] {
			found = true
			return persist.ErrStopScan
		}
		return nil
	})
	return found
}

// publishPresence publishes the retained presence of user.
func (s *Service) publishPresence(user, status string) {
	ts := s.nowMs()
	b := make([]byte, 0, 96)
	b = appendStrField(append(b, '{'), "user", user, true)
	b = appendStrField(b, "status", status, false)
	if status == StatusOffline {
		b = appendIntField(b, "last_seen", ts, false)
	}
	b = appendIntField(b, "ts", ts, false)
	b = append(b, '}')
	s.deliver(Delivery{Topic: presenceTopic(user), Payload: b, QoS: 1, Retain: true})
}
