// Package deptest holds the test that enforces the import direction of DESIGN.md:
// cmd -> broker -> hooks -> {im, accounts, cluster} -> persist (accounts is
// the replicated user store, at im's layer), with mochi's wire codec
// (github.com/mochi-mqtt/server/v2/packets, the only package of mochi the
// module may import, in production code and tests alike, issue 17) confined
// to broker and hooks, and none at all in broker/adminapi (it reads the MQTT
// side through adminapi.MQTT, which the broker implements over the engine).
// tokens/ (app-backend access tokens) is a layer beside im: it imports only
// persist (raft through an interface it defines) and is imported by hooks,
// broker, cmd and tools. It has no non-test code.
//
// Beside the layers, internal/ holds leaf packages that every layer may import
// (docs/layout.md "Leaf packages"): they import no imqtt package outside
// internal/ and no mochi. internal/mqtttopic parses topic filters ($share),
// internal/logfield names the log fields, internal/username holds the user-name
// rule, internal/testkit holds the shared test
// helpers. internal/testkit/... is imported by _test.go files only.
package deptest
