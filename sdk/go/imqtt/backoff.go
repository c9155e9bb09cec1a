package imqtt

import (
	"math/rand/v2"
	"time"
)

// backoff returns the wait before reconnect attempt n (n ≥ 1; 0 for n ≤ 0,
// the first attempt after a drop): a uniformly random duration in
// [0, min(max, min·2^(n-1))], "full jitter", so that clients a broker
// restart dropped at once do not come back at once.
func backoff(n int, lo, hi time.Duration) time.Duration {
	if n <= 0 || hi <= 0 {
		return 0
	}
	ceil := lo
	for i := 1; i < n && ceil < hi; i++ {
		ceil *= 2
	}
	ceil = min(ceil, hi)
	if ceil <= 0 {
		return 0
	}
	return rand.N(ceil + 1)
}
