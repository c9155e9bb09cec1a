// Package deptest holds the test that enforces the import direction of DESIGN.md:
// cmd -> broker -> hooks -> {im, cluster} -> persist, with mochi types confined to
// broker and hooks. It has no non-test code.
package deptest
