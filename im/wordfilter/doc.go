// Package wordfilter is the IM sensitive-word filter: a word list loaded from a
// file and matched with an Aho-Corasick automaton
// (github.com/petar-dambovaliev/aho-corasick, MIT), case-insensitively with
// Unicode simple case folding, in time linear in the message.
//
// Mode "mask" replaces every rune of every match (overlapping matches
// included) with '*' and keeps the rest; mode "reject" refuses a message that
// contains any listed word. The list is swapped atomically by Reload (SIGHUP):
// a file that cannot be read or parsed keeps the old list in force.
//
// A Filter is safe for concurrent use. It owns no goroutine.
package wordfilter
