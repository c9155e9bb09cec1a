package route

import (
	"errors"
	"fmt"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/cluster"
	"github.com/imqtt/imqtt/internal/logfield"
)

// ErrInvalidOptions is returned by New for missing collaborators.
var ErrInvalidOptions = errors.New("route: invalid options")

// Node is what the router needs of the cluster node (*cluster.Node).
type Node interface {
	ID() string
	Status() cluster.Status
	SetConnHandler(kind byte, h func(net.Conn))
	DialPeer(addr string, kind byte) (net.Conn, error)
}

// Options are the router's collaborators and limits.
type Options struct {
	Node Node
	// QueueLen is the number of frames queued per peer link (default 65536).
	QueueLen int
	// PeerInterval is how often the cluster membership is re-read (default
	// 500 ms).
	PeerInterval time.Duration
	Log          zerolog.Logger
}

// Router routes publishes between nodes (doc.go): the engine's ext.Router
// (engine.go).
type Router struct {
	opts   Options
	log    zerolog.Logger
	be     backend // the local broker: the engine (engine.go)
	remote table   // routes of the other nodes (table.go)

	mu         sync.Mutex
	local      map[string]int                 // filter -> local subscriptions
	peers      map[string]*peer               // outbound links by node id
	inbound    map[string]net.Conn            // inbound links by node id
	peerRoutes map[string]map[string]struct{} // filters each peer advertised
	started    bool
	closed     bool

	npeers atomic.Int32
	stats  Stats

	stop chan struct{}
	wg   sync.WaitGroup
}

// Stats are the router's counters.
type Stats struct {
	Forwarded     atomic.Uint64 // publish frames queued to peers
	Received      atomic.Uint64 // publishes received and injected
	Dropped       atomic.Uint64 // forwards dropped (link down or queue full)
	TakeoversSent atomic.Uint64
	TakeoversDone atomic.Uint64 // local clients disconnected for a takeover
}

// New builds the router; Start begins linking to the other nodes.
func New(opts Options) (*Router, error) {
	if opts.Node == nil {
		return nil, fmt.Errorf("%w: Node is required", ErrInvalidOptions)
	}
	if opts.QueueLen <= 0 {
		opts.QueueLen = 65536
	}
	if opts.PeerInterval <= 0 {
		opts.PeerInterval = 500 * time.Millisecond
	}
	r := &Router{
		opts:       opts,
		log:        opts.Log.With().Str(logfield.Component, "route").Str(logfield.NodeID, opts.Node.ID()).Logger(),
		local:      map[string]int{},
		peers:      map[string]*peer{},
		inbound:    map[string]net.Conn{},
		peerRoutes: map[string]map[string]struct{}{},
		stop:       make(chan struct{}),
	}
	return r, nil
}

// backend is what the router does on its own node: deliver what another
// node forwarded, take over a client, tell which shared groups it serves.
type backend interface {
	// deliver delivers a forwarded publish (pk.Filters: the shared groups
	// to serve here).
	deliver(pk *packets.Packet)
	// takeover ends the local connection of id if it is older than at.
	takeover(id string, at int64)
	// localGroups reports which shared groups matching topic have local
	// members (the origin serves them).
	localGroups(topic string) func(group string) bool
}

// Stats returns the router's counters.
func (r *Router) Stats() *Stats { return &r.stats }

// Start serves inbound links and starts the membership loop (which dials the
// other nodes). Called once, through StartEngine.
func (r *Router) Start() {
	r.mu.Lock()
	if r.started || r.closed || r.be == nil {
		r.mu.Unlock()
		return
	}
	r.started = true
	r.wg.Add(1)
	r.mu.Unlock()
	r.opts.Node.SetConnHandler(cluster.ConnLink, r.serveLink)
	go r.membershipLoop()
}

// Close stops the links and waits for the router's goroutines. Idempotent.
// Inbound links are closed by the node (they run on its connections); the
// router stops acting on them.
func (r *Router) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	close(r.stop)
	peers := r.peers
	r.peers = map[string]*peer{}
	inbound := r.inbound
	r.inbound = map[string]net.Conn{}
	r.mu.Unlock()
	r.npeers.Store(0)
	for _, p := range peers {
		p.close()
	}
	for _, c := range inbound {
		_ = c.Close()
	}
	r.wg.Wait()
	return nil
}

// membershipLoop keeps one outbound link per other member of the cluster.
func (r *Router) membershipLoop() {
	defer r.wg.Done()
	t := time.NewTicker(r.opts.PeerInterval)
	defer t.Stop()
	for {
		r.syncPeers()
		select {
		case <-t.C:
		case <-r.stop:
			return
		}
	}
}

// syncPeers starts links to new members and stops links (and forgets the
// routes) of members that left the configuration.
func (r *Router) syncPeers() {
	st := r.opts.Node.Status()
	want := map[string]string{}
	for _, s := range st.Servers {
		if s.ID != r.opts.Node.ID() {
			want[s.ID] = s.Addr
		}
	}
	if len(st.Servers) == 0 {
		return // no configuration known yet
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	var gone []*peer
	var goneIn []net.Conn
	for id, p := range r.peers {
		if addr, ok := want[id]; !ok || addr != p.addr {
			gone = append(gone, p)
			delete(r.peers, id)
		}
	}
	for id, c := range r.inbound {
		if _, ok := want[id]; !ok {
			goneIn = append(goneIn, c)
			delete(r.inbound, id)
			r.dropRoutesLocked(id)
		}
	}
	for id, addr := range want {
		if _, ok := r.peers[id]; !ok {
			p := newPeer(r, id, addr)
			r.peers[id] = p
			r.wg.Add(1)
			go p.run()
		}
	}
	r.npeers.Store(int32(len(r.peers)))
	r.mu.Unlock()
	for _, p := range gone {
		p.close()
	}
	for _, c := range goneIn {
		_ = c.Close()
	}
}

// isMember reports whether id is in the cluster configuration.
func (r *Router) isMember(id string) bool {
	for _, s := range r.opts.Node.Status().Servers {
		if s.ID == id {
			return true
		}
	}
	return false
}

// RemoteRoutes returns, per peer node id, the filters it advertised (sorted):
// the route table as this node sees it.
func (r *Router) RemoteRoutes() map[string][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][]string{}
	for id, fs := range r.peerRoutes {
		for f := range fs {
			out[id] = append(out[id], f)
		}
		sort.Strings(out[id])
	}
	return out
}

// LinkUp reports whether the outbound link to node id is connected (route
// changes and takeovers reach it).
func (r *Router) LinkUp(id string) bool {
	r.mu.Lock()
	p := r.peers[id]
	r.mu.Unlock()
	return p != nil && p.connected.Load()
}

// LocalRoutes returns the filters this node advertises, sorted.
func (r *Router) LocalRoutes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.localFiltersLocked()
}

func (r *Router) localFiltersLocked() []string {
	out := make([]string, 0, len(r.local))
	for f := range r.local {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// broadcastLocked queues a frame on every connected outbound link (route
// changes and takeovers: never dropped while the link is up; a link that
// reconnects starts with the full set).
func (r *Router) broadcastLocked(frame []byte) {
	for _, p := range r.peers {
		p.sendControl(frame)
	}
}

// dropRoutesLocked forgets every route peer id advertised.
func (r *Router) dropRoutesLocked(id string) {
	for f := range r.peerRoutes[id] {
		r.remote.remove(id, f)
	}
	delete(r.peerRoutes, id)
}
