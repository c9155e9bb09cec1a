package persist

import (
	"bytes"
	"fmt"
)

// requireRaw evaluates a guard (OpRequireRaw). It writes nothing; a failing
// guard reports Result.Err wrapping ErrConflict and Apply skips the rest of
// the batch. The read is getLive: a key carrying a TTL counts as absent, so
// every replica decides alike (DESIGN.md "TTL policy").
func requireRaw(w *txnWriter, op *Op) (Result, error) {
	v, found, err := w.getLive(op.Key)
	if err != nil {
		return Result{}, err
	}
	switch {
	case op.IfAbsent && found:
		return Result{Found: true, Err: fmt.Errorf("%w: require_raw: key %q present", ErrConflict, truncKey(op.Key))}, nil
	case op.IfAbsent:
		return Result{}, nil
	case !found:
		return Result{Err: fmt.Errorf("%w: require_raw: key %q absent", ErrConflict, truncKey(op.Key))}, nil
	case !bytes.Equal(v, op.Value):
		return Result{Found: true, Err: fmt.Errorf("%w: require_raw: key %q holds another value", ErrConflict, truncKey(op.Key))}, nil
	}
	return Result{Found: true}, nil
}
