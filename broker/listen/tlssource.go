package listen

import "crypto/tls"

// TLSSource is a listener's TLS material for servers outside this package (the
// engine's transport), with the same policy and file checks as this package's
// tls and wss listeners.
type TLSSource struct{ st *tlsStore }

// NewTLSSource reads and checks the certificate, key and client CA files
// (errors wrap ErrTLSMaterial and name the field and file).
func NewTLSSource(cfg TLSConfig) (*TLSSource, error) {
	st, err := newTLSStore(cfg)
	if err != nil {
		return nil, err
	}
	return &TLSSource{st: st}, nil
}

// ServerConfig returns the tls.Config for tls.Server: each handshake picks the
// material loaded last.
func (s *TLSSource) ServerConfig() *tls.Config { return s.st.serverConfig() }

// Reload re-reads the files; on error the current material stays in use.
// Established connections keep the material they were made with.
func (s *TLSSource) Reload() error {
	_, err := s.st.load()
	return err
}
