package accounts

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// DefaultBcryptCost is the bcrypt cost of the hashes Create and Update write.
const DefaultBcryptCost = 10

// Config configures the user store. The broker fills BcryptCost from
// auth.bcrypt_cost (one cost for the password file and the store).
type Config struct {
	// BcryptCost is the cost of new password hashes (4..31).
	BcryptCost int
	// ApplyTimeout bounds one replicated write.
	ApplyTimeout time.Duration
}

// DefaultConfig returns cost 10 and a 10 s apply timeout.
func DefaultConfig() Config {
	return Config{BcryptCost: DefaultBcryptCost, ApplyTimeout: 10 * time.Second}
}

// Validate checks the config; errors wrap ErrInvalidConfig and name the field.
func (c Config) Validate() error {
	var errs []error
	if c.BcryptCost < bcrypt.MinCost || c.BcryptCost > bcrypt.MaxCost {
		errs = append(errs, fmt.Errorf("%w: bcrypt_cost: must be between %d and %d, got %d",
			ErrInvalidConfig, bcrypt.MinCost, bcrypt.MaxCost, c.BcryptCost))
	}
	if c.ApplyTimeout <= 0 {
		errs = append(errs, fmt.Errorf("%w: apply_timeout: must be > 0, got %s", ErrInvalidConfig, c.ApplyTimeout))
	}
	return errors.Join(errs...)
}
