package transport

import "github.com/mochi-mqtt/server/v2/packets"

// Handler is the protocol layer on top of the transport (the engine). The
// transport calls the methods of one connection one at a time (never
// concurrently), in this order: Open once; Packet and Malformed per read batch;
// Closed once.
type Handler interface {
	// Open: a new connection is ready for MQTT bytes (after TLS and the WebSocket
	// upgrade). Runs on a worker. A non-nil error closes it (Closed is still
	// called).
	Open(c *Conn) error
	// Packet: one complete packet, in order, on a worker. body is the packet after
	// the fixed header (fh.Remaining bytes), valid only during the call (it is a
	// pooled buffer). b is the current batch: Queue with b so that the flush
	// happens once at batch end. A non-nil error closes the connection after the
	// batch's flush (so a DISCONNECT queued just before is written first).
	Packet(b *Batch, c *Conn, fh packets.FixedHeader, body []byte) error
	// Malformed: the framer refused the stream (ErrPacketTooLarge from the
	// header's remaining length, ErrMalformed for a bad remaining length or fixed
	// header flags). The handler may queue a DISCONNECT (v5 0x95 / 0x81); the
	// transport then flushes and closes with err.
	Malformed(b *Batch, c *Conn, err error)
	// Closed: exactly once per opened connection, after its output ended (the
	// socket closed, or half-closed for the close linger: Queue returns Closed), with
	// the cause (io.EOF, ErrKeepalive, ErrConnectTimeout, ErrWriteTimeout,
	// ErrServerClosed, the handler's error, a read or write error). Runs on the
	// connection's reader goroutine; it may Queue to other connections (b == nil).
	Closed(c *Conn, cause error)
}
