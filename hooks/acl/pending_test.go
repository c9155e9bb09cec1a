package acl

import (
	"strings"
	"testing"

	mqtt "github.com/mochi-mqtt/server/v2"
)

func TestPendingIdentity(t *testing.T) {
	var p pending
	cl, other := &mqtt.Client{ID: "a"}, &mqtt.Client{ID: "b"}
	// One SUBSCRIBE with the same filter twice: two strings, equal bytes.
	f1, f2 := strings.Clone("x/secret"), strings.Clone("x/secret")
	p.open(cl, []string{f1, f2})

	same := strings.Clone(f1) // equal bytes, another allocation: a delivery
	if p.take(cl, same) {
		t.Fatal("took an entry for an equal string with another data pointer")
	}
	if p.take(other, f1) {
		t.Fatal("took another client's entry")
	}
	if !p.take(cl, f1) {
		t.Fatal("did not take the recorded filter")
	}
	if p.take(cl, f1) {
		t.Fatal("took the same entry twice")
	}
	if !p.take(cl, f2) {
		t.Fatal("did not take the second filter")
	}
	if p.take(cl, "") {
		t.Fatal("took an empty string")
	}
	p.close(cl)
	if n := p.len(); n != 0 {
		t.Fatalf("%d records after close", n)
	}

	p.open(cl, []string{f1})
	p.open(other, []string{f2})
	p.open(other, nil) // a SUBSCRIBE with no literal filter drops the record
	if n := p.len(); n != 1 {
		t.Fatalf("%d records, want 1", n)
	}
	p.clear()
	if n := p.len(); n != 0 {
		t.Fatalf("%d records after clear", n)
	}
}
