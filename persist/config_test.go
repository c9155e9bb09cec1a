package persist

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	if err := memConfig().Validate(); err != nil {
		t.Fatalf("in-memory config: %v", err)
	}
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"dir required", func(c *Config) { c.Dir = "" }, `persist.dir: "": required`},
		{"dir with in_memory", func(c *Config) { c.InMemory = true }, `persist.dir: "./data/fsm": must be empty`},
		{"gc interval negative", func(c *Config) { c.ValueLogGCInterval = -time.Second }, "persist.value_log_gc_interval: -1s"},
		{"gc interval tiny", func(c *Config) { c.ValueLogGCInterval = time.Millisecond }, "persist.value_log_gc_interval: 1ms"},
		{"gc ratio zero", func(c *Config) { c.ValueLogGCRatio = 0 }, "persist.value_log_gc_ratio: 0"},
		{"gc ratio one", func(c *Config) { c.ValueLogGCRatio = 1 }, "persist.value_log_gc_ratio: 1"},
		{"gc ratio nan", func(c *Config) { c.ValueLogGCRatio = math.NaN() }, "persist.value_log_gc_ratio: NaN"},
		{"memtable small", func(c *Config) { c.MemTableSize = 1024 }, "persist.mem_table_size: 1024"},
		{"memtable huge", func(c *Config) { c.MemTableSize = 2 << 30 }, "persist.mem_table_size: 2147483648"},
		{"block cache", func(c *Config) { c.BlockCacheSize = 0 }, "persist.block_cache_size: 0"},
		{"vlog small", func(c *Config) { c.ValueLogFileSize = 1 << 20 }, "persist.value_log_file_size: 1048576"},
		{"vlog huge", func(c *Config) { c.ValueLogFileSize = 2 << 30 }, "persist.value_log_file_size: 2147483648"},
		{"min free", func(c *Config) { c.MinFreeBytes = -1 }, "persist.min_free_bytes: -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mutate(&c)
			err := c.Validate()
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want ErrInvalidConfig with %q", err, tt.want)
			}
			if _, err := Open(c, testLogger(t)); !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("Open: %v", err)
			}
		})
	}
}
