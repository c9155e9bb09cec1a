// Package session holds the configuration of who may use a session and how
// much one user or client holds (issue 16): a session belongs to the user
// who created it (session.owner_mismatch: refuse or clean_start), a user
// holds at most session.max_per_user persistent sessions, and a client at
// most limits.max_subscriptions_per_client filters.
//
// The engine enforces them (broker/engine bounds.go; the broker maps
// Config and Limits onto engine.Config): a CONNECT naming another user's
// session gets CONNACK 0x87 / 3.1.1 return code 5 (or, in clean_start mode,
// the offline session is discarded and the CONNECT starts clean; a live
// holder still refuses); a new persistent session past max_per_user gets
// 0x97 / 3; a filter past max_subscriptions_per_client gets SUBACK 0x97
// (3.1.1: 0x80). Anonymous clients are the one owner "" and are not
// counted. The package had a mochi hook doing this until issue 17 removed
// the mochi path.
package session
