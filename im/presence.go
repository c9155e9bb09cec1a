package im

import (
	"fmt"
	"sync"
)

// presence tracks the devices (client ids) of each user connected to this node.
// mu also orders the presence publishes of one transition after another, so a
// quick disconnect/connect never leaves "offline" retained after "online".
// Lock order: presence.mu, then nothing of the service (Deliver may call the
// CanX checks, which take no presence lock).
type presence struct {
	mu      sync.Mutex
	devices map[string]map[string]struct{}
}

// online reports whether user has a device connected to this node.
func (p *presence) online(user string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.devices[user]) > 0
}

// Presence statuses.
const (
	StatusOnline  = "online"
	StatusOffline = "offline"
)

// Connected records a device of c.User and, for the user's first device,
// publishes the retained presence "online" on im/presence/{user}. A device
// above Config.MaxDevices is refused with ErrTooManyDevices (and not recorded);
// a client id already recorded (a session takeover) is accepted as is. Clients
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
		s.publishPresence(c.User, StatusOnline)
	}
	return nil
}

// Disconnected forgets a device of c.User and, when it was the user's last,
// publishes the retained presence "offline" with last_seen. A device that was
// never recorded (refused by Connected) changes nothing.
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
		s.publishPresence(c.User, StatusOffline)
	}
}

// publishPresence publishes the retained presence of user. Called with
// presence.mu held.
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
