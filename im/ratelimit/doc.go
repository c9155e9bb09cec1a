// Package ratelimit is the per-user message rate limit of the IM server: one
// token bucket per key (user), refilled at MessagesPerSecond up to Burst.
// Memory is bounded: at most MaxKeys buckets are kept, and when the table is
// full a bucket that has refilled completely (indistinguishable from a new
// one) is dropped first, else the least recently used one of a shard.
//
// A Limiter is safe for concurrent use (sharded locks) and owns no goroutine.
package ratelimit
