package ext

import "context"

// AuthWaiter is what an engine that bounds the Authenticate calls running
// at once (broker/engine: a few per CPU, so that a storm of CONNECTs does
// not run thousands of bcrypt checks together) puts in the ctx it passes to
// Authenticate. A call that is about to wait without using the CPU (the
// login throttle's delay, up to auth.throttle.max_delay) gives its place to
// another CONNECT meanwhile: AuthIdle.
type AuthWaiter interface {
	// Idle gives up the call's place until the returned func is called;
	// that func may wait for a place again, not past the engine's Close.
	Idle() (resume func())
}

type authWaiterKey struct{}

// WithAuthWaiter returns ctx carrying w (the engine's side of AuthIdle).
func WithAuthWaiter(ctx context.Context, w AuthWaiter) context.Context {
	return context.WithValue(ctx, authWaiterKey{}, w)
}

// AuthIdle tells the engine that called Authenticate with ctx that the
// caller is about to wait without working; call the returned func when the
// wait ends, before working again. Without an AuthWaiter in ctx both are
// no-ops.
func AuthIdle(ctx context.Context) (resume func()) {
	if w, ok := ctx.Value(authWaiterKey{}).(AuthWaiter); ok {
		return w.Idle()
	}
	return func() {}
}
