package persist

import "fmt"

// CommandResults reads what a raft Apply of EncodeOps(ops) returned on this
// node: the ops' results, or an error naming what failed. The state
// machine's own error, an unexpected value and the first op whose Result.Err
// is set each make the error (the op's error wrapped, so errors.Is finds
// ErrConflict, ErrQuotaExceeded, ...). Every writer of raw commands (im,
// accounts, tokens) reads its results through here and wraps the error in
// its own sentinel.
func CommandResults(res any, ops []Op) ([]Result, error) {
	if e, ok := res.(error); ok {
		return nil, fmt.Errorf("apply result: %w", e)
	}
	rs, ok := res.([]Result)
	if !ok || len(rs) != len(ops) {
		return nil, fmt.Errorf("unexpected apply result %T", res)
	}
	for i := range rs {
		if rs[i].Err != nil {
			return nil, fmt.Errorf("op %d (%s): %w", i, ops[i].Kind, rs[i].Err)
		}
	}
	return rs, nil
}
