package main

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// maxPacket bounds what the reader accepts from a broker.
const maxPacket = 1 << 20

// dialOptions are what every connection of a run shares.
type dialOptions struct {
	addr      string
	version   byte
	keepalive uint16
	user      string
	pass      string
	localIP   net.IP // nil: the kernel picks the source address
	timeout   time.Duration
	rbuf      int
	expiry    uint32 // > 0: persistent session (3.1.1 clean 0; v5 Session Expiry)
	tls       bool   // TLS without certificate verification (-tls)
}

// client is one MQTT connection. Reads happen on one goroutine (the owner's), writes
// are serialised by mu and buffered: callers Flush when a batch is complete.
type client struct {
	c       net.Conn
	version byte
	r       *bufio.Reader
	body    []byte // reused for packets that straddle the bufio buffer

	mu  sync.Mutex
	w   *bufio.Writer
	buf []byte

	closeOnce sync.Once
}

// dial opens a TCP connection and completes CONNECT/CONNACK within o.timeout.
func dial(o dialOptions, clientID string) (*client, error) {
	d := net.Dialer{Timeout: o.timeout}
	if o.localIP != nil {
		d.LocalAddr = &net.TCPAddr{IP: o.localIP}
	}
	nc, err := d.Dial("tcp", o.addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", o.addr, err)
	}
	if o.tls {
		tc := tls.Client(nc, &tls.Config{InsecureSkipVerify: true}) // -tls: a measurement against a test certificate
		_ = tc.SetDeadline(time.Now().Add(o.timeout))
		if err := tc.Handshake(); err != nil {
			nc.Close()
			return nil, fmt.Errorf("tls handshake %s: %w", o.addr, err)
		}
		nc = tc
	}
	rb := o.rbuf
	if rb == 0 {
		rb = 4096
	}
	c := &client{c: nc, version: o.version, r: bufio.NewReaderSize(nc, rb), w: bufio.NewWriterSize(nc, 32<<10)}
	_ = nc.SetDeadline(time.Now().Add(o.timeout))
	c.buf = encodeConnect(c.buf[:0], o.version, clientID, o.user, o.pass, o.keepalive, o.expiry)
	if _, err := nc.Write(c.buf); err != nil {
		nc.Close()
		return nil, fmt.Errorf("write connect: %w", err)
	}
	typ, _, body, err := c.read()
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("read connack: %w", err)
	}
	if typ != ptConnack {
		nc.Close()
		return nil, fmt.Errorf("expected connack, got packet type %d: %w", typ, ErrMalformed)
	}
	code, err := decodeConnack(body)
	if err != nil {
		nc.Close()
		return nil, err
	}
	if code != 0 {
		nc.Close()
		return nil, fmt.Errorf("connack code 0x%02x: %w", code, ErrRefused)
	}
	_ = nc.SetDeadline(time.Time{})
	return c, nil
}

// read returns the next packet. body aliases an internal buffer valid until the
// next read. Only the connection's reader goroutine may call it.
func (c *client) read() (typ, flags byte, body []byte, err error) {
	first, err := c.r.ReadByte()
	if err != nil {
		return 0, 0, nil, err
	}
	rem, mult := 0, 1
	for i := 0; ; i++ {
		if i == 4 {
			return 0, 0, nil, fmt.Errorf("remaining length longer than 4 bytes: %w", ErrMalformed)
		}
		b, err := c.r.ReadByte()
		if err != nil {
			return 0, 0, nil, err
		}
		rem += int(b&0x7f) * mult
		if b&0x80 == 0 {
			break
		}
		mult <<= 7
	}
	if rem > maxPacket {
		return 0, 0, nil, fmt.Errorf("remaining length %d: %w", rem, ErrTooLarge)
	}
	if rem <= c.r.Size() {
		p, err := c.r.Peek(rem)
		if err != nil {
			return 0, 0, nil, err
		}
		_, _ = c.r.Discard(rem)
		return first >> 4, first & 0x0f, p, nil
	}
	if cap(c.body) < rem {
		c.body = make([]byte, rem)
	}
	c.body = c.body[:rem]
	if _, err := io.ReadFull(c.r, c.body); err != nil {
		return 0, 0, nil, err
	}
	return first >> 4, first & 0x0f, c.body, nil
}

// subscribe sends SUBSCRIBE and waits for its SUBACK; only valid before the reader
// goroutine starts.
func (c *client) subscribe(filter string, qos byte, timeout time.Duration) error {
	_ = c.c.SetDeadline(time.Now().Add(timeout))
	defer c.c.SetDeadline(time.Time{})
	c.mu.Lock()
	c.buf = encodeSubscribe(c.buf[:0], c.version, 1, filter, qos)
	_, err := c.c.Write(c.buf)
	c.mu.Unlock()
	if err != nil {
		return fmt.Errorf("write subscribe: %w", err)
	}
	for {
		typ, _, body, err := c.read()
		if err != nil {
			return fmt.Errorf("read suback: %w", err)
		}
		if typ != ptSuback {
			continue // e.g. a retained message
		}
		_, code, err := decodeAckID(c.version, typ, body)
		if err != nil {
			return err
		}
		if code >= 0x80 {
			return fmt.Errorf("suback %q code 0x%02x: %w", filter, code, ErrRefused)
		}
		return nil
	}
}

// ping sends PINGREQ and waits for PINGRESP; only valid without a reader goroutine.
func (c *client) ping(timeout time.Duration) error {
	_ = c.c.SetDeadline(time.Now().Add(timeout))
	defer c.c.SetDeadline(time.Time{})
	if _, err := c.c.Write([]byte{ptPingreq << 4, 0}); err != nil {
		return err
	}
	for {
		typ, _, _, err := c.read()
		if err != nil {
			return err
		}
		if typ == ptPingresp {
			return nil
		}
	}
}

// writePublish buffers a PUBLISH; flush sends it.
func (c *client) writePublish(topic string, qos byte, id uint16, payload []byte) error {
	c.mu.Lock()
	c.buf = appendPublish(c.buf[:0], c.version, topic, qos, id, payload)
	_, err := c.w.Write(c.buf)
	c.mu.Unlock()
	return err
}

// writePuback buffers a PUBACK.
func (c *client) writePuback(id uint16) error {
	c.mu.Lock()
	c.buf = appendPuback(c.buf[:0], id)
	_, err := c.w.Write(c.buf)
	c.mu.Unlock()
	return err
}

// flush sends whatever is buffered.
func (c *client) flush() error {
	c.mu.Lock()
	err := c.w.Flush()
	c.mu.Unlock()
	return err
}

// disconnect sends DISCONNECT (best effort) and closes the socket; it is idempotent.
func (c *client) disconnect() {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		_ = c.c.SetWriteDeadline(time.Now().Add(time.Second))
		_ = c.w.Flush()
		_, _ = c.c.Write([]byte{ptDisconnect << 4, 0})
		c.mu.Unlock()
		c.c.Close()
	})
}

// readPublish reads until the next PUBLISH (other packets are skipped),
// acknowledges it if its QoS is 1 (flushing when nothing more is buffered) and
// returns it with its arrival time on clk.
func (c *client) readPublish(clk clock) (publish, int64, error) {
	for {
		typ, flags, body, err := c.read()
		if err != nil {
			return publish{}, 0, err
		}
		if typ != ptPublish {
			continue
		}
		now := clk.now()
		p, err := decodePublish(c.version, flags, body)
		if err != nil {
			return publish{}, 0, err
		}
		if p.QoS > 0 {
			_ = c.writePuback(p.ID)
			if c.r.Buffered() == 0 {
				_ = c.flush()
			}
		}
		return p, now, nil
	}
}
