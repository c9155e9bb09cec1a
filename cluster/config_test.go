package cluster

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDefaultConfigIsValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string // substring; "" means valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"port zero bind", func(c *Config) { c.BindAddr = "127.0.0.1:0" }, ""},
		{"advertise with wildcard bind", func(c *Config) { c.BindAddr = "0.0.0.0:7946"; c.AdvertiseAddr = "10.0.0.5:7946" }, ""},
		{"zero delay", func(c *Config) { c.BatchMaxDelay = 0 }, ""},
		{"empty node id", func(c *Config) { c.NodeID = "" }, "cluster.node_id: must not be empty"},
		{"bad node id", func(c *Config) { c.NodeID = "a b" }, `cluster.node_id: "a b"`},
		{"long node id", func(c *Config) { c.NodeID = strings.Repeat("x", 129) }, "cluster.node_id"},
		{"empty data dir", func(c *Config) { c.DataDir = "" }, "cluster.data_dir"},
		{"bind without port", func(c *Config) { c.BindAddr = "127.0.0.1" }, `cluster.bind_addr: "127.0.0.1"`},
		{"bind bad port", func(c *Config) { c.BindAddr = "127.0.0.1:99999" }, "cluster.bind_addr"},
		{"wildcard bind needs advertise", func(c *Config) { c.BindAddr = "0.0.0.0:7946" }, "cluster.advertise_addr: required"},
		{"empty host bind needs advertise", func(c *Config) { c.BindAddr = ":7946" }, "cluster.advertise_addr: required"},
		{"unspecified advertise", func(c *Config) { c.AdvertiseAddr = "0.0.0.0:7946" }, "cluster.advertise_addr"},
		{"advertise port zero", func(c *Config) { c.AdvertiseAddr = "10.0.0.1:0" }, "cluster.advertise_addr"},
		{"unknown log store", func(c *Config) { c.LogStore = "boltdb" }, `cluster.log_store: unsupported log store "boltdb"`},
		{"zero batch commands", func(c *Config) { c.BatchMaxCommands = 0 }, "cluster.batch_max_commands: 0"},
		{"too many batch commands", func(c *Config) { c.BatchMaxCommands = 5000 }, "cluster.batch_max_commands: 5000"},
		{"zero batch bytes", func(c *Config) { c.BatchMaxBytes = 0 }, "cluster.batch_max_bytes"},
		{"huge batch bytes", func(c *Config) { c.BatchMaxBytes = 65<<20 + 1 }, "cluster.batch_max_bytes"},
		{"negative delay", func(c *Config) { c.BatchMaxDelay = -time.Millisecond }, "cluster.batch_max_delay: -1ms"},
		{"long delay", func(c *Config) { c.BatchMaxDelay = 2 * time.Second }, "cluster.batch_max_delay: 2s"},
		{"zero inflight", func(c *Config) { c.BatchMaxInflight = 0 }, "cluster.batch_max_inflight: 0"},
		{"wal store", func(c *Config) { c.LogStore = LogStoreWAL }, ""},
		{"short apply timeout", func(c *Config) { c.ApplyTimeout = time.Millisecond }, "cluster.apply_timeout: 1ms"},
		{"short snapshot interval", func(c *Config) { c.SnapshotInterval = time.Millisecond }, "cluster.snapshot_interval"},
		{"zero snapshot threshold", func(c *Config) { c.SnapshotThreshold = 0 }, "cluster.snapshot_threshold"},
		{"short heartbeat", func(c *Config) { c.HeartbeatTimeout = time.Millisecond }, "cluster.heartbeat_timeout"},
		{"election below heartbeat", func(c *Config) { c.ElectionTimeout = 500 * time.Millisecond }, "cluster.election_timeout: 500ms is below heartbeat_timeout 1s"},
		{"lease above heartbeat", func(c *Config) { c.LeaderLeaseTimeout = 2 * time.Second }, "cluster.leader_lease_timeout: 2s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mutate(&c)
			err := c.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v, want it to contain %q", err, tt.wantErr)
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("Validate() = %v, does not wrap ErrInvalidConfig", err)
			}
		})
	}
}
