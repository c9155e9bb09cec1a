package enginetest

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// ioTimeout bounds every wait for an answer the broker owes at once
// (CONNACK, SUBACK, an ack, a delivery to an online subscriber).
const ioTimeout = 5 * time.Second

// uniq returns prefix plus a random suffix: ids and topics of concurrent checks
// against one broker never collide.
func uniq(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}

// raw is an MQTT client over a bare net.Conn, for what paho hides: exact
// packets out, every packet in, and how the connection ends.
type raw struct {
	conn net.Conn
	r    *bufio.Reader
	v    byte // protocol version: 4 (3.1.1) or 5
}

func dialRaw(tg Target, v byte) (*raw, error) {
	conn, err := net.DialTimeout("tcp", tg.Addr, ioTimeout)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", tg.Addr, err)
	}
	return &raw{conn: conn, r: newReader(conn), v: v}, nil
}

func newReader(conn net.Conn) *bufio.Reader { return bufio.NewReader(conn) }

func (c *raw) close() { _ = c.conn.Close() }

// encodePacket encodes pk with mochi's codec (response topic and correlation
// data are always allowed).
func encodePacket(pk packets.Packet) ([]byte, error) {
	pk.Mods.AllowResponseInfo = true
	var b bytes.Buffer
	var err error
	switch pk.FixedHeader.Type {
	case packets.Connect:
		err = pk.ConnectEncode(&b)
	case packets.Publish:
		err = pk.PublishEncode(&b)
	case packets.Puback:
		err = pk.PubackEncode(&b)
	case packets.Pubrec:
		err = pk.PubrecEncode(&b)
	case packets.Pubrel:
		err = pk.PubrelEncode(&b)
	case packets.Pubcomp:
		err = pk.PubcompEncode(&b)
	case packets.Subscribe:
		err = pk.SubscribeEncode(&b)
	case packets.Unsubscribe:
		err = pk.UnsubscribeEncode(&b)
	case packets.Pingreq:
		err = pk.PingreqEncode(&b)
	case packets.Disconnect:
		err = pk.DisconnectEncode(&b)
	case packets.Auth:
		err = pk.AuthEncode(&b)
	default:
		return nil, fmt.Errorf("encode packet type %d: %w", pk.FixedHeader.Type, ErrUnexpected)
	}
	if err != nil {
		return nil, fmt.Errorf("encode packet type %d: %w", pk.FixedHeader.Type, err)
	}
	return b.Bytes(), nil
}

// send encodes pk for c's protocol version and writes it.
func (c *raw) send(pk packets.Packet) error {
	pk.ProtocolVersion = c.v
	b, err := encodePacket(pk)
	if err != nil {
		return err
	}
	return c.write(b)
}

func (c *raw) write(b []byte) error {
	_ = c.conn.SetWriteDeadline(time.Now().Add(ioTimeout))
	if _, err := c.conn.Write(b); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// read returns the next packet within d. A closed connection is ErrClosed
// (wrapping the cause), an expired deadline ErrTimeout.
func (c *raw) read(d time.Duration) (packets.Packet, error) {
	var pk packets.Packet
	_ = c.conn.SetReadDeadline(time.Now().Add(d))
	hb, err := c.r.ReadByte()
	if err != nil {
		return pk, c.readErr(err)
	}
	if err := pk.FixedHeader.Decode(hb); err != nil {
		return pk, fmt.Errorf("broker sent a bad fixed header %#x: %w (%w)", hb, ErrUnexpected, err)
	}
	n, _, err := packets.DecodeLength(c.r)
	if err != nil {
		return pk, c.readErr(err)
	}
	pk.FixedHeader.Remaining = n
	body := make([]byte, n)
	if _, err := io.ReadFull(c.r, body); err != nil {
		return pk, c.readErr(err)
	}
	pk.ProtocolVersion = c.v
	switch pk.FixedHeader.Type {
	case packets.Connack:
		err = pk.ConnackDecode(body)
	case packets.Publish:
		err = pk.PublishDecode(body)
	case packets.Puback:
		err = pk.PubackDecode(body)
	case packets.Pubrec:
		err = pk.PubrecDecode(body)
	case packets.Pubrel:
		err = pk.PubrelDecode(body)
	case packets.Pubcomp:
		err = pk.PubcompDecode(body)
	case packets.Suback:
		err = pk.SubackDecode(body)
	case packets.Unsuback:
		err = pk.UnsubackDecode(body)
	case packets.Pingresp:
	case packets.Disconnect:
		err = pk.DisconnectDecode(body)
	case packets.Auth:
		err = pk.AuthDecode(body)
	default:
		return pk, fmt.Errorf("broker sent packet type %d: %w", pk.FixedHeader.Type, ErrUnexpected)
	}
	if err != nil {
		return pk, fmt.Errorf("decode %s from broker: %w (%w)", typeName(pk.FixedHeader.Type), ErrUnexpected, err)
	}
	return pk, nil
}

func (c *raw) readErr(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("read: %w", ErrTimeout)
	}
	return fmt.Errorf("read: %w (%w)", ErrClosed, err)
}

// expect reads until a packet of type typ arrives within d; PUBLISHes that
// arrive first are returned in skipped (so nothing is lost); any other packet
// is an error.
func (c *raw) expect(typ byte, d time.Duration) (pk packets.Packet, skipped []packets.Packet, err error) {
	deadline := time.Now().Add(d)
	for {
		pk, err = c.read(time.Until(deadline))
		if err != nil {
			return pk, skipped, fmt.Errorf("waiting for %s: %w", typeName(typ), err)
		}
		if pk.FixedHeader.Type == typ {
			return pk, skipped, nil
		}
		if pk.FixedHeader.Type == packets.Publish && typ != packets.Publish {
			skipped = append(skipped, pk)
			continue
		}
		return pk, skipped, fmt.Errorf("waiting for %s got %s: %w", typeName(typ), describe(pk), ErrUnexpected)
	}
}

// connect sends CONNECT and returns the CONNACK; a reason code other than 0
// is an error.
func (c *raw) connect(pk packets.Packet) (packets.Packet, error) {
	if err := c.send(pk); err != nil {
		return pk, err
	}
	ack, _, err := c.expect(packets.Connack, ioTimeout)
	if err != nil {
		return ack, err
	}
	if ack.ReasonCode != 0 {
		return ack, fmt.Errorf("CONNACK reason %#x: %w", ack.ReasonCode, ErrUnexpected)
	}
	return ack, nil
}

// subscribe sends SUBSCRIBE id 1 for filters and checks that every filter
// was granted (reason < 0x80).
func (c *raw) subscribe(pid uint16, props packets.Properties, filters ...packets.Subscription) error {
	if err := c.send(packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Subscribe, Qos: 1},
		PacketID:    pid, Filters: filters, Properties: props,
	}); err != nil {
		return err
	}
	ack, _, err := c.expect(packets.Suback, ioTimeout)
	if err != nil {
		return err
	}
	if ack.PacketID != pid || len(ack.ReasonCodes) != len(filters) {
		return fmt.Errorf("SUBACK id %d codes %x for SUBSCRIBE id %d with %d filters: %w", ack.PacketID, ack.ReasonCodes, pid, len(filters), ErrUnexpected)
	}
	for i, rc := range ack.ReasonCodes {
		if rc >= 0x80 {
			return fmt.Errorf("SUBACK refused %q with %#x: %w", filters[i].Filter, rc, ErrUnexpected)
		}
	}
	return nil
}

// expectDisconnect reads until the broker sends DISCONNECT within d and
// checks its reason code; PUBLISHes in between are ignored. A close without
// DISCONNECT is an error.
func (c *raw) expectDisconnect(reason byte, d time.Duration) error {
	pk, _, err := c.expect(packets.Disconnect, d)
	if err != nil {
		return err
	}
	if pk.ReasonCode != reason {
		return fmt.Errorf("DISCONNECT reason %#x, want %#x: %w", pk.ReasonCode, reason, ErrUnexpected)
	}
	return nil
}

// expectClosed reads until the broker closes the connection within d. A
// DISCONNECT before the close is tolerated (mochi sends one to 3.1.1 clients
// too); any other packet is an error.
func (c *raw) expectClosed(d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		pk, err := c.read(time.Until(deadline))
		switch {
		case errors.Is(err, ErrClosed):
			return nil
		case err != nil:
			return fmt.Errorf("connection still open: %w", err)
		case pk.FixedHeader.Type == packets.Disconnect:
			continue
		default:
			return fmt.Errorf("waiting for close got %s: %w", describe(pk), ErrUnexpected)
		}
	}
}

// connectPacket is a CONNECT for protocol version v (4 or 5).
func connectPacket(v byte, id string, clean bool) packets.Packet {
	name := "MQTT"
	return packets.Packet{
		FixedHeader:     packets.FixedHeader{Type: packets.Connect},
		ProtocolVersion: v,
		Connect: packets.ConnectParams{
			ProtocolName: []byte(name), ClientIdentifier: id, Clean: clean, Keepalive: 60,
		},
	}
}

func publishPacket(topic string, qos byte, pid uint16, payload []byte) packets.Packet {
	return packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: qos},
		TopicName:   topic, PacketID: pid, Payload: payload,
	}
}

func ackPacket(typ byte, pid uint16) packets.Packet {
	fh := packets.FixedHeader{Type: typ}
	if typ == packets.Pubrel {
		fh.Qos = 1
	}
	return packets.Packet{FixedHeader: fh, PacketID: pid}
}

func typeName(t byte) string {
	if n, ok := packets.PacketNames[t]; ok {
		return n
	}
	return fmt.Sprintf("type %d", t)
}

func describe(pk packets.Packet) string {
	switch pk.FixedHeader.Type {
	case packets.Publish:
		return fmt.Sprintf("PUBLISH %q qos %d id %d", pk.TopicName, pk.FixedHeader.Qos, pk.PacketID)
	case packets.Disconnect, packets.Puback, packets.Pubrec, packets.Pubrel, packets.Pubcomp, packets.Connack:
		return fmt.Sprintf("%s id %d reason %#x", typeName(pk.FixedHeader.Type), pk.PacketID, pk.ReasonCode)
	}
	return typeName(pk.FixedHeader.Type)
}

// disconnectAndWait sends DISCONNECT and waits until the broker has closed its
// side, i.e. processed it: a message published before that may still be sent
// on this connection (and its redelivery then rightly carries DUP=1).
func (c *raw) disconnectAndWait() error {
	if err := c.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}}); err != nil {
		return err
	}
	return c.expectClosed(ioTimeout)
}
