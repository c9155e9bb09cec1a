package session

import "fmt"

// Owner-mismatch policies (session.owner_mismatch).
const (
	// MismatchRefuse refuses a CONNECT whose client id names another user's
	// session (the default).
	MismatchRefuse = "refuse"
	// MismatchCleanStart discards another user's offline session and lets the
	// newcomer start clean; a session held by a live connection is still
	// refused.
	MismatchCleanStart = "clean_start"
)

// Config is the `session:` section of the imqttd config.
type Config struct {
	// OwnerMismatch is what a CONNECT gets whose client id names a session
	// created by another user: refuse (default) or clean_start.
	OwnerMismatch string `yaml:"owner_mismatch"`
	// MaxPerUser bounds the persistent sessions one authenticated user holds in
	// the cluster; 0 is no bound. Anonymous clients are not counted.
	MaxPerUser int `yaml:"max_per_user"`
}

// Limits is this package's part of the `limits:` section.
type Limits struct {
	// MaxSubscriptionsPerClient bounds the distinct filters one session holds;
	// each filter past it gets SUBACK 0x97 (3.1.1: 0x80). 0 is no bound.
	MaxSubscriptionsPerClient int `yaml:"max_subscriptions_per_client"`
}

// DefaultConfig refuses owner mismatches and allows 100 persistent sessions
// per user.
func DefaultConfig() Config {
	return Config{OwnerMismatch: MismatchRefuse, MaxPerUser: 100}
}

// DefaultLimits allows 1000 subscriptions per client.
func DefaultLimits() Limits { return Limits{MaxSubscriptionsPerClient: 1000} }

// Validate checks every field; errors name the key path.
func (c Config) Validate() error {
	switch c.OwnerMismatch {
	case MismatchRefuse, MismatchCleanStart:
	default:
		return fmt.Errorf("%w: session.owner_mismatch: %q: must be %s or %s",
			ErrInvalidConfig, c.OwnerMismatch, MismatchRefuse, MismatchCleanStart)
	}
	if c.MaxPerUser < 0 {
		return fmt.Errorf("%w: session.max_per_user: %d: must be >= 0 (0: no bound)", ErrInvalidConfig, c.MaxPerUser)
	}
	return nil
}

// Validate checks the bound; errors name the key path.
func (l Limits) Validate() error {
	if l.MaxSubscriptionsPerClient < 0 {
		return fmt.Errorf("%w: limits.max_subscriptions_per_client: %d: must be >= 0 (0: no bound)",
			ErrInvalidConfig, l.MaxSubscriptionsPerClient)
	}
	return nil
}
