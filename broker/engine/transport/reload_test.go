package transport

import (
	"bytes"
	"crypto/tls"
	"errors"
	"os"
	"testing"

	"github.com/imqtt/imqtt/broker/listen"
)

// servedSerial handshakes a new TLS connection to the "tls" listener and
// returns the serial number of the certificate the server presented.
func servedSerial(t *testing.T, s *Server, ct *tls.Config) int64 {
	t.Helper()
	nc := dialTLS(t, s, ct, false).(*tls.Conn)
	defer nc.Close()
	return nc.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

// TestReloadTLS: after the files change, ReloadTLS makes new connections get
// the new certificate; an established connection keeps working; a broken file
// leaves the current material in use; tcp and unknown listeners are errors.
func TestReloadTLS(t *testing.T) {
	cfg, ct := tlsTestConfig(t)
	lt := cfg.Listeners[1].TLS
	h := newEcho(t)
	s := newTestServer(t, cfg, h)
	old := dialTLS(t, s, ct, false)
	mustWrite(t, old, connectPacket(4, 0, "old"))
	readN(t, old, 4)

	second := writeCert(t, lt, "second", 2)
	both := ct.Clone()
	both.RootCAs = ct.RootCAs.Clone()
	both.RootCAs.AddCert(second)
	if got := servedSerial(t, s, both); got != 1 {
		t.Fatalf("before ReloadTLS: serial %d, want 1", got)
	}
	if err := s.ReloadTLS("tls"); err != nil {
		t.Fatal(err)
	}
	if got := servedSerial(t, s, both); got != 2 {
		t.Fatalf("after ReloadTLS: serial %d, want 2", got)
	}
	mustWrite(t, old, []byte{0xc0, 0})
	if got := readN(t, old, 2); !bytes.Equal(got, []byte{0xd0, 0}) {
		t.Fatalf("established connection: % x", got)
	}

	if err := os.WriteFile(lt.CertFile, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.ReloadTLS("tls"); !errors.Is(err, listen.ErrTLSMaterial) {
		t.Fatalf("broken file: %v, want ErrTLSMaterial", err)
	}
	if got := servedSerial(t, s, both); got != 2 {
		t.Fatalf("after a failed reload: serial %d, want 2", got)
	}
	if err := s.ReloadTLS("tcp"); !errors.Is(err, listen.ErrNotTLS) {
		t.Fatalf("tcp listener: %v, want ErrNotTLS", err)
	}
	if err := s.ReloadTLS("nope"); !errors.Is(err, ErrUnknownListener) {
		t.Fatalf("unknown listener: %v, want ErrUnknownListener", err)
	}
}
