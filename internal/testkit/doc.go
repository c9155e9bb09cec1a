// Package testkit holds the test helpers that several packages' tests used to
// write again each: a test logger, polling with a deadline, the import
// list behind the per-package TestDeps, and real imqttd processes (Main
// builds the binary once per test binary; Launch runs one process and
// parses its log; StartIM starts a node with password users).
//
// Contract: imported by _test.go files only (tools/deptest fails a production
// import). Helpers call t.Helper, fail the test themselves and register their
// cleanups with t.Cleanup. Polling is a loop with a deadline, never a bare
// sleep used as synchronisation (STYLE.md 10). testkit is a leaf
// (docs/layout.md "Leaf packages"): it imports nothing of imqtt and no mochi.
package testkit
