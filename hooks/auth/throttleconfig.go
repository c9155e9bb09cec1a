package auth

import (
	"fmt"
	"time"
)

// ThrottleConfig configures login throttling (auth.throttle): failed password
// checks per (user, address) and per address slow further attempts down. See
// the package documentation, "Login throttling".
type ThrottleConfig struct {
	// Enabled turns throttling on (default true).
	Enabled bool `yaml:"enabled"`
	// FreeAttempts is how many password checks of one user from one address
	// may fail within Window before further attempts wait (default 5).
	FreeAttempts int `yaml:"free_attempts"`
	// AddressFreeAttempts is how many checks from one address, whatever the
	// user, may fail within Window before every attempt from it waits (default
	// 100: an address may be a NAT shared by thousands of users).
	AddressFreeAttempts int `yaml:"address_free_attempts"`
	// BaseDelay is the wait after the first failure past the budget; it
	// doubles with each further failure (default 1s).
	BaseDelay time.Duration `yaml:"base_delay"`
	// MaxDelay caps the wait (default 30s).
	MaxDelay time.Duration `yaml:"max_delay"`
	// Window is how long a key's failures are remembered after its last
	// failure (default 15m).
	Window time.Duration `yaml:"window"`
	// MaxKeys bounds the (user, address) and address keys held in memory
	// (default 65536, a few MiB at most). Beyond it new keys are not tracked.
	MaxKeys int `yaml:"max_keys"`
	// MaxWaiting bounds the connections held waiting at once (default 1024);
	// beyond it a throttled attempt is refused at once.
	MaxWaiting int `yaml:"max_waiting"`
}

// DefaultThrottleConfig returns the default policy: on, 5 free failures per
// user and address, 100 per address, delays from 1s doubling to 30s, failures
// remembered 15 minutes, 65536 keys, 1024 waiting connections.
func DefaultThrottleConfig() ThrottleConfig {
	return ThrottleConfig{
		Enabled:             true,
		FreeAttempts:        5,
		AddressFreeAttempts: 100,
		BaseDelay:           time.Second,
		MaxDelay:            30 * time.Second,
		Window:              15 * time.Minute,
		MaxKeys:             1 << 16,
		MaxWaiting:          1024,
	}
}

// Bounds of ThrottleConfig.
const (
	maxThrottleDelay  = 10 * time.Minute
	maxThrottleWindow = 7 * 24 * time.Hour
	maxThrottleKeys   = 1 << 24
	maxThrottleWait   = 1 << 20
)

// validate appends a ConfigError per bad field (paths auth.throttle.*).
func (c ThrottleConfig) validate(bad func(field, format string, args ...any)) {
	if !c.Enabled {
		return
	}
	if c.FreeAttempts < 0 {
		bad("auth.throttle.free_attempts", "must be 0 or more, got %d", c.FreeAttempts)
	}
	if c.AddressFreeAttempts < 0 {
		bad("auth.throttle.address_free_attempts", "must be 0 or more, got %d", c.AddressFreeAttempts)
	}
	if c.BaseDelay < time.Millisecond || c.BaseDelay > maxThrottleDelay {
		bad("auth.throttle.base_delay", "must be between 1ms and %s, got %s", maxThrottleDelay, c.BaseDelay)
	}
	if c.MaxDelay < c.BaseDelay || c.MaxDelay > maxThrottleDelay {
		bad("auth.throttle.max_delay", "must be between base_delay (%s) and %s, got %s", c.BaseDelay, maxThrottleDelay, c.MaxDelay)
	}
	if c.Window < c.MaxDelay || c.Window > maxThrottleWindow {
		bad("auth.throttle.window", "must be between max_delay (%s) and %s, got %s", c.MaxDelay, maxThrottleWindow, c.Window)
	}
	if c.MaxKeys < 1 || c.MaxKeys > maxThrottleKeys {
		bad("auth.throttle.max_keys", "must be between 1 and %d, got %d", maxThrottleKeys, c.MaxKeys)
	}
	if c.MaxWaiting < 0 || c.MaxWaiting > maxThrottleWait {
		bad("auth.throttle.max_waiting", "must be between 0 and %d, got %d", maxThrottleWait, c.MaxWaiting)
	}
}

// String shows the policy in the startup log.
func (c ThrottleConfig) String() string {
	if !c.Enabled {
		return "off"
	}
	return fmt.Sprintf("free %d per user+address, %d per address, delay %s..%s, window %s",
		c.FreeAttempts, c.AddressFreeAttempts, c.BaseDelay, c.MaxDelay, c.Window)
}
