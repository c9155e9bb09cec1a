package metrics

// wireSize returns the bytes an MQTT packet occupies on the wire given its
// remaining length: one byte of type and flags, the remaining length as a
// variable byte integer (1 to 4 bytes, MQTT 5 section 1.5.5), then the remaining
// bytes. A negative remaining length (never produced by mochi) counts as zero.
func wireSize(remaining int) int {
	switch {
	case remaining < 0:
		return 2
	case remaining < 1<<7:
		return 2 + remaining
	case remaining < 1<<14:
		return 3 + remaining
	case remaining < 1<<21:
		return 4 + remaining
	default:
		return 5 + remaining
	}
}
