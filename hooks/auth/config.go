package auth

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
)

const (
	// DefaultBcryptCost is the bcrypt cost of new password hashes.
	DefaultBcryptCost = 10
	// DefaultLeeway is the clock skew allowed on JWT exp, nbf and iat.
	DefaultLeeway = 30 * time.Second
	// MaxLeeway is the largest leeway Validate accepts.
	MaxLeeway = 10 * time.Minute

	minBcryptCost = bcrypt.MinCost
	maxBcryptCost = bcrypt.MaxCost
)

// JWT signing algorithms the hook can verify. Nothing else is ever accepted,
// "none" least of all.
const (
	AlgHS256 = "HS256" // HMAC SHA-256 with the secret in hmac_secret_file
	AlgRS256 = "RS256" // RSA PKCS#1 v1.5 SHA-256 with the RSA key in public_key_file
	AlgES256 = "ES256" // ECDSA P-256 SHA-256 with the EC key in public_key_file
)

var supportedAlgs = []string{AlgHS256, AlgRS256, AlgES256}

// Config configures the auth hook. Decode YAML onto DefaultConfig() and call
// Validate. Field paths in errors start with "auth.".
type Config struct {
	// AllowAnonymous accepts CONNECTs with neither username nor password, but
	// only on listeners bound to loopback addresses (Options.LoopbackListener).
	AllowAnonymous bool `yaml:"allow_anonymous"`
	// PasswordFile is the path of the username:bcrypt-hash file ("" = none).
	PasswordFile string `yaml:"password_file"`
	// BcryptCost is the cost of hashes written by PasswordFile.Set (4..31).
	BcryptCost int `yaml:"bcrypt_cost"`
	// JWT configures access tokens passed as the MQTT password.
	JWT JWTConfig `yaml:"jwt"`
	// Throttle slows repeated failed password checks (throttleconfig.go).
	Throttle ThrottleConfig `yaml:"throttle"`
}

// JWTConfig configures JWT access tokens.
type JWTConfig struct {
	// Enabled turns JWT authentication on.
	Enabled bool `yaml:"enabled"`
	// Algorithms lists the accepted "alg" values: HS256, RS256, ES256. A token
	// whose alg is not listed is refused. RS256 and ES256 exclude each other
	// (there is one public_key_file).
	Algorithms []string `yaml:"algorithms"`
	// HMACSecretFile holds the HS256 secret (at least 32 bytes once trailing
	// CR/LF are removed). Required with HS256, forbidden without.
	HMACSecretFile string `yaml:"hmac_secret_file"`
	// PublicKeyFile is a PEM public key (PKIX "PUBLIC KEY", PKCS#1 "RSA PUBLIC
	// KEY" or a "CERTIFICATE"): RSA >= 2048 bits for RS256, ECDSA P-256 for
	// ES256. Required with RS256/ES256, forbidden without.
	PublicKeyFile string `yaml:"public_key_file"`
	// Issuer, if set, must equal the token's "iss".
	Issuer string `yaml:"issuer"`
	// Audience, if set, must be one of the token's "aud" values.
	Audience string `yaml:"audience"`
	// Leeway is the clock skew allowed on exp, nbf and iat (0..10m).
	Leeway time.Duration `yaml:"leeway"`
}

// DefaultConfig returns the secure default: no anonymous access, no password
// file, JWT off (so every client is refused until something is configured),
// bcrypt cost 10, leeway 30s, login throttling on (DefaultThrottleConfig).
func DefaultConfig() Config {
	return Config{
		BcryptCost: DefaultBcryptCost,
		JWT: JWTConfig{
			Leeway: DefaultLeeway,
		},
		Throttle: DefaultThrottleConfig(),
	}
}

// ConfigError is the error Validate returns for one field. It matches
// ErrInvalidConfig with errors.Is.
type ConfigError struct {
	Field string // path such as "auth.jwt.algorithms[1]"
	Msg   string // what is wrong, quoting the value
}

// Error implements error as "field: message".
func (e *ConfigError) Error() string { return e.Field + ": " + e.Msg }

// Is makes errors.Is(err, ErrInvalidConfig) true.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }

// Validate checks the configuration without touching the file system (New
// reads the files). It returns every problem found, joined; each is a
// *ConfigError naming the field path and the value.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &ConfigError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if c.BcryptCost < minBcryptCost || c.BcryptCost > maxBcryptCost {
		bad("auth.bcrypt_cost", "must be between %d and %d, got %d", minBcryptCost, maxBcryptCost, c.BcryptCost)
	}
	if strings.ContainsRune(c.PasswordFile, 0) {
		bad("auth.password_file", "contains NUL: %q", c.PasswordFile)
	}
	c.Throttle.validate(bad)
	j := c.JWT
	if j.Leeway < 0 || j.Leeway > MaxLeeway {
		bad("auth.jwt.leeway", "must be between 0s and %s, got %s", MaxLeeway, j.Leeway)
	}
	if !j.Enabled {
		return errors.Join(errs...)
	}
	if len(j.Algorithms) == 0 {
		bad("auth.jwt.algorithms", "must list at least one of %s when jwt is enabled", strings.Join(supportedAlgs, ", "))
	}
	for i, a := range j.Algorithms {
		field := fmt.Sprintf("auth.jwt.algorithms[%d]", i)
		switch {
		case !slices.Contains(supportedAlgs, a):
			bad(field, "unsupported algorithm %q (supported: %s)", a, strings.Join(supportedAlgs, ", "))
		case slices.Index(j.Algorithms, a) < i:
			bad(field, "duplicate algorithm %q", a)
		}
	}
	hs := slices.Contains(j.Algorithms, AlgHS256)
	rs := slices.Contains(j.Algorithms, AlgRS256)
	es := slices.Contains(j.Algorithms, AlgES256)
	switch {
	case hs && j.HMACSecretFile == "":
		bad("auth.jwt.hmac_secret_file", "required with %s", AlgHS256)
	case !hs && j.HMACSecretFile != "":
		bad("auth.jwt.hmac_secret_file", "set to %q but %s is not in auth.jwt.algorithms", j.HMACSecretFile, AlgHS256)
	}
	switch {
	case rs && es:
		bad("auth.jwt.algorithms", "%s and %s cannot both be enabled: one public_key_file holds one key type", AlgRS256, AlgES256)
	case (rs || es) && j.PublicKeyFile == "":
		bad("auth.jwt.public_key_file", "required with %s/%s", AlgRS256, AlgES256)
	case !rs && !es && j.PublicKeyFile != "":
		bad("auth.jwt.public_key_file", "set to %q but neither %s nor %s is in auth.jwt.algorithms", j.PublicKeyFile, AlgRS256, AlgES256)
	}
	if strings.ContainsRune(j.Issuer, 0) {
		bad("auth.jwt.issuer", "contains NUL: %q", j.Issuer)
	}
	if strings.ContainsRune(j.Audience, 0) {
		bad("auth.jwt.audience", "contains NUL: %q", j.Audience)
	}
	return errors.Join(errs...)
}

// hasAuthMethod reports whether any client could ever be accepted.
func (c Config) hasAuthMethod() bool {
	return c.AllowAnonymous || c.PasswordFile != "" || c.JWT.Enabled
}
