package persist

import "time"

// CheckSpace runs once per proposed command, which at tens of thousands of
// commands a second made statfs a visible cost. A reading is reused for
// spaceReuse when it showed at least spaceMargin more than MinFreeBytes
// free: no writer fills spaceMargin within spaceReuse (that would be 20 GB/s),
// so the answer cannot have changed. Near the line every call reads the file
// system. Apply's own reserve check (applyReserve) never uses the cache.
const (
	spaceReuse  = 50 * time.Millisecond
	spaceMargin = 1 << 30
)

// spaceReading is one statfs result of CheckSpace.
type spaceReading struct {
	g     *gen
	at    time.Time
	min   int64 // the MinFreeBytes it was judged against
	roomy bool  // free >= min + spaceMargin
}

// checkSpaceCached is checkSpace, reusing a recent roomy reading.
func (s *Store) checkSpaceCached(g *gen) error {
	min := s.cfg.MinFreeBytes
	if s.cfg.InMemory || min <= 0 {
		return nil
	}
	if r := s.space.Load(); r != nil && r.g == g && r.min == min && r.roomy && time.Since(r.at) < spaceReuse {
		return nil
	}
	free, err := freeBytes(g.dir)
	if err != nil {
		return err
	}
	s.space.Store(&spaceReading{g: g, at: time.Now(), min: min, roomy: free >= uint64(min)+spaceMargin})
	return s.spaceError(g, free, min)
}
