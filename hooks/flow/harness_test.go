package flow_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/imqtt/imqtt/hooks/flow"
	"github.com/imqtt/imqtt/internal/testkit"
	"github.com/imqtt/imqtt/internal/testkit/mochitest"
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/rs/zerolog"
)

// allowHook allows every connection and topic; it comes after the flow hook, as
// the real ACL hook does in imqttd, and vetoes a delivery the byte bound
// refused (the broker's ACL policy on Hook.Dropping).
type allowHook struct {
	mqtt.HookBase
	flow *flow.Hook
}

func (h *allowHook) ID() string { return "test-allow-all" }
func (h *allowHook) Provides(b byte) bool {
	return b == mqtt.OnConnectAuthenticate || b == mqtt.OnACLCheck
}
func (h *allowHook) OnConnectAuthenticate(*mqtt.Client, packets.Packet) bool { return true }
func (h *allowHook) OnACLCheck(cl *mqtt.Client, _ string, write bool) bool {
	return write || !h.flow.Dropping(cl.ID)
}

// startBroker runs a real mochi server on 127.0.0.1:0 with the given queue and
// in-flight bounds and, when wait > 0, the flow hook in front of the ACL.
func startBroker(t *testing.T, queue int32, inflight uint16, wait time.Duration) (string, *flow.Hook) {
	t.Helper()
	return startBrokerCfg(t, queue, inflight, flow.Config{MaxWait: wait})
}

// startBrokerCfg is startBroker with the whole flow config; the hook's tap is
// added last.
func startBrokerCfg(t *testing.T, queue int32, inflight uint16, cfg flow.Config) (string, *flow.Hook) {
	t.Helper()
	caps := mqtt.NewDefaultServerCapabilities()
	caps.MaximumClientWritesPending = queue
	caps.MaximumInflight = inflight
	h, err := flow.New(cfg, flow.Options{MaxInflight: int(inflight), Log: testkit.Logger(t, zerolog.TraceLevel)})
	if err != nil {
		t.Fatalf("flow.New: %v", err)
	}
	addr, _ := mochitest.Serve(t, mochitest.Options{Capabilities: caps, InlineClient: true}, h, &allowHook{flow: h}, h.Tap())
	return addr, h
}

// rawSub is a hand-driven MQTT 3.1.1 subscriber: it reads only when told to,
// with a small socket receive buffer, so the broker's queue towards it fills.
type rawSub struct {
	c net.Conn
	r *bufio.Reader
}

func dialRawSub(t *testing.T, addr, id, filter string, qos byte) *rawSub {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		}); err != nil {
			return err
		}
		return serr
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	s := &rawSub{c: c, r: bufio.NewReaderSize(c, 64<<10)}
	// CONNECT: protocol "MQTT" level 4, clean session, keepalive 60.
	vh := append([]byte{0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 60}, str(id)...)
	s.write(t, 0x10, vh)
	if typ, _ := s.next(t); typ != 0x20 {
		t.Fatalf("want CONNACK, got type %#x", typ)
	}
	sub := append([]byte{0, 1}, str(filter)...)
	s.write(t, 0x82, append(sub, qos))
	if typ, _ := s.next(t); typ != 0x90 {
		t.Fatalf("want SUBACK, got type %#x", typ)
	}
	return s
}

func str(s string) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(len(s)))
	return append(b, s...)
}

func (s *rawSub) write(t *testing.T, first byte, body []byte) {
	t.Helper()
	b := []byte{first}
	for n := len(body); ; {
		d := byte(n % 128)
		n /= 128
		if n > 0 {
			d |= 0x80
		}
		b = append(b, d)
		if n == 0 {
			break
		}
	}
	if _, err := s.c.Write(append(b, body...)); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// next reads one packet: its type nibble (flags kept) and body.
func (s *rawSub) next(t *testing.T) (byte, []byte) {
	t.Helper()
	typ, body, err := s.read(10 * time.Second)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return typ & 0xF0, body
}

func (s *rawSub) read(idle time.Duration) (byte, []byte, error) {
	_ = s.c.SetReadDeadline(time.Now().Add(idle))
	typ, err := s.r.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	n, mul := 0, 1
	for i := 0; i < 4; i++ {
		d, err := s.r.ReadByte()
		if err != nil {
			return 0, nil, err
		}
		n += int(d&0x7F) * mul
		mul *= 128
		if d&0x80 == 0 {
			break
		}
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(s.r, body); err != nil {
		return 0, nil, err
	}
	return typ, body, nil
}

// drain reads PUBLISHes (acking QoS 1) until want arrived or nothing came for
// idle; it returns the payloads in arrival order.
func (s *rawSub) drain(t *testing.T, want int, idle time.Duration) [][]byte {
	t.Helper()
	got, err := s.collect(want, idle)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// collect is drain without the testing.T, for use off the test goroutine.
func (s *rawSub) collect(want int, idle time.Duration) ([][]byte, error) {
	var got [][]byte
	for len(got) < want {
		typ, body, err := s.read(idle)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return got, nil
		}
		if err != nil {
			return got, fmt.Errorf("read after %d messages: %w", len(got), err)
		}
		if typ&0xF0 != 0x30 {
			continue
		}
		tl := int(binary.BigEndian.Uint16(body))
		rest := body[2+tl:]
		if qos := (typ >> 1) & 3; qos > 0 {
			id := rest[:2]
			rest = rest[2:]
			if _, err := s.c.Write([]byte{0x40, 2, id[0], id[1]}); err != nil {
				return got, fmt.Errorf("puback: %w", err)
			}
		}
		got = append(got, rest)
	}
	return got, nil
}

// publisher is a paho.golang v5 client.
func publisher(t *testing.T, addr, id string) *paho.Client {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	cl := paho.NewClient(paho.ClientConfig{Conn: c})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ca, err := cl.Connect(ctx, &paho.Connect{ClientID: id, CleanStart: true, KeepAlive: 60})
	if err != nil || ca.ReasonCode != 0 {
		t.Fatalf("connect %s: %v %v", id, err, ca)
	}
	t.Cleanup(func() { _ = cl.Disconnect(&paho.Disconnect{}) })
	return cl
}

// payload is publisher p's message n, padded to size bytes.
func payload(p, n, size int) []byte {
	b := make([]byte, size)
	copy(b, fmt.Sprintf("%d %d ", p, n))
	return b
}

func parsePayload(b []byte) (p, n int, err error) {
	_, err = fmt.Sscanf(string(b), "%d %d", &p, &n)
	return p, n, err
}
