// Package logfield is the one table of zerolog field names (STYLE.md 9): every
// package logs with these constants, never with a string literal or a table of
// its own, so a name means the same thing in every component and a dashboard
// or a test that greps the log finds it everywhere.
//
// Contract: constants only. A name's value never changes once released; a new
// field gets a new constant. Component values ("acl", "storage", ...) stay in
// their packages: they name the package, not the field. Messages are fixed
// lowercase strings, variable parts go into these fields.
//
// The package is a leaf of the import layering (tools/deptest,
// docs/layout.md "Leaf packages"): it imports nothing, so every layer down to
// persist may use it.
package logfield
