package im

import (
	"fmt"
	"time"
)

// Presence policies (Config.Presence): who may see whose presence.
const (
	// PresenceAll lets every user see every user's presence.
	PresenceAll = "all"
	// PresenceShared (the default) lets users see the presence of users they share
	// a conversation with (a direct conversation or a group).
	PresenceShared = "shared"
	// PresenceNone shows users only their own presence.
	PresenceNone = "none"
)

// Bounds enforced by Validate.
const (
	maxBodyBytesLimit    = 1 << 20
	maxDevicesLimit      = 1000
	maxHistoryLimit      = 1000
	maxSyncPageLimit     = 5000
	maxGroupMembersLimit = 100_000
	minDedupWindow       = time.Second
	maxDedupWindow       = 30 * 24 * time.Hour
	minApplyTimeout      = 100 * time.Millisecond
	maxApplyTimeout      = 5 * time.Minute
	minSweepInterval     = time.Second
	maxChangeWindow      = 365 * 24 * time.Hour // edit_window, recall_window
)

// Config is the im section of the imqttd config file. Build it with
// DefaultConfig; New calls Validate.
type Config struct {
	// Enabled turns the IM server on. It is read by the broker, which wires the
	// im hook only when true; New does not look at it.
	Enabled bool `yaml:"enabled"`
	// Admins are the user names allowed to send notifications (rpc notify).
	Admins []string `yaml:"admins"`
	// MaxBodyBytes bounds a message body (bytes of the decoded string).
	MaxBodyBytes int `yaml:"max_body_bytes"`
	// MaxDevices bounds the devices (client ids) one user may have online on this
	// node; 0 means no limit.
	MaxDevices int `yaml:"max_devices"`
	// Presence is who may see whose presence: all, shared or none.
	Presence string `yaml:"presence"`
	// DedupWindow is how long a client message id is remembered per sender and
	// conversation: a re-send within it returns the original id and seq.
	DedupWindow time.Duration `yaml:"dedup_window"`
	// HistoryMax is the largest page rpc history returns (and the default).
	HistoryMax int `yaml:"history_max"`
	// SyncPageMax is the largest page rpc sync returns (and the default).
	SyncPageMax int `yaml:"sync_page_max"`
	// GroupMaxMembers bounds the members of a group.
	GroupMaxMembers int `yaml:"group_max_members"`
	// ApplyTimeout bounds one durable write (a raft commit); past it the client
	// gets 0x80 and should re-send with the same cid.
	ApplyTimeout time.Duration `yaml:"apply_timeout"`
	// SweepInterval is how often expired dedup records are deleted; 0 disables
	// the sweep (records are then kept forever).
	SweepInterval time.Duration `yaml:"sweep_interval"`
	// EditWindow is how long after sending the sender may edit a text
	// message (rpc msg.edit); 0 disables editing.
	EditWindow time.Duration `yaml:"edit_window"`
	// RecallWindow is how long after sending the sender may recall a message
	// (rpc msg.recall); 0 disables it for senders. Group owners and admins
	// may recall any message at any time.
	RecallWindow time.Duration `yaml:"recall_window"`
}

// DefaultConfig returns the defaults: enabled, no admins, 16 KiB bodies, 10
// devices per user, presence shared, 24 h dedup window, history pages of 100, sync
// pages of 200, groups of up to 1000 members, 10 s apply timeout, a dedup sweep
// every 10 minutes, edits within 48 h and recalls within 24 h.
func DefaultConfig() Config {
	return Config{
		Enabled:         true,
		MaxBodyBytes:    16 << 10,
		MaxDevices:      10,
		Presence:        PresenceShared,
		DedupWindow:     24 * time.Hour,
		HistoryMax:      100,
		SyncPageMax:     200,
		GroupMaxMembers: 1000,
		ApplyTimeout:    10 * time.Second,
		SweepInterval:   10 * time.Minute,
		EditWindow:      48 * time.Hour,
		RecallWindow:    24 * time.Hour,
	}
}

// Validate checks every field; errors wrap ErrInvalidConfig and name the key,
// e.g. `admins[1]: "bad name": must be 1..64 of [A-Za-z0-9_.@-]`.
func (c Config) Validate() error {
	bad := func(key string, v any, rule string) error {
		return fmt.Errorf("%s: %v: %s: %w", key, v, rule, ErrInvalidConfig)
	}
	seen := make(map[string]bool, len(c.Admins))
	for i, a := range c.Admins {
		key := fmt.Sprintf("admins[%d]", i)
		if !ValidName(a) {
			return bad(key, fmt.Sprintf("%q", a), "must be 1..64 of [A-Za-z0-9_.@-]")
		}
		if seen[a] {
			return bad(key, fmt.Sprintf("%q", a), "listed twice")
		}
		seen[a] = true
	}
	if c.MaxBodyBytes < 1 || c.MaxBodyBytes > maxBodyBytesLimit {
		return bad("max_body_bytes", c.MaxBodyBytes, fmt.Sprintf("must be 1..%d", maxBodyBytesLimit))
	}
	if c.MaxDevices < 0 || c.MaxDevices > maxDevicesLimit {
		return bad("max_devices", c.MaxDevices, fmt.Sprintf("must be 0..%d (0 = no limit)", maxDevicesLimit))
	}
	switch c.Presence {
	case PresenceAll, PresenceShared, PresenceNone:
	default:
		return bad("presence", fmt.Sprintf("%q", c.Presence), "must be all, shared or none")
	}
	if c.DedupWindow < minDedupWindow || c.DedupWindow > maxDedupWindow {
		return bad("dedup_window", c.DedupWindow, fmt.Sprintf("must be %s..%s", minDedupWindow, maxDedupWindow))
	}
	if c.HistoryMax < 1 || c.HistoryMax > maxHistoryLimit {
		return bad("history_max", c.HistoryMax, fmt.Sprintf("must be 1..%d", maxHistoryLimit))
	}
	if c.SyncPageMax < 1 || c.SyncPageMax > maxSyncPageLimit {
		return bad("sync_page_max", c.SyncPageMax, fmt.Sprintf("must be 1..%d", maxSyncPageLimit))
	}
	if c.GroupMaxMembers < 2 || c.GroupMaxMembers > maxGroupMembersLimit {
		return bad("group_max_members", c.GroupMaxMembers, fmt.Sprintf("must be 2..%d", maxGroupMembersLimit))
	}
	if c.ApplyTimeout < minApplyTimeout || c.ApplyTimeout > maxApplyTimeout {
		return bad("apply_timeout", c.ApplyTimeout, fmt.Sprintf("must be %s..%s", minApplyTimeout, maxApplyTimeout))
	}
	if c.SweepInterval != 0 && c.SweepInterval < minSweepInterval {
		return bad("sweep_interval", c.SweepInterval, fmt.Sprintf("must be 0 (off) or at least %s", minSweepInterval))
	}
	if c.EditWindow < 0 || c.EditWindow > maxChangeWindow {
		return bad("edit_window", c.EditWindow, fmt.Sprintf("must be 0 (off)..%s", maxChangeWindow))
	}
	if c.RecallWindow < 0 || c.RecallWindow > maxChangeWindow {
		return bad("recall_window", c.RecallWindow, fmt.Sprintf("must be 0 (off)..%s", maxChangeWindow))
	}
	return nil
}

// isAdmin reports whether user is listed in Admins.
func (c *Config) isAdmin(user string) bool {
	for _, a := range c.Admins {
		if a == user {
			return true
		}
	}
	return false
}
