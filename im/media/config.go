package media

import (
	"fmt"
	"mime"
	"net/url"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/imqtt/imqtt/internal/logfield"
)

// Backends (Config.Backend).
const (
	BackendEmbedded = "embedded"
	BackendS3       = "s3"
	BackendOff      = "off"
)

// Bounds enforced by Validate.
const (
	maxSizeLimit   = 5 << 30 // S3's single-PUT limit
	maxPutExpiry   = 24 * time.Hour
	maxGetExpiry   = 7 * 24 * time.Hour // S3 presigned URLs last at most 7 days
	minExpiry      = time.Second
	minSecretBytes = 16
)

// Config is the im.media section of the imqttd config file.
type Config struct {
	// Backend is embedded (files under the node's data directory, per node),
	// s3 (an S3-compatible object store) or off (rpc upload and media
	// messages are refused).
	Backend string `yaml:"backend"`
	// MaxSize bounds one file, in bytes.
	MaxSize int64 `yaml:"max_size"`
	// AllowedTypes is the mime allow-list: exact types ("image/png") or a
	// whole top-level type ("image/*").
	AllowedTypes []string `yaml:"allowed_types"`
	// UserQuota bounds the bytes one user keeps in the store; 0 means no
	// limit.
	UserQuota int64 `yaml:"user_quota"`
	// PutExpiry is how long an upload URL stays valid.
	PutExpiry time.Duration `yaml:"put_expiry"`
	// GetExpiry is how long a read URL (the url of a media message) stays
	// valid; at most 7 days (the S3 limit).
	GetExpiry time.Duration `yaml:"get_expiry"`
	// Secret keys the HMACs of keys and embedded URLs. "" means a random
	// secret generated once and kept in <data_dir>/media.secret (embedded) or
	// derived from s3.secret_key (s3: every node with the same S3 config
	// agrees). Never logged.
	Secret string `yaml:"secret"`
	// PublicURL is the base URL clients reach the HTTP listener at
	// ("https://chat.example.com"); "" means http://{admin address}.
	// Embedded only.
	PublicURL string `yaml:"public_url"`
	// S3 is the object store of the s3 backend.
	S3 S3Config `yaml:"s3"`
}

// S3Config is an S3-compatible endpoint.
type S3Config struct {
	// Endpoint is host[:port], without scheme.
	Endpoint string `yaml:"endpoint"`
	Bucket   string `yaml:"bucket"`
	Region   string `yaml:"region"`
	// AccessKey and SecretKey are the credentials; SecretKey is never logged.
	AccessKey string `yaml:"access_key"`
	SecretKey string `yaml:"secret_key"`
	// TLS selects https (true) or http.
	TLS bool `yaml:"tls"`
	// CreateBucket creates the bucket at start when it does not exist.
	CreateBucket bool `yaml:"create_bucket"`
}

// DefaultConfig returns the defaults: the embedded backend, 25 MiB files,
// common image, audio, video and document types (no HTML or SVG: they would
// run script from the listener's origin), a 1 GiB quota per user, upload URLs
// valid 15 minutes, read URLs 7 days.
func DefaultConfig() Config {
	return Config{
		Backend: BackendEmbedded,
		MaxSize: 25 << 20,
		AllowedTypes: []string{
			"image/jpeg", "image/png", "image/gif", "image/webp",
			"audio/mpeg", "audio/ogg", "audio/mp4", "audio/webm", "audio/wav",
			"video/mp4", "video/webm",
			"application/pdf", "application/zip", "application/octet-stream", "text/plain",
		},
		UserQuota: 1 << 30,
		PutExpiry: 15 * time.Minute,
		GetExpiry: 7 * 24 * time.Hour,
	}
}

// Validate checks every field; errors wrap ErrInvalidConfig and name the key.
func (c Config) Validate() error {
	bad := func(key string, v any, rule string) error {
		return fmt.Errorf("%s: %v: %s: %w", key, v, rule, ErrInvalidConfig)
	}
	switch c.Backend {
	case BackendOff:
		return nil
	case BackendEmbedded, BackendS3:
	default:
		return bad("backend", fmt.Sprintf("%q", c.Backend), "must be embedded, s3 or off")
	}
	if c.MaxSize < 1 || c.MaxSize > maxSizeLimit {
		return bad("max_size", c.MaxSize, fmt.Sprintf("must be 1..%d", int64(maxSizeLimit)))
	}
	if len(c.AllowedTypes) == 0 {
		return bad("allowed_types", "[]", "must list at least one type")
	}
	for i, t := range c.AllowedTypes {
		if !validMIME(strings.TrimSuffix(t, "*")+trailer(t)) || strings.Count(t, "*") > 1 {
			return bad(fmt.Sprintf("allowed_types[%d]", i), fmt.Sprintf("%q", t), "must be type/subtype or type/*")
		}
	}
	if c.UserQuota < 0 {
		return bad("user_quota", c.UserQuota, "must be >= 0 (0 = no limit)")
	}
	if c.PutExpiry < minExpiry || c.PutExpiry > maxPutExpiry {
		return bad("put_expiry", c.PutExpiry, fmt.Sprintf("must be %s..%s", minExpiry, maxPutExpiry))
	}
	if c.GetExpiry < minExpiry || c.GetExpiry > maxGetExpiry {
		return bad("get_expiry", c.GetExpiry, fmt.Sprintf("must be %s..%s", minExpiry, maxGetExpiry))
	}
	if c.Secret != "" && len(c.Secret) < minSecretBytes {
		return bad("secret", "(redacted)", fmt.Sprintf("must be at least %d bytes", minSecretBytes))
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return bad("public_url", fmt.Sprintf("%q", c.PublicURL), "must be an http(s) URL without query")
		}
	}
	if c.Backend == BackendS3 {
		s := c.S3
		switch {
		case s.Endpoint == "" || strings.Contains(s.Endpoint, "/"):
			return bad("s3.endpoint", fmt.Sprintf("%q", s.Endpoint), "must be host[:port] without scheme")
		case s.Bucket == "":
			return bad("s3.bucket", `""`, "must be set")
		case s.AccessKey == "":
			return bad("s3.access_key", `""`, "must be set")
		case s.SecretKey == "":
			return bad("s3.secret_key", `""`, "must be set")
		}
	}
	return nil
}

// trailer makes "image/*" parse as a media type for validation.
func trailer(t string) string {
	if strings.HasSuffix(t, "/*") {
		return "x"
	}
	return ""
}

// allowed reports whether mime type m is in the allow-list.
func (c *Config) allowed(m string) bool {
	for _, t := range c.AllowedTypes {
		if t == m || strings.HasSuffix(t, "/*") && strings.HasPrefix(m, strings.TrimSuffix(t, "*")) {
			return true
		}
	}
	return false
}

// validMIME reports whether m is a bare lowercase type/subtype without
// parameters.
func validMIME(m string) bool {
	if len(m) == 0 || len(m) > 127 || strings.ToLower(m) != m {
		return false
	}
	t, params, err := mime.ParseMediaType(m)
	return err == nil && len(params) == 0 && t == m && strings.Count(m, "/") == 1
}

// MarshalZerologObject logs the config without its secrets.
func (c Config) MarshalZerologObject(e *zerolog.Event) {
	e.Str(logfield.Backend, c.Backend).Int64("max_size", c.MaxSize).Int64("user_quota", c.UserQuota).
		Dur("put_expiry", c.PutExpiry).Dur("get_expiry", c.GetExpiry).Str("public_url", c.PublicURL).
		Bool("secret_set", c.Secret != "")
	if c.Backend == BackendS3 {
		e.Str("s3_endpoint", c.S3.Endpoint).Str("s3_bucket", c.S3.Bucket).Str("s3_region", c.S3.Region).
			Bool("s3_tls", c.S3.TLS)
	}
}
