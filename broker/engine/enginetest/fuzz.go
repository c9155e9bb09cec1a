package enginetest

import (
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// Fuzz input format: byte 0 picks the protocol version (even: 5, odd: 4);
// then each operation is one opcode byte (mod opCount) followed by the
// argument bytes it consumes. A short input ends the sequence early.
const (
	opConnect = iota
	opSubscribe
	opUnsubscribe
	opPublish
	opPuback
	opPubrec
	opPubrel
	opPubcomp
	opPingreq
	opDisconnect
	opAuth
	opGarbage
	opTruncated
	opCount
)

// fuzzWriteTimeout bounds each write of a sequence; livenessTimeout is the
// "no stuck session" bound of issue 17.
const (
	fuzzWriteTimeout = 200 * time.Millisecond
	livenessTimeout  = 2 * time.Second
	maxOps           = 64
)

var fuzzTopics = []string{"a", "a/b", "+/b", "#", "a/#/b", "", "$share/g/a", "$SYS/x", "a\xffb", "a\x00b"}

// FuzzSession fuzzes the session state machine of the broker that dial
// reaches: each input becomes a sequence of valid and invalid packets
// (CONNECT or not first, SUBSCRIBE, UNSUBSCRIBE, PUBLISH QoS 0-2 with ids,
// PUBACK/PUBREC/PUBREL/PUBCOMP with arbitrary ids, PINGREQ, DISCONNECT, AUTH,
// garbage bytes, truncated packets) sent on one real connection with short
// write deadlines, after which RunSession's liveness checks must pass. The
// corpus is seeded with valid sequences (Seeds).
//
// dial must return a new connection to a plain TCP MQTT listener each call
// (anonymous, allow-all ACL). Leak checks (goroutines, sessions, memory) are
// the caller's: run them after f.Fuzz returns or in t.Cleanup of the broker.
func FuzzSession(f *testing.F, dial func() (net.Conn, error)) {
	for _, s := range AllSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := RunSession(dial, data); err != nil {
			t.Fatal(err)
		}
	})
}

// Seeds returns valid packet sequences in the fuzz input format; FuzzSession
// adds invalid ones too.
func Seeds() [][]byte {
	// per op: CONNECT flags expiry | SUBSCRIBE/UNSUBSCRIBE id(2) opts topic |
	// PUBLISH flags topic id(2) len payload | acks id(2) | PINGREQ |
	// DISCONNECT reason | AUTH reason | garbage n bytes | truncated op cut
	return [][]byte{
		{0, opConnect, 0, 0, opPingreq, opDisconnect, 0},
		{1, opConnect, 0, 0, opSubscribe, 0, 1, 1, 1, opPublish, 1, 1, 0, 2, 1, 'x', opPuback, 0, 1, opDisconnect, 0},
		{0, opConnect, 1, 3, opSubscribe, 0, 1, 2, 0, opPublish, 2, 0, 0, 7, 1, 'y', opPubrel, 0, 7, opPubrec, 0, 1, opPubcomp, 0, 1, opDisconnect, 0},
		{0, opConnect, 2, 0, opPublish, 0, 1, 0, 0, 2, 'h', 'i', opUnsubscribe, 0, 3, 0, 1, opDisconnect, 4},
		{1, opConnect, 0, 0, opSubscribe, 0, 1, 0x22, 6, opPublish, 2, 3, 0, 9, 0, opPubrel, 0, 9, opPingreq, opDisconnect, 0},
		{0, opConnect, 0, 0, opPublish, 0x11, 1, 0, 0, 1, 'a', opPublish, 0x10, 5, 0, 0, 1, 'b', opDisconnect, 0},
	}
}

// AllSeeds returns Seeds and the invalid seeds: FuzzSession's corpus.
func AllSeeds() [][]byte { return append(Seeds(), invalidSeeds()...) }

// invalidSeeds are sequences the broker must refuse without getting stuck.
func invalidSeeds() [][]byte {
	return [][]byte{
		{0, opPublish, 1, 1, 0, 1, 1, 'z'},                              // no CONNECT first
		{0, opConnect, 0, 0, opConnect, 0, 0},                           // second CONNECT
		{0, opConnect, 0, 0, opAuth, 0x18, opGarbage, 3, 0xff, 0, 0x13}, // AUTH, garbage
		{0, opConnect, 0, 0, opTruncated, opPublish, 1, 1, 0, 1, 4, 'a', 'b', 'c', 'd', 5},
		{1, opConnect, 0, 0, opPublish, 0, 8, 0, 0, 1, 'u'}, // invalid UTF-8 topic on 3.1.1
	}
}

// fuzzInput reads arguments; past the end it yields zeros and done is set.
type fuzzInput struct {
	b    []byte
	done bool
}

func (in *fuzzInput) byte() byte {
	if len(in.b) == 0 {
		in.done = true
		return 0
	}
	c := in.b[0]
	in.b = in.b[1:]
	return c
}

func (in *fuzzInput) u16() uint16 { return uint16(in.byte())<<8 | uint16(in.byte()) }

func (in *fuzzInput) bytes(n int) []byte {
	n = min(n, len(in.b))
	p := in.b[:n]
	in.b = in.b[n:]
	return p
}

// buildOp turns the next operation of in into bytes on the wire.
func buildOp(in *fuzzInput, v byte, id, prefix string) ([]byte, bool) {
	op := in.byte() % opCount
	if in.done {
		return nil, false
	}
	topic := func() string {
		t := fuzzTopics[int(in.byte())%len(fuzzTopics)]
		if t == "" || t[0] == '$' || t == "#" {
			return t
		}
		return prefix + t
	}
	pk := packets.Packet{ProtocolVersion: v}
	switch op {
	case opConnect:
		flags, expiry := in.byte(), in.byte()
		pk = connectPacket(v, id, flags&1 == 0)
		if flags&2 != 0 {
			pk.Connect.WillFlag, pk.Connect.WillTopic, pk.Connect.WillQos = true, prefix+"will", (flags>>2)%3
			pk.Connect.WillPayload = []byte("w")
		}
		if flags&0x40 != 0 {
			pk.Connect.Keepalive = 1
		}
		pk.Properties.SessionExpiryInterval = uint32(expiry % 4)
		pk.Properties.SessionExpiryIntervalFlag = expiry != 0
		pk.Properties.ReceiveMaximum = uint16(flags>>4) + 1
	case opSubscribe, opUnsubscribe:
		pid, opts := in.u16(), in.byte()
		typ := byte(packets.Subscribe)
		if op == opUnsubscribe {
			typ = packets.Unsubscribe
		}
		pk.FixedHeader = packets.FixedHeader{Type: typ, Qos: 1}
		pk.PacketID = pid
		pk.Filters = packets.Subscriptions{{Filter: topic(), Qos: opts % 3, NoLocal: opts&4 != 0,
			RetainAsPublished: opts&8 != 0, RetainHandling: (opts >> 4) % 3}}
	case opPublish:
		flags := in.byte()
		qos := flags % 3
		t := topic()
		pid := in.u16()
		if qos > 0 && pid == 0 {
			pid = 1
		}
		pk = publishPacket(t, qos, pid, in.bytes(int(in.byte())))
		pk.ProtocolVersion = v
		pk.FixedHeader.Retain = flags&4 != 0
		pk.FixedHeader.Dup = flags&8 != 0 && qos > 0
		if v == 5 && flags&0x10 != 0 {
			pk.Properties.TopicAlias, pk.Properties.TopicAliasFlag = uint16(flags>>5)+1, true
		}
		if v == 5 && flags&0x80 != 0 {
			pk.Properties.MessageExpiryInterval = 1
		}
	case opPuback, opPubrec, opPubrel, opPubcomp:
		typ := []byte{packets.Puback, packets.Pubrec, packets.Pubrel, packets.Pubcomp}[op-opPuback]
		pk = ackPacket(typ, in.u16())
		pk.ProtocolVersion = v
	case opPingreq:
		return []byte{0xc0, 0}, true
	case opDisconnect:
		return []byte{0xe0, 1, in.byte()}, true
	case opAuth:
		return []byte{0xf0, 1, in.byte()}, true
	case opGarbage:
		return in.bytes(int(in.byte()) % 32), true
	case opTruncated:
		b, ok := buildOp(in, v, id, prefix)
		if !ok || len(b) < 2 {
			return b, ok
		}
		return b[:1+int(in.byte())%(len(b)-1)], true
	}
	b, err := encodePacket(pk)
	if err != nil { // e.g. QoS > 0 without id: send what the codec refused as garbage
		return []byte{pk.FixedHeader.Type << 4, 0}, true
	}
	return b, true
}

// RunSession plays data (FuzzSession's format) on one connection from dial,
// ends it, and then checks that the broker is not stuck: a fresh client with
// the same client id gets CONNACK 0, and PINGREQ gets PINGRESP, each within
// livenessTimeout (2 s). An error wraps ErrStuck.
//
// The probe reuses the sequence's client id, so it must not race the
// sequence's own packets: a CONNECT of the sequence still unread in the
// broker's socket would otherwise be handled after the probe's and take it
// over. So the sequence is ended by a half-close (the client's FIN after its
// last byte) and the driver reads until the broker closes its side (EOF or a
// reset) within livenessTimeout: a broker reads a stream in order, so once it
// has closed, every packet of the sequence it will ever handle was handled,
// and the probe's CONNECT can only take over the sequence's session, never be
// taken over. No EOF in time is ErrStuck (a broker must close a connection
// whose client sent FIN). A conn without CloseWrite is closed instead, with
// the race above.
func RunSession(dial func() (net.Conn, error), data []byte) error {
	if len(data) == 0 {
		data = []byte{0}
	}
	v := byte(5)
	if data[0]%2 == 1 {
		v = 4
	}
	in := &fuzzInput{b: data[1:]}
	id := uniq("fuzz")
	prefix := "fuzz/" + id + "/"
	conn, err := dial()
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	readErr := make(chan error, 1)
	go func() { // owned: ends at the broker's EOF or the read deadline set below
		_, err := io.Copy(io.Discard, conn)
		readErr <- err
	}()
	for range maxOps {
		b, ok := buildOp(in, v, id, prefix)
		if !ok {
			break
		}
		_ = conn.SetWriteDeadline(time.Now().Add(fuzzWriteTimeout))
		if _, err := conn.Write(b); err != nil {
			break // the broker closed the connection: a valid answer
		}
	}
	hc, ok := conn.(interface{ CloseWrite() error })
	if !ok {
		_ = conn.Close()
		<-readErr
		return tryAlive(dial, id, livenessTimeout)
	}
	_ = hc.CloseWrite()
	_ = conn.SetReadDeadline(time.Now().Add(livenessTimeout))
	if err := <-readErr; isTimeout(err) {
		return fmt.Errorf("the broker did not close the sequence's connection within %v of the client's FIN: %w", livenessTimeout, ErrStuck)
	}
	_ = conn.Close()
	return tryAlive(dial, id, livenessTimeout)
}

// isTimeout reports whether err is a deadline's.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func tryAlive(dial func() (net.Conn, error), id string, d time.Duration) error {
	conn, err := dial()
	if err != nil {
		return fmt.Errorf("dial after the sequence: %w (%w)", ErrStuck, err)
	}
	c := &raw{conn: conn, v: 5}
	c.r = newReader(conn)
	defer c.close()
	if err := c.send(connectPacket(5, id, true)); err != nil {
		return fmt.Errorf("CONNECT %s after the sequence: %w (%w)", id, ErrStuck, err)
	}
	ack, _, err := c.expect(packets.Connack, d)
	if err != nil {
		return fmt.Errorf("CONNECT %s after the sequence: %w (%w)", id, ErrStuck, err)
	}
	if ack.ReasonCode != 0 {
		return fmt.Errorf("CONNECT %s after the sequence: CONNACK %#x: %w", id, ack.ReasonCode, ErrStuck)
	}
	if err := c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Pingreq}}); err != nil {
		return fmt.Errorf("PINGREQ: %w (%w)", ErrStuck, err)
	}
	if _, _, err := c.expect(packets.Pingresp, d); err != nil && !errors.Is(err, ErrUnexpected) {
		return fmt.Errorf("PINGREQ after the sequence: %w (%w)", ErrStuck, err)
	} else if err != nil {
		return fmt.Errorf("PINGREQ after the sequence: %w", err)
	}
	_ = c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect},
		Properties: packets.Properties{SessionExpiryIntervalFlag: true}})
	return nil
}
