package listen

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"runtime"
	"testing"
	"time"

	ppackets "github.com/eclipse/paho.golang/packets"
	paho "github.com/eclipse/paho.golang/paho"
	pahov3 "github.com/eclipse/paho.mqtt.golang"
)

// testMaxPacket is the MaxPacketSize of the tests in this file.
const testMaxPacket = 1024

// publishQoS1 returns a QoS 1 PUBLISH (packet id 1) whose total size, fixed
// header included, is exactly total bytes.
func publishQoS1(v5 bool, total int) []byte {
	head := append(mqttString("big"), 0x00, 0x01)
	if v5 {
		head = append(head, 0x00) // no properties
	}
	for rem := total - 5; rem <= total-2; rem++ {
		if 1+len(varint(rem))+rem == total {
			pk := packet(0x32, append(head, bytes.Repeat([]byte{'p'}, rem-len(head))...))
			if len(pk) != total {
				panic(fmt.Sprintf("publish of %d bytes, want %d", len(pk), total))
			}
			return pk
		}
	}
	panic("no publish size")
}

// sizeBroker runs tcp, tls and ws listeners with MaxPacketSize set.
func sizeBroker(t *testing.T) (*testBroker, *tlsFiles) {
	t.Helper()
	lim := testLimits()
	lim.MaxPacketSize = testMaxPacket
	files := newTLSFiles(t)
	b := newTestBroker(t, lim, []Config{tcpConfig(), files.config("tls", KindTLS, ""), wsConfig()}, nil)
	return b, files
}

func tlsFor(kind string, files *tlsFiles) *tls.Config {
	if kind == KindTLS || kind == KindWSS {
		return files.clientTLS()
	}
	return nil
}

// expectPacket reads one packet and checks its header byte and body.
func expectPacket(t *testing.T, c net.Conn, r *bufio.Reader, header byte, body []byte) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	h, got, err := readPacket(r)
	if err != nil {
		t.Fatalf("reading packet %#x: %v", header, err)
	}
	if h != header || (body != nil && !bytes.Equal(got, body)) {
		t.Fatalf("got packet %#x % x, want %#x % x", h, got, header, body)
	}
}

// expectEOF reads until the server closes; it fails on any byte or a timeout.
func expectEOF(t *testing.T, c net.Conn, r *bufio.Reader) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := r.ReadByte()
	if err == nil {
		t.Fatalf("server sent %#x after the refusal, expected close", b)
	}
	if isTimeout(err) {
		t.Fatal("connection still open after the refusal")
	}
}

func TestPacketSizeRaw(t *testing.T) {
	b, files := sizeBroker(t)
	for _, kind := range []string{KindTCP, KindTLS, KindWS} {
		addr, tc := b.addr(kind), tlsFor(kind, files)

		t.Run(kind+"/v5 at the limit passes, one over gets disconnect 0x95", func(t *testing.T) {
			before := b.obs.rejectedFor(ReasonPacketTooLarge)
			c := mustDial(t, kind, addr, tc)
			r := rawConnect(t, c, connectV5("v5-"+kind))
			if _, err := c.Write(publishQoS1(true, testMaxPacket)); err != nil {
				t.Fatal(err)
			}
			expectPacket(t, c, r, 0x40, nil) // PUBACK
			if _, err := c.Write(publishQoS1(true, testMaxPacket+1)); err != nil {
				t.Fatal(err)
			}
			expectPacket(t, c, r, 0xe0, []byte{0x95, 0x00})
			expectEOF(t, c, r)
			eventually(t, 10*time.Second, "packet_too_large counted", func() bool {
				return b.obs.rejectedFor(ReasonPacketTooLarge) == before+1
			})
		})

		t.Run(kind+"/v311 one over is closed without disconnect", func(t *testing.T) {
			c := mustDial(t, kind, addr, tc)
			r := rawConnect(t, c, connectV311("v3-"+kind))
			if _, err := c.Write(publishQoS1(false, testMaxPacket)); err != nil {
				t.Fatal(err)
			}
			expectPacket(t, c, r, 0x40, []byte{0x00, 0x01})
			if _, err := c.Write(publishQoS1(false, testMaxPacket+1)); err != nil {
				t.Fatal(err)
			}
			expectEOF(t, c, r)
		})

		t.Run(kind+"/v5 pipelined packets before the refused one are served", func(t *testing.T) {
			c := mustDial(t, kind, addr, tc)
			stream := bytes.Join([][]byte{
				connectV5("pipe-" + kind),
				{0xc0, 0x00}, // PINGREQ
				publishQoS1(true, testMaxPacket),
				{0x30, 0xff, 0xff, 0xff, 0x7f}, // 256 MiB announced
			}, nil)
			if _, err := c.Write(stream); err != nil {
				t.Fatal(err)
			}
			r := bufio.NewReader(c)
			expectPacket(t, c, r, 0x20, nil) // CONNACK
			expectPacket(t, c, r, 0xd0, nil) // PINGRESP
			expectPacket(t, c, r, 0x40, nil) // PUBACK
			expectPacket(t, c, r, 0xe0, []byte{0x95, 0x00})
			expectEOF(t, c, r)
		})

		t.Run(kind+"/v5 malformed length gets disconnect 0x81", func(t *testing.T) {
			before := b.obs.rejectedFor(ReasonMalformedLength)
			c := mustDial(t, kind, addr, tc)
			r := rawConnect(t, c, connectV5("mal-"+kind))
			// The length split over two writes: the header is judged across reads.
			if _, err := c.Write([]byte{0x30, 0xff, 0xff}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Write([]byte{0xff, 0xff, 0x01}); err != nil {
				t.Fatal(err)
			}
			expectPacket(t, c, r, 0xe0, []byte{0x81, 0x00})
			expectEOF(t, c, r)
			eventually(t, 10*time.Second, "malformed_length counted", func() bool {
				return b.obs.rejectedFor(ReasonMalformedLength) == before+1
			})
		})
	}
}

// TestPacketSizeHugeAfterConnectAllocatesNothing: without the check mochi would
// allocate the announced 256 MiB body (its own MaximumPacketSize is unset here).
func TestPacketSizeHugeAfterConnectAllocatesNothing(t *testing.T) {
	b, _ := sizeBroker(t)
	before := b.obs.rejectedFor(ReasonPacketTooLarge)
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	for i := range 20 {
		c := mustDial(t, KindTCP, b.addr("tcp"), nil)
		r := rawConnect(t, c, connectV311(fmt.Sprintf("huge-%d", i)))
		if _, err := c.Write([]byte{0x30, 0xff, 0xff, 0xff, 0x7f}); err != nil {
			t.Fatal(err)
		}
		expectEOF(t, c, r)
	}
	runtime.ReadMemStats(&m1)
	if grown := m1.TotalAlloc - m0.TotalAlloc; grown > 64<<20 {
		t.Fatalf("allocated %d MiB for 20 refused 256 MiB packets", grown>>20)
	}
	eventually(t, 10*time.Second, "20 packet_too_large", func() bool {
		return b.obs.rejectedFor(ReasonPacketTooLarge) == before+20
	})
}

func TestPacketSizeRealClients(t *testing.T) {
	b, files := sizeBroker(t)
	for _, kind := range []string{KindTCP, KindTLS, KindWS} {
		addr, tc := b.addr(kind), tlsFor(kind, files)

		t.Run(kind+"/paho v5", func(t *testing.T) {
			disc := make(chan *paho.Disconnect, 1)
			conn := mustDial(t, kind, addr, tc)
			c := paho.NewClient(paho.ClientConfig{
				ClientID:           "paho5-" + kind,
				Conn:               ppackets.NewThreadSafeConn(conn),
				OnServerDisconnect: func(d *paho.Disconnect) { disc <- d },
			})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if ca, err := c.Connect(ctx, &paho.Connect{ClientID: "paho5-" + kind, KeepAlive: 30, CleanStart: true}); err != nil || ca.ReasonCode != 0 {
				t.Fatalf("connect: %v %+v", err, ca)
			}
			if _, err := c.Publish(ctx, &paho.Publish{Topic: "small", QoS: 1, Payload: []byte("fits")}); err != nil {
				t.Fatalf("small publish: %v", err)
			}
			_, _ = c.Publish(ctx, &paho.Publish{Topic: "big", QoS: 0, Payload: make([]byte, testMaxPacket)})
			select {
			case d := <-disc:
				if d.ReasonCode != 0x95 {
					t.Fatalf("disconnect reason %#x, want 0x95", d.ReasonCode)
				}
			case <-ctx.Done():
				t.Fatal("no DISCONNECT from the server")
			}
			select {
			case <-c.Done():
			case <-ctx.Done():
				t.Fatal("client still connected after the DISCONNECT")
			}
		})

		t.Run(kind+"/paho v311", func(t *testing.T) {
			lost := make(chan error, 1)
			opts := pahov3.NewClientOptions().AddBroker(v3URL(kind, addr)).SetClientID("paho3-" + kind).
				SetProtocolVersion(4).SetCleanSession(true).SetAutoReconnect(false).SetConnectRetry(false).
				SetConnectTimeout(5 * time.Second).SetKeepAlive(30 * time.Second).
				SetConnectionLostHandler(func(_ pahov3.Client, err error) { lost <- err })
			if tc != nil {
				opts.SetTLSConfig(tc)
			}
			c := pahov3.NewClient(opts)
			if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
				t.Fatalf("connect: %v", tok.Error())
			}
			defer c.Disconnect(0)
			if tok := c.Publish("small", 1, false, "fits"); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
				t.Fatalf("small publish: %v", tok.Error())
			}
			c.Publish("big", 0, false, make([]byte, testMaxPacket))
			select {
			case <-lost:
			case <-time.After(10 * time.Second):
				t.Fatal("connection not closed after the oversized publish")
			}
		})
	}
}
