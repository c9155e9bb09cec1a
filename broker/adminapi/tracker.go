package adminapi

import (
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// TrackerID is the mochi hook id of Tracker.
const TrackerID = "imqtt-adminapi-tracker"

// Tracker is a mochi hook that remembers when each connection's session was
// established (mochi keeps no such time), for connected_at. It provides
// OnSessionEstablished and OnDisconnect only, never changes a packet and owns
// no goroutine. Add it with server.AddHook(NewTracker(), nil) before Serve.
type Tracker struct {
	mqtt.HookBase
	now   func() time.Time
	mu    sync.Mutex
	since map[*mqtt.Client]time.Time
}

// NewTracker returns an empty tracker.
func NewTracker() *Tracker {
	return &Tracker{now: time.Now, since: make(map[*mqtt.Client]time.Time)}
}

// ID implements mqtt.Hook.
func (t *Tracker) ID() string { return TrackerID }

// Provides implements mqtt.Hook.
func (t *Tracker) Provides(b byte) bool {
	return b == mqtt.OnSessionEstablished || b == mqtt.OnDisconnect
}

// Init implements mqtt.Hook; the tracker takes no config.
func (t *Tracker) Init(config any) error {
	if config != nil {
		return ErrHookConfig
	}
	return nil
}

// Stop implements mqtt.Hook: it forgets every connection. Idempotent.
func (t *Tracker) Stop() error {
	t.mu.Lock()
	clear(t.since)
	t.mu.Unlock()
	return nil
}

// OnSessionEstablished records the time the CONNACK was written.
func (t *Tracker) OnSessionEstablished(cl *mqtt.Client, _ packets.Packet) {
	t.mu.Lock()
	t.since[cl] = t.now()
	t.mu.Unlock()
}

// OnDisconnect forgets the connection.
func (t *Tracker) OnDisconnect(cl *mqtt.Client, _ error, _ bool) {
	t.mu.Lock()
	delete(t.since, cl)
	t.mu.Unlock()
}

// ConnectedAt returns when cl's session was established, and false for a
// client the tracker did not see connect (restored from storage, or connected
// before the tracker was added).
func (t *Tracker) ConnectedAt(cl *mqtt.Client) (time.Time, bool) {
	if t == nil {
		return time.Time{}, false
	}
	t.mu.Lock()
	at, ok := t.since[cl]
	t.mu.Unlock()
	return at, ok
}
