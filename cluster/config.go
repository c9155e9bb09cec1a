package cluster

import (
	"fmt"
	"net"
	"strconv"
	"time"
)

// Log store kinds for Config.LogStore.
const (
	// LogStoreBadger is this package's BadgerStore under DataDir/raft/log. The
	// default: raft-wal is faster here, but v0.4.0 cannot be read back after a
	// tail truncation and a restart (DESIGN.md, "Log store").
	LogStoreBadger = "badger"
	// LogStoreWAL is github.com/hashicorp/raft-wal v0.4.0: segment files plus a
	// bbolt meta store under DataDir/raft/wal.
	LogStoreWAL = "wal"
)

// Limits enforced by Validate.
const (
	maxBatchCommands = 4096
	maxBatchBytes    = 64 << 20 // raft-wal's record limit
	maxNodeIDLen     = 128
)

// Config configures a Node. Build it with DefaultConfig and override fields;
// Validate is called by Open. The YAML keys are the snake_case tags; in the
// imqttd config file this struct lives under `cluster:`.
type Config struct {
	// NodeID is this node's raft server id, unique in the cluster and stable
	// across restarts (it is stored in the raft configuration). Letters, digits,
	// '.', '_' and '-'.
	NodeID string `yaml:"node_id"`
	// DataDir is the node's data directory; raft keeps its files under
	// DataDir/raft (log store, stable store, snapshots, LOCK).
	DataDir string `yaml:"data_dir"`
	// BindAddr is the host:port the raft TCP transport listens on. Port 0 picks a
	// free port (tests); Node.Addr reports the real one.
	BindAddr string `yaml:"bind_addr"`
	// AdvertiseAddr is the host:port other nodes dial. Empty means the bound
	// address, which must then not be unspecified (0.0.0.0 / ::).
	AdvertiseAddr string `yaml:"advertise_addr"`
	// TLS secures the cluster port (raft, forwarded writes, routing links)
	// with mutual TLS under a cluster CA. Off by default: then keep the port
	// on loopback or a private network.
	TLS TLSConfig `yaml:"tls"`
	// Secret is the cluster secret itself (at least 32 bytes): every
	// connection on the cluster port starts with a mutual proof of it
	// (handshake.go). Meant for tests and IMQTT_CLUSTER_SECRET; prefer
	// SecretFile. Never logged.
	Secret string `yaml:"secret"`
	// SecretFile is a file holding the cluster secret (surrounding white
	// space ignored, at least 32 bytes). Empty and no Secret: the node uses
	// DataDir/cluster.secret, which a node that bootstraps creates (32 random
	// bytes, hex, mode 0600). A node that joins must be given the cluster's
	// secret (a copy of that file) or use TLS.
	SecretFile string `yaml:"secret_file"`
	// HandshakeTimeout bounds the authentication of each cluster connection
	// (the whole exchange, on both sides); a peer slower than that is closed.
	HandshakeTimeout time.Duration `yaml:"handshake_timeout"`
	// SourceAddr is the local IP outbound cluster connections are made from
	// (empty: the system picks). Set it on hosts with several addresses when
	// the peers or a firewall must see the cluster address; the partition
	// tests use it to tell nodes apart on 127.0.0.x.
	SourceAddr string `yaml:"source_addr"`
	// Bootstrap makes a node with no raft state bootstrap a one-voter cluster of
	// itself. A node that already has state never bootstraps again. Set false on
	// nodes that will be added to an existing cluster with Join.
	Bootstrap bool `yaml:"bootstrap"`
	// Join lists cluster ports (host:port) of members of an existing cluster.
	// A node with no raft state and a non-empty Join never bootstraps: after
	// Open, the broker asks the first member that answers to add it as a voter
	// (Node.JoinVia). A node that is already a member ignores it.
	Join []string `yaml:"join"`
	// LogStore is the raft log + stable store: "wal" or "badger". It cannot be
	// changed once the data directory holds a log.
	LogStore string `yaml:"log_store"`

	// BatchMaxCommands flushes a batch when it holds this many commands.
	BatchMaxCommands int `yaml:"batch_max_commands"`
	// BatchMaxBytes flushes a batch before it would exceed this many bytes of
	// commands; a single command longer than this is refused (ErrCommandTooLarge).
	BatchMaxBytes int `yaml:"batch_max_bytes"`
	// BatchMaxDelay flushes a non-empty batch this long after its first command
	// arrived, while an earlier entry is still being committed (with nothing in
	// flight a batch is flushed at once). 0 flushes as soon as no more commands
	// are queued.
	BatchMaxDelay time.Duration `yaml:"batch_max_delay"`
	// BatchMaxInflight is how many entries may be proposed and not yet applied
	// before the batcher holds new commands back (until BatchMaxDelay or a
	// full batch) instead of proposing them at once.
	BatchMaxInflight int `yaml:"batch_max_inflight"`
	// ApplyTimeout bounds Apply: waiting for a leader, enqueueing and commit.
	ApplyTimeout time.Duration `yaml:"apply_timeout"`

	// SnapshotInterval is how often raft checks whether to snapshot.
	SnapshotInterval time.Duration `yaml:"snapshot_interval"`
	// SnapshotThreshold is how many log entries since the last snapshot trigger
	// a new one.
	SnapshotThreshold uint64 `yaml:"snapshot_threshold"`
	// TrailingLogs is how many entries are kept in the log after a snapshot, so
	// a slightly lagging follower catches up from the log instead of a snapshot.
	TrailingLogs uint64 `yaml:"trailing_logs"`

	// HeartbeatTimeout, ElectionTimeout and LeaderLeaseTimeout are raft's
	// timing (see hashicorp/raft Config). A leader that cannot reach a quorum
	// for LeaderLeaseTimeout steps down.
	HeartbeatTimeout   time.Duration `yaml:"heartbeat_timeout"`
	ElectionTimeout    time.Duration `yaml:"election_timeout"`
	LeaderLeaseTimeout time.Duration `yaml:"leader_lease_timeout"`
	// CommitTimeout is how long an idle leader waits before telling followers
	// the new commit index (raft's CommitTimeout): followers apply an entry that
	// long after it committed, at worst, when no other entry follows it.
	CommitTimeout time.Duration `yaml:"commit_timeout"`
}

// DefaultConfig returns the single-node defaults: node id "node1", data under
// ./data, raft on 127.0.0.1:7946 (loopback: a single node needs no peers),
// the cluster secret in ./data/cluster.secret (created at bootstrap), 5 s to
// authenticate a cluster connection, bootstrap on, the Badger log store, entries of up to 64 commands or 1 MiB,
// held back at most 1 ms once 2 entries are in flight, 5 s apply timeout,
// raft's default timing and snapshot policy.
func DefaultConfig() Config {
	return Config{
		NodeID:             "node1",
		DataDir:            "data",
		BindAddr:           "127.0.0.1:7946",
		HandshakeTimeout:   5 * time.Second,
		Bootstrap:          true,
		LogStore:           LogStoreBadger,
		BatchMaxCommands:   64,
		BatchMaxBytes:      1 << 20,
		BatchMaxDelay:      time.Millisecond,
		BatchMaxInflight:   2,
		ApplyTimeout:       5 * time.Second,
		SnapshotInterval:   2 * time.Minute,
		SnapshotThreshold:  8192,
		TrailingLogs:       10240,
		HeartbeatTimeout:   time.Second,
		ElectionTimeout:    time.Second,
		LeaderLeaseTimeout: 500 * time.Millisecond,
		CommitTimeout:      5 * time.Millisecond,
	}
}

// Validate checks every field and the cross-field rules. Errors wrap
// ErrInvalidConfig and name the field path (cluster.x) and the bad value.
func (c Config) Validate() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: cluster.%s: %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...))
	}
	if err := validateID("cluster.node_id", c.NodeID); err != nil {
		return err
	}
	if c.DataDir == "" {
		return bad("data_dir", "must not be empty")
	}
	bindHost, err := checkHostPort(c.BindAddr, true)
	if err != nil {
		return bad("bind_addr", "%q: %v", c.BindAddr, err)
	}
	if c.AdvertiseAddr != "" {
		advHost, err := checkHostPort(c.AdvertiseAddr, false)
		if err != nil {
			return bad("advertise_addr", "%q: %v", c.AdvertiseAddr, err)
		}
		if ip := net.ParseIP(advHost); ip != nil && ip.IsUnspecified() {
			return bad("advertise_addr", "%q: other nodes cannot dial an unspecified address", c.AdvertiseAddr)
		}
	} else if ip := net.ParseIP(bindHost); bindHost == "" || ip != nil && ip.IsUnspecified() {
		return bad("advertise_addr", "required when bind_addr %q listens on all addresses", c.BindAddr)
	}
	if err := c.TLS.validate(); err != nil {
		return err
	}
	if err := c.validateSecret(); err != nil {
		return err
	}
	if c.HandshakeTimeout < 10*time.Millisecond || c.HandshakeTimeout > time.Minute {
		return bad("handshake_timeout", "%s is outside [10ms, 1m]", c.HandshakeTimeout)
	}
	if c.SourceAddr != "" && net.ParseIP(c.SourceAddr) == nil {
		return bad("source_addr", "%q is not an IP address", c.SourceAddr)
	}
	for i, a := range c.Join {
		if _, err := checkHostPort(a, false); err != nil {
			return bad(fmt.Sprintf("join[%d]", i), "%q: %v", a, err)
		}
	}
	switch c.LogStore {
	case LogStoreWAL, LogStoreBadger:
	default:
		return bad("log_store", "unsupported log store %q (want %q or %q)", c.LogStore, LogStoreWAL, LogStoreBadger)
	}
	if c.BatchMaxCommands < 1 || c.BatchMaxCommands > maxBatchCommands {
		return bad("batch_max_commands", "%d is outside [1, %d]", c.BatchMaxCommands, maxBatchCommands)
	}
	if c.BatchMaxBytes < 1 || c.BatchMaxBytes > maxBatchBytes {
		return bad("batch_max_bytes", "%d is outside [1, %d]", c.BatchMaxBytes, maxBatchBytes)
	}
	if c.BatchMaxDelay < 0 || c.BatchMaxDelay > time.Second {
		return bad("batch_max_delay", "%s is outside [0s, 1s]", c.BatchMaxDelay)
	}
	if c.BatchMaxInflight < 1 || c.BatchMaxInflight > 1024 {
		return bad("batch_max_inflight", "%d is outside [1, 1024]", c.BatchMaxInflight)
	}
	if c.ApplyTimeout < 10*time.Millisecond {
		return bad("apply_timeout", "%s is below 10ms", c.ApplyTimeout)
	}
	if c.SnapshotInterval < 5*time.Millisecond {
		return bad("snapshot_interval", "%s is below 5ms", c.SnapshotInterval)
	}
	if c.SnapshotThreshold < 1 {
		return bad("snapshot_threshold", "must be at least 1")
	}
	if c.HeartbeatTimeout < 5*time.Millisecond {
		return bad("heartbeat_timeout", "%s is below 5ms", c.HeartbeatTimeout)
	}
	if c.ElectionTimeout < c.HeartbeatTimeout {
		return bad("election_timeout", "%s is below heartbeat_timeout %s", c.ElectionTimeout, c.HeartbeatTimeout)
	}
	if c.LeaderLeaseTimeout < 5*time.Millisecond || c.LeaderLeaseTimeout > c.HeartbeatTimeout {
		return bad("leader_lease_timeout", "%s is outside [5ms, heartbeat_timeout %s]", c.LeaderLeaseTimeout, c.HeartbeatTimeout)
	}
	if c.CommitTimeout < time.Millisecond || c.CommitTimeout > c.HeartbeatTimeout {
		return bad("commit_timeout", "%s is outside [1ms, heartbeat_timeout %s]", c.CommitTimeout, c.HeartbeatTimeout)
	}
	return nil
}

// validateID checks a raft server id (Config.NodeID, or an id passed to Join);
// field names it in the error.
func validateID(field, id string) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...))
	}
	if id == "" {
		return bad("must not be empty")
	}
	if len(id) > maxNodeIDLen {
		return bad("%q is longer than %d bytes", id, maxNodeIDLen)
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return bad("%q: only letters, digits, '.', '_' and '-' are allowed", id)
		}
	}
	return nil
}

// checkHostPort validates a host:port; port 0 is allowed only when zeroOK.
func checkHostPort(addr string, zeroOK bool) (host string, err error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", err
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return "", fmt.Errorf("bad port %q", port)
	}
	if p == 0 && !zeroOK {
		return "", fmt.Errorf("port 0 cannot be dialled")
	}
	return host, nil
}
