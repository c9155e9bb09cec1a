// Package mqtttopic holds the pure functions over MQTT topic filters that more
// than one layer needs, so that each rule is written once. Today that is the
// shared subscription syntax "$share/{group}/{filter}" [MQTT-4.8.2-1]: every
// package that must tell a shared subscription apart (hooks/acl,
// hooks/storage, im, broker/adminapi) calls ParseShared (or
// ParseSharedAnyCase, for mochi's case-insensitive reading) instead of
// cutting the prefix itself.
//
// Contract: functions only; no state, no allocation, no logging. The package
// is a leaf of the import layering (tools/deptest, docs/architecture.md
// "Leaf packages"): it imports nothing of imqtt and nothing of mochi, so every
// layer down to persist may use it.
//
// ParseShared checks the share syntax only: the inner filter is returned as
// sent and the caller checks it as a filter (wildcard placement, UTF-8, NUL),
// because callers differ in how they report a bad filter.
package mqtttopic
