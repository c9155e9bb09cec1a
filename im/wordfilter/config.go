package wordfilter

import "fmt"

// Modes.
const (
	ModeMask   = "mask"
	ModeReject = "reject"
)

// Config is `im.filter`.
type Config struct {
	// Enabled switches the filter on.
	Enabled bool `yaml:"enabled"`
	// File is the word list: one word or phrase per line, '#' starts a comment
	// line, blank lines are ignored; UTF-8.
	File string `yaml:"file"`
	// Mode is mask (replace matches with '*') or reject (refuse the message).
	Mode string `yaml:"mode"`
}

// DefaultConfig returns the defaults: off, mode mask.
func DefaultConfig() Config { return Config{Mode: ModeMask} }

// Validate checks the config; errors name the key.
func (c Config) Validate() error {
	if c.Mode != ModeMask && c.Mode != ModeReject {
		return fmt.Errorf("%w: mode: %q: must be mask or reject", ErrInvalidConfig, c.Mode)
	}
	if c.Enabled && c.File == "" {
		return fmt.Errorf("%w: file: must be set when enabled", ErrInvalidConfig)
	}
	return nil
}
