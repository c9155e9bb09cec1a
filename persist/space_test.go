package persist

import "testing"

// TestCheckSpaceReusesRoomyReadings: CheckSpace reuses a recent reading only
// when it showed a wide margin over the same MinFreeBytes; a stricter limit is
// checked at once, and a refusal is never remembered as room.
func TestCheckSpaceReusesRoomyReadings(t *testing.T) {
	s := mustOpen(t, testConfig(t))
	s.cfg.MinFreeBytes = 1
	if err := s.CheckSpace(); err != nil {
		t.Fatalf("CheckSpace: %v", err)
	}
	first := s.space.Load()
	if first == nil {
		t.Fatal("no reading recorded")
	}
	if err := s.CheckSpace(); err != nil {
		t.Fatalf("CheckSpace again: %v", err)
	}
	reused := s.space.Load() == first
	if reused && !first.roomy {
		t.Fatal("a reading with less than 1 GiB of margin was reused")
	}
	if !reused && first.roomy && s.space.Load().at.Sub(first.at) < spaceReuse {
		t.Fatal("a fresh roomy reading was not reused")
	}

	s.cfg.MinFreeBytes = 1 << 62 // more than any disk has
	wantErr(t, s.CheckSpace(), ErrDiskFull)
	wantErr(t, s.CheckSpace(), ErrDiskFull)
	if r := s.space.Load(); r.roomy || r.min != 1<<62 {
		t.Fatalf("reading after a refusal: %+v", r)
	}

	s.cfg.MinFreeBytes = 1
	if err := s.CheckSpace(); err != nil {
		t.Fatalf("CheckSpace with the old limit: %v", err)
	}
}
