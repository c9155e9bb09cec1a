package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/imqtt/imqtt/broker/engine/transport"
	"github.com/imqtt/imqtt/hooks/ext"
	"github.com/imqtt/imqtt/internal/logfield"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/rs/zerolog"
)

// Options are the engine's collaborators. Auth and ACL are required (there
// is no implicit allow-all); Observer, Handler and Lifecycle may be nil.
type Options struct {
	Auth     ext.Authenticator
	ACL      ext.Authorizer
	Observer ext.Observer
	// Handler handles the publishes it claims (handoff.go); Lifecycle hears
	// of connections (lifecycle.go). The IM service implements both.
	Handler   ext.PublishHandler
	Lifecycle ext.Lifecycle
	// Router, when set, routes between the nodes of a cluster (cluster.go);
	// nil: a single node.
	Router ext.Router
	Log    zerolog.Logger
	// Store, when set, makes persistent sessions durable (doc.go "Durable
	// sessions"); New loads the stored sessions and retained messages. nil:
	// every session lives in memory only.
	Store ext.Store
}

// Engine is the MQTT protocol layer: it implements transport.Handler.
type Engine struct {
	cfg   Config
	auth  ext.Authenticator
	acl   ext.Authorizer
	obs   ext.Observer
	store ext.Store // nil: no durable sessions
	// shared is store when other nodes write it too (mirror.go); nil
	// otherwise.
	shared ext.SharedStore
	log    zerolog.Logger
	// limitLog is log sampled to one line per limitLogEvery: refusals by a
	// bound can come as fast as a client can send.
	limitLog zerolog.Logger

	handler ext.PublishHandler // nil: every publish is routed
	life    lifecycle          // Options.Lifecycle, ordered per client id
	authp   *authPool          // Authenticate calls off the workers (authstep.go)

	router ext.Router // nil without a cluster (cluster.go)

	topics index

	mu       sync.Mutex // the session table; lock order: mu -> session.mu -> index
	sessions map[string]*session
	perUser  map[string]int        // persistent sessions per authenticated user (bounds.go)
	offline  map[*session]struct{} // sessions without a connection (expiry, delayed wills)
	due      map[int64][]*session  // sweep.go's wheel: unix second -> sessions with a deadline then
	swept    int64                 // the last second swept
	// expiring is expiry.go's wheel: unix second -> clients whose
	// credentials expire then; expSwept the last second it swept.
	expiring map[int64]map[*client]struct{}
	expSwept int64

	st stats // $SYS counters (stats.go)

	opened atomic.Int64 // connections opened (Open) and closed (Closed)
	gone   atomic.Int64

	ctx    context.Context // ends at Close: Authenticate's ctx
	cancel context.CancelFunc
	done   chan struct{}
	wg     sync.WaitGroup // the sweeper and drain waiters
	once   sync.Once

	// Store writes (storewrite.go): per client id writers and publish
	// goroutines, counted in wrun; sctx is their context, cancelled when
	// Close's wait for them ends.
	wmu     sync.Mutex
	writers map[string]*writer
	copies  map[string]*copies // durable publishes in flight per target client id
	wrun    int
	widle   chan struct{} // closed when wrun drops to 0
	sctx    context.Context
	scancel context.CancelFunc

	// The mirror of other nodes' writes (mirror.go): events queued in log
	// order for the mirror goroutine; loading while New reads the store.
	mmu     sync.Mutex
	mq      []mevent
	mwake   chan struct{}
	loading bool
}

var _ transport.Handler = (*Engine)(nil)

// New checks cfg and starts the engine's one ticker goroutine (sweep.go).
func New(cfg Config, opts Options) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.Auth == nil || opts.ACL == nil {
		return nil, fmt.Errorf("engine: Options.Auth and Options.ACL are required: %w", ErrInvalidConfig)
	}
	if opts.Observer == nil {
		opts.Observer = nopObserver{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Engine{
		cfg:      cfg,
		auth:     opts.Auth,
		acl:      opts.ACL,
		obs:      opts.Observer,
		handler:  opts.Handler,
		life:     lifecycle{l: opts.Lifecycle},
		authp:    newAuthPool(),
		store:    opts.Store,
		writers:  make(map[string]*writer),
		copies:   make(map[string]*copies),
		log:      opts.Log.With().Str(logfield.Component, "engine").Logger(),
		topics:   newTrie(),
		sessions: make(map[string]*session),
		perUser:  make(map[string]int),
		offline:  make(map[*session]struct{}),
		due:      make(map[int64][]*session),
		ctx:      ctx,
		cancel:   cancel,
		done:     make(chan struct{}),
	}
	e.limitLog = e.log.Sample(&zerolog.BurstSampler{Burst: 1, Period: limitLogEvery})
	if opts.Router != nil {
		e.router = opts.Router
		e.topics = routedIndex{index: e.topics, r: opts.Router}
	}
	e.sctx, e.scancel = context.WithCancel(context.Background())
	e.st.started = now().Unix()
	if sh, ok := e.store.(ext.SharedStore); ok {
		// Watched before the load: what is applied during it is queued.
		e.shared, e.mwake, e.loading = sh, make(chan struct{}, 1), true
		sh.Watch(storeEvents{e})
	}
	if e.store != nil {
		if err := e.load(); err != nil {
			if e.shared != nil {
				e.shared.Watch(nil)
			}
			cancel()
			_ = e.waitWrites(context.Background())
			e.scancel()
			return nil, err
		}
	}
	if e.shared != nil {
		e.loaded()
	}
	e.wg.Add(1)
	go e.sweeper()
	if cfg.SysInterval > 0 {
		e.wg.Add(1)
		go e.sysLoop()
	}
	return e, nil
}

// Close sends DISCONNECT 0x8B to every connected v5 client, closes every
// connection, stops the sweeper and waits for the engine's goroutines. It is
// idempotent. Call it before transport.Server.Close so the DISCONNECTs are
// written.
func (e *Engine) Close(ctx context.Context) error {
	e.once.Do(func() {
		if e.shared != nil {
			e.shared.Watch(nil)
		}
		close(e.done)
		e.cancel()
		e.mu.Lock()
		var conns []*client
		var ready []bool
		for _, s := range e.sessions {
			s.mu.Lock()
			if s.cl != nil {
				conns = append(conns, s.cl)
				ready = append(ready, s.cl.ready)
			}
			s.mu.Unlock()
		}
		e.mu.Unlock()
		for i, cl := range conns {
			if ready[i] { // never a DISCONNECT before the CONNACK [MQTT-3.2.0-1]
				cl.sendDisconnect(nil, ErrServerShutdown)
			}
			cl.conn.Close(ErrServerShutdown)
			// Detached now, so a durable session's record (disconnected,
			// its unpublished will kept) is written before Close returns.
			e.detach(cl, ErrServerShutdown)
		}
	})
	ch := make(chan struct{})
	go func() { e.wg.Wait(); close(ch) }()
	select {
	case <-ch:
	case <-ctx.Done():
		e.scancel()
		return ctx.Err()
	}
	err := e.waitWrites(ctx)
	e.scancel() // later writes (connections still closing) fail at once
	return err
}

func (e *Engine) closed() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

// Open accepts every connection; the CONNECT decides (connect.go).
func (e *Engine) Open(c *transport.Conn) error {
	e.opened.Add(1)
	if e.closed() {
		return ErrServerShutdown
	}
	return nil
}

// Packet dispatches one packet. The first packet must be CONNECT
// [MQTT-3.1.0-1]; an error closes the connection after the batch's flush
// (a v5 client gets a DISCONNECT with the error's reason code first).
func (e *Engine) Packet(b *transport.Batch, c *transport.Conn, fh packets.FixedHeader, body []byte) error {
	cl, _ := c.Data().(*client)
	if cl == nil {
		if fh.Type != packets.Connect {
			return fmt.Errorf("%w: first packet is %s, not CONNECT [MQTT-3.1.0-1]", ErrProtocol, packets.PacketNames[fh.Type])
		}
		return e.connect(b, c, fh, body)
	}
	if cl.closing != nil {
		return cl.discard()
	}
	e.obs.PacketReceived(firstByte(fh), fh.Remaining+headerLen(fh.Remaining))
	e.st.pktIn.Add(1)
	e.st.bytesIn.Add(int64(fh.Remaining + headerLen(fh.Remaining)))
	var err error
	if uint32(fh.Remaining) > e.cfg.MaxPacketSize { // [MQTT-3.2.2-15] if the transport's bound is looser
		err = fmt.Errorf("%w: %d bytes", ErrPacketTooLarge, fh.Remaining)
	} else {
		err = cl.packet(b, fh, body)
	}
	if err != nil && !errors.Is(err, ErrNormal) && !errors.Is(err, ErrDisconnectWithWill) {
		cl.logEvent(cl.e.log.Debug()).Err(err).Msg("closing connection")
		if cl.v5() {
			cl.sendDisconnect(b, err)
			cl.linger(err)
			return nil
		}
	}
	return err
}

func (cl *client) packet(b *transport.Batch, fh packets.FixedHeader, body []byte) error {
	pk, err := decode(fh, body, cl.info.ProtocolVersion)
	if err != nil {
		return err
	}
	switch fh.Type {
	case packets.Connect:
		return fmt.Errorf("%w: second CONNECT [MQTT-3.1.0-2]", ErrProtocol)
	case packets.Publish:
		return cl.publish(b, &pk)
	case packets.Puback, packets.Pubrec, packets.Pubcomp:
		return cl.ack(b, &pk)
	case packets.Pubrel:
		return cl.pubrel(b, &pk)
	case packets.Subscribe:
		return cl.subscribe(b, &pk)
	case packets.Unsubscribe:
		return cl.unsubscribe(b, &pk)
	case packets.Pingreq:
		cl.send(b, &packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pingresp}}) // [MQTT-3.12.4-1]
		return nil
	case packets.Disconnect:
		return cl.disconnect(&pk)
	case packets.Auth:
		return fmt.Errorf("%w: AUTH without an authentication method", ErrProtocol) // [MQTT-4.12.0-1]
	}
	return fmt.Errorf("%w: unexpected packet type %d", ErrProtocol, fh.Type)
}

// Malformed answers a stream the framer refused: a v5 client gets
// DISCONNECT 0x95 (too large) or 0x81 (malformed) first.
func (e *Engine) Malformed(b *transport.Batch, c *transport.Conn, err error) {
	cl, _ := c.Data().(*client)
	if cl == nil || cl.closing != nil {
		return
	}
	if errors.Is(err, transport.ErrPacketTooLarge) {
		err = fmt.Errorf("%w: %w", ErrPacketTooLarge, err) // [MQTT-3.2.2-15]
	} else {
		err = fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	cl.sendDisconnect(b, err)
}

// Closed ends the connection's part of its session (disconnect.go).
func (e *Engine) Closed(c *transport.Conn, cause error) {
	defer e.gone.Add(1)
	cl, _ := c.Data().(*client)
	if cl == nil || !e.markLost(cl) {
		return // no CONNECT, or closed before its session was attached
	}
	if cl.closing != nil {
		cause = cl.closing // the reason of the server's DISCONNECT, not the linger's end
	}
	e.connectionLost(cl, cause)
	e.life.disconnected(e, cl)
}

type nopObserver struct{}

func (nopObserver) ClientConnected(*ext.Client)            {}
func (nopObserver) ClientDisconnected(*ext.Client, string) {}
func (nopObserver) PacketReceived(byte, int)               {}
func (nopObserver) PacketSent(byte, int)                   {}
func (nopObserver) MessageDropped(string)                  {}
func (nopObserver) LimitRefused(string)                    {}

func now() time.Time { return time.Now() }
