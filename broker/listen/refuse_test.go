package listen

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

func TestReadConnectLevel(t *testing.T) {
	tests := []struct {
		name  string
		in    []byte
		level byte
		ok    bool
	}{
		{"v5", connectV5("a"), 5, true},
		{"v3.1.1", connectV311("a"), 4, true},
		{"v3.1", connectV31("a"), 3, true},
		{"four length bytes", append([]byte{0x10, 0x80, 0x80, 0x80, 0x01}, connectV5("a")[2:]...), 5, true},
		{"five length bytes", []byte{0x10, 0x80, 0x80, 0x80, 0x80, 0x01}, 0, false},
		{"not connect", []byte{0x30, 0x02, 0x00, 0x00}, 0, false},
		{"http", []byte("GET / HTTP/1.1\r\n"), 0, false},
		{"tls hello", []byte{0x16, 0x03, 0x01, 0x00, 0x05}, 0, false},
		{"bad name", packet(0x10, append(mqttString("MQTX"), 4)), 0, false},
		{"mqtt level 3", packet(0x10, append(mqttString("MQTT"), 3)), 0, false},
		{"MQIsdp level 4", packet(0x10, append(mqttString("MQIsdp"), 4)), 0, false},
		{"truncated", connectV5("a")[:6], 0, false},
		{"empty", nil, 0, false},
	}
	for _, tt := range tests {
		level, ok := readConnectLevel(bufio.NewReader(bytes.NewReader(tt.in)))
		if level != tt.level || ok != tt.ok {
			t.Errorf("%s: %d %v, want %d %v", tt.name, level, ok, tt.level, tt.ok)
		}
	}
}

// FuzzReadConnectLevel: never panics, reads at most the fixed header, the
// protocol name and the level, and accepts only a known name/level pair.
func FuzzReadConnectLevel(f *testing.F) {
	for _, s := range [][]byte{connectV5("a"), connectV311("b"), connectV31("c"), {0x10}, {0x10, 0xff, 0xff, 0xff, 0xff}, {}} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		level, ok := readConnectLevel(bufio.NewReaderSize(r, 16))
		if !ok {
			return
		}
		if in[0] != 0x10 || (level != 3 && level != 4 && level != 5) {
			t.Fatalf("accepted % x as level %d", in, level)
		}
		if !bytes.Contains(in, []byte("MQTT")) && !bytes.Contains(in, []byte("MQIsdp")) {
			t.Fatalf("accepted % x without a protocol name", in)
		}
	})
}

// tcpPair returns the server side of a loopback TCP connection and its client.
func tcpPair(t *testing.T) (*net.TCPConn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	return s.(*net.TCPConn), c
}

// TestAnswererBoundsAndClose: a refused client that sends nothing is closed
// when the answer times out or at once by close (which waits for the
// goroutines); past maxAnswering, sockets are left to the caller.
func TestAnswererBoundsAndClose(t *testing.T) {
	var a answerer
	s, c := tcpPair(t)
	if !a.answer(s, nil, ReasonPerIPRate, 200*time.Millisecond) {
		t.Fatal("answer refused the first socket")
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	if n, err := c.Read(make([]byte, 8)); err != io.EOF || n != 0 {
		t.Fatalf("silent client: read %d, %v; want EOF", n, err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("silent client closed after %s", took)
	}
	if a.answer(s, nil, ReasonTLSHandshake, time.Second) {
		t.Fatal("answered a reason without a CONNACK code")
	}

	var clients []net.Conn
	for i := range maxAnswering + 1 {
		s, c := tcpPair(t)
		clients = append(clients, c)
		took := a.answer(s, nil, ReasonPerIPConnections, time.Minute)
		if took != (i < maxAnswering) {
			t.Fatalf("socket %d: answer took it: %v", i, took)
		}
		if !took {
			_ = s.Close()
		}
	}
	start = time.Now()
	a.close()
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("close took %s", took)
	}
	for i, c := range clients {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 8)); err == nil || isTimeout(err) {
			t.Fatalf("client %d not closed: %v", i, err)
		}
	}
	s, _ = tcpPair(t)
	defer s.Close()
	if a.answer(s, nil, ReasonPerIPRate, time.Second) {
		t.Fatal("answered after close")
	}
}
