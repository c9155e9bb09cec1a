package cluster

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/internal/logfield"
)

// The cluster secret (see handshake.go for how it is used).
const (
	// SecretFileName is the file under Config.DataDir that holds the secret
	// when neither Config.Secret nor Config.SecretFile is set: a node that
	// bootstraps creates it, the other nodes get a copy.
	SecretFileName = "cluster.secret"
	// minSecretLen is the shortest secret accepted, in bytes (after trimming
	// surrounding white space). A generated one is 64 hex digits.
	minSecretLen = 32
	// generatedSecretBytes is the entropy of a generated secret.
	generatedSecretBytes = 32
)

// hasExplicitSecret reports whether the secret is configured (Secret,
// SecretFile) rather than found or created under DataDir.
func (c Config) hasExplicitSecret() bool { return c.Secret != "" || c.SecretFile != "" }

// joins reports whether the node is meant to enter an existing cluster
// (Config.Join, or Bootstrap off: it waits to be added with Join) instead of
// bootstrapping one.
func (c Config) joins() bool { return len(c.Join) > 0 || !c.Bootstrap }

// defaultSecretPath is DataDir/cluster.secret.
func (c Config) defaultSecretPath() string { return filepath.Join(c.DataDir, SecretFileName) }

// validateSecret checks the secret settings. It only looks at the file
// system for DataDir/cluster.secret, which counts as a configured secret for
// a node that joins (the operator copied it there).
func (c Config) validateSecret() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: cluster.%s: %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...))
	}
	if c.Secret != "" && c.SecretFile != "" {
		return bad("secret", "set cluster.secret or cluster.secret_file, not both")
	}
	if c.Secret != "" {
		if n := len(bytes.TrimSpace([]byte(c.Secret))); n < minSecretLen {
			return bad("secret", "%d bytes, at least %d required (e.g. openssl rand -hex 32)", n, minSecretLen)
		}
	}
	if c.joins() && !c.hasExplicitSecret() && !c.TLS.Enabled() {
		if _, err := os.Stat(c.defaultSecretPath()); err != nil {
			return bad("secret_file", "required to join a cluster: copy %s of a member (it is created by the node that bootstraps) and point cluster.secret_file at it, or configure cluster.tls",
				SecretFileName)
		}
	}
	return nil
}

// loadSecret returns the key of the cluster handshake: Config.Secret,
// the contents of Config.SecretFile, or (without TLS) DataDir/cluster.secret,
// which is created when missing on a node that does not join. nil means no
// secret: TLS alone authenticates (Config.TLS set, no secret configured).
// Errors wrap ErrInvalidConfig and name the field.
func loadSecret(c Config, log zerolog.Logger) ([]byte, error) {
	switch {
	case c.Secret != "":
		log.Info().Str(logfield.Source, "cluster.secret").Msg("cluster secret configured")
		return bytes.TrimSpace([]byte(c.Secret)), nil
	case c.SecretFile != "":
		return readSecretFile("secret_file", c.SecretFile, log)
	case c.TLS.Enabled():
		log.Info().Msg("cluster authenticated by TLS only (no cluster secret configured)")
		return nil, nil
	}
	path := c.defaultSecretPath()
	if _, err := os.Stat(path); err == nil || c.joins() {
		return readSecretFile("secret_file", path, log)
	}
	if err := createSecretFile(path); err != nil {
		return nil, fmt.Errorf("create cluster secret %s: %w", path, err)
	}
	log.Info().Str(logfield.Path, path).
		Msg("cluster secret created: copy this file to every node that joins (cluster.secret_file)")
	return readSecretFile("secret_file", path, log)
}

// readSecretFile reads and checks a secret file; field names the config key
// in errors.
func readSecretFile(field, path string, log zerolog.Logger) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: cluster.%s: %s does not exist: copy %s of a member, or configure cluster.tls",
			ErrInvalidConfig, field, path, SecretFileName)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: cluster.%s: %v", ErrInvalidConfig, field, err)
	}
	b = bytes.TrimSpace(b)
	if len(b) < minSecretLen {
		return nil, fmt.Errorf("%w: cluster.%s: %s holds %d bytes, at least %d required",
			ErrInvalidConfig, field, path, len(b), minSecretLen)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		log.Warn().Str(logfield.Path, path).Str(logfield.Mode, fi.Mode().Perm().String()).
			Msg("cluster secret file is readable by other users: chmod 600 it")
	}
	log.Info().Str(logfield.Source, path).Msg("cluster secret loaded")
	return b, nil
}

// createSecretFile writes a new random secret (hex, one line) to path with
// mode 0600, atomically: a crash leaves either no file or the whole one.
func createSecretFile(path string) error {
	raw := make([]byte, generatedSecretBytes)
	if _, err := rand.Read(raw); err != nil {
		return err
	}
	text := []byte(hex.EncodeToString(raw) + "\n")
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, SecretFileName+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return err
	}
	if _, err := tmp.Write(text); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// MarshalZerologObject logs c without the secret: only whether one is set
// and where the file is.
func (c Config) MarshalZerologObject(e *zerolog.Event) {
	e.Str(logfield.NodeID, c.NodeID).
		Str("data_dir", c.DataDir).
		Str("bind_addr", c.BindAddr).
		Str("advertise_addr", c.AdvertiseAddr).
		Str("source_addr", c.SourceAddr).
		Bool("secret_set", c.Secret != "").
		Str("secret_file", c.SecretFile).
		Dur("handshake_timeout", c.HandshakeTimeout).
		Bool("tls", c.TLS.Enabled()).
		Bool("bootstrap", c.Bootstrap).
		Strs("join", c.Join).
		Str("log_store", c.LogStore).
		Dur("apply_timeout", c.ApplyTimeout)
}
