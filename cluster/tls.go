package cluster

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// TLSConfig secures the cluster port with mutual TLS: every node presents a
// certificate signed by the cluster CA and accepts only peers that do. All
// three files or none.
type TLSConfig struct {
	// CertFile and KeyFile are this node's certificate (PEM, chain allowed)
	// and key.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// CAFile holds the cluster CA certificate(s) (PEM) that sign every node.
	CAFile string `yaml:"ca_file"`
	// ServerName, when set, is the name every node certificate must carry
	// (a DNS SAN); empty: any certificate signed by the CA is accepted (the
	// CA is dedicated to the cluster), whatever address it was dialled at.
	ServerName string `yaml:"server_name"`
}

// Enabled reports whether TLS is configured.
func (c TLSConfig) Enabled() bool { return c.CertFile != "" || c.KeyFile != "" || c.CAFile != "" }

func (c TLSConfig) validate() error {
	if !c.Enabled() {
		return nil
	}
	for field, v := range map[string]string{"cert_file": c.CertFile, "key_file": c.KeyFile, "ca_file": c.CAFile} {
		if v == "" {
			return fmt.Errorf("%w: cluster.tls.%s: required when cluster TLS is configured", ErrInvalidConfig, field)
		}
	}
	return nil
}

// load builds the server and client tls.Configs.
func (c TLSConfig) load() (server, client *tls.Config, err error) {
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: cluster.tls: load %s / %s: %v", ErrInvalidConfig, c.CertFile, c.KeyFile, err)
	}
	pem, err := os.ReadFile(c.CAFile)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: cluster.tls.ca_file: %v", ErrInvalidConfig, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, nil, fmt.Errorf("%w: cluster.tls.ca_file %s: no PEM certificate", ErrInvalidConfig, c.CAFile)
	}
	server = &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
	}
	client = &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		RootCAs:      pool,
		ServerName:   c.ServerName,
	}
	if c.ServerName == "" {
		// Verify the chain against the cluster CA, not the dialled address:
		// nodes are dialled by IP and the CA signs nothing but cluster nodes.
		client.InsecureSkipVerify = true
		client.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("cluster tls: peer sent no certificate")
			}
			certs := make([]*x509.Certificate, len(raw))
			for i, r := range raw {
				c, err := x509.ParseCertificate(r)
				if err != nil {
					return fmt.Errorf("cluster tls: peer certificate: %w", err)
				}
				certs[i] = c
			}
			inter := x509.NewCertPool()
			for _, c := range certs[1:] {
				inter.AddCert(c)
			}
			_, err := certs[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter,
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
			return err
		}
	}
	return server, client, nil
}
