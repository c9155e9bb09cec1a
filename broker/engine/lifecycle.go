package engine

import (
	"fmt"
	"sync"

	"github.com/imqtt/imqtt/hooks/ext"
)

// lifecycle makes the ext.Lifecycle calls (the IM service's presence and
// device cap) in order per client id, never on a transport worker (they may
// wait for a raft commit):
//
//   - connected runs in admit (connect.go) on the client id's store writer
//     (storewrite.go), the connection paused until it and the session's
//     record are done; the CONNACK is queued after it. So a slow Connected
//     holds no worker, only its own connection and the writes queued for
//     its id after it (a second CONNECT of the id waits for it).
//   - disconnected runs in Closed, on the ended connection's reader
//     goroutine (one per connection, no worker), before the transport
//     closes the socket or releases the connection's slot.
//
// Two connections of one client id overlap at a takeover or a quick
// reconnect: the old one's Closed (on its reader) races the new one's
// admit (on the id's writer). The calls for one id are serialised by that
// id's entry lock, and what each does is decided from the session table at
// the time of the call, not from the order the calls arrive in:
//
//   - connected(Y) calls Lifecycle.Connected only while Y is still the
//     session's connection; accepted, Y is "recorded" (client.lifeOK).
//   - disconnected(X) of a recorded X calls Lifecycle.Disconnected unless a
//     newer connection Y of the same user is attached to the id by then: Y
//     carries the record on (Y.lifeOK), as the same device.
//
// So whichever call comes first, the implementation ends with the device
// recorded exactly while some connection of it is attached. The entries
// live only while a call for their id runs (refs).
type lifecycle struct {
	l   ext.Lifecycle // nil: no calls
	mu  sync.Mutex    // guards ids and each entry's refs
	ids map[string]*lifeEntry
}

type lifeEntry struct {
	mu   sync.Mutex // held during one call for the id; guards client.lifeOK
	refs int
}

func (lc *lifecycle) lock(id string) *lifeEntry {
	lc.mu.Lock()
	if lc.ids == nil {
		lc.ids = make(map[string]*lifeEntry)
	}
	en := lc.ids[id]
	if en == nil {
		en = &lifeEntry{}
		lc.ids[id] = en
	}
	en.refs++
	lc.mu.Unlock()
	en.mu.Lock()
	return en
}

func (lc *lifecycle) unlock(id string, en *lifeEntry) {
	en.mu.Unlock()
	lc.mu.Lock()
	if en.refs--; en.refs == 0 {
		delete(lc.ids, id)
	}
	lc.mu.Unlock()
}

// connected asks the Lifecycle about cl, attached and not yet answered
// (connect.go admit, on the id's writer, before the CONNACK). It returns the
// CONNACK reason code of a refusal, 0 to accept.
func (lc *lifecycle) connected(e *Engine, cl *client) byte {
	if lc.l == nil {
		return 0
	}
	id := cl.info.ID
	en := lc.lock(id)
	defer lc.unlock(id, en)
	if e.current(id) != cl {
		return 0 // already gone: its disconnected finds it not recorded
	}
	code := lc.l.Connected(e.ctx, &cl.info)
	cl.lifeOK = code == 0
	return code
}

// disconnected tells the Lifecycle that cl's connection ended (Closed, on
// its reader), unless a newer connection of the same user carries the
// device on.
func (lc *lifecycle) disconnected(e *Engine, cl *client) {
	if lc.l == nil {
		return
	}
	id := cl.info.ID
	en := lc.lock(id)
	defer lc.unlock(id, en)
	if !cl.lifeOK {
		return
	}
	cl.lifeOK = false
	if next := e.current(id); next != nil && next != cl && next.info.Username == cl.info.Username {
		next.lifeOK = true
		return
	}
	lc.l.Disconnected(&cl.info)
}

// current returns the connection attached to client id's session, nil if
// none.
func (e *Engine) current(id string) *client {
	e.mu.Lock()
	s := e.sessions[id]
	e.mu.Unlock()
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cl
}

// refuseAttached undoes the attach of cl, refused after it (no CONNACK sent
// yet): its will is dropped, not published, and its session detached as at a
// close (a clean one ends, a persistent one stays offline with its expiry).
func (e *Engine) refuseAttached(cl *client, code byte) {
	cl.s.mu.Lock()
	cl.will = nil
	cl.s.mu.Unlock()
	e.detach(cl, fmt.Errorf("%w: 0x%02x", ErrConnectRefused, code))
}
