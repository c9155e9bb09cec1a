package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/imqtt/imqtt/broker"
)

// ctlDefaultDataDir is node.data_dir of the embedded default config.
const ctlDefaultDataDir = "./data"

// ctlAuth is where ctl found its admin token.
type ctlAuth struct {
	token string
	// from names the source for messages: "--token", a file path, or the
	// file looked for in vain.
	from string
}

// ctlFindToken finds the admin bearer token, first match wins:
//
//  1. --token, else IMQTT_ADMIN_TOKEN;
//  2. --token-file, else IMQTT_ADMIN_TOKEN_FILE;
//  3. the --config file's admin.token or admin.token_file (IMQTT_* applied);
//  4. the token the node generated, <data_dir>/admin.token, with data_dir
//     from --data-dir, else IMQTT_NODE_DATA_DIR, else the --config file's
//     node.data_dir, else ./data (the embedded default, relative to the
//     working directory, as for serve).
//
// A missing generated file is not an error: the node may run with
// admin.require_token: false; a 401 then names the file looked for. cfg is
// the loaded --config file, nil without one.
func ctlFindToken(f *ctlFlags, cfg *broker.Config, env []string) (ctlAuth, error) {
	if f.token != "" {
		return ctlAuth{token: f.token, from: "--token or IMQTT_ADMIN_TOKEN"}, nil
	}
	if f.tokenFile != "" {
		return readCtlToken(f.tokenFile)
	}
	if cfg != nil {
		if cfg.Admin.Token != "" {
			return ctlAuth{token: cfg.Admin.Token, from: "admin.token"}, nil
		}
		if cfg.Admin.TokenFile != "" {
			return readCtlToken(cfg.Admin.TokenFile)
		}
	}
	dir := f.dataDir
	if dir == "" {
		dir = envValue(env, "IMQTT_NODE_DATA_DIR", "")
	}
	if dir == "" && cfg != nil {
		dir = cfg.Node.DataDir
	}
	if dir == "" {
		dir = ctlDefaultDataDir
	}
	path := filepath.Join(dir, broker.AdminTokenFile)
	a, err := readCtlToken(path)
	if errors.Is(err, fs.ErrNotExist) {
		return ctlAuth{from: path + " (not found)"}, nil
	}
	return a, err
}

// readCtlToken reads a token file (surrounding whitespace trimmed).
func readCtlToken(path string) (ctlAuth, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return ctlAuth{}, fmt.Errorf("admin token: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return ctlAuth{}, fmt.Errorf("admin token: %s is empty", path)
	}
	return ctlAuth{token: tok, from: path}, nil
}

// ctlConfigAddr is the admin address of a --config file as ctl can dial it:
// a wildcard host becomes loopback; "" when the listener is off or its port
// is chosen at start (0).
func ctlConfigAddr(cfg *broker.Config) string {
	if cfg == nil || !cfg.Admin.Enabled {
		return ""
	}
	host, port, err := net.SplitHostPort(cfg.Admin.Address)
	if err != nil || port == "0" {
		return ""
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	return net.JoinHostPort(host, port)
}
