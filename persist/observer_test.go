package persist

import (
	"fmt"
	"sync"
	"testing"
)

// TestObserversOrderAndRemove applies entries on a real store and checks that
// the set observer and every added observer see every entry, in the order they
// were installed, and that a removed observer (removed twice) sees no more.
func TestObserversOrderAndRemove(t *testing.T) {
	s := mustOpen(t, memConfig())
	var mu sync.Mutex
	var seen []string
	note := func(name string) Observer {
		return func(index uint64, batches [][]Op, results [][]Result) {
			if len(batches) != 1 || len(results) != 1 || len(results[0]) != len(batches[0]) {
				t.Errorf("%s: index %d: %d batches, %d results", name, index, len(batches), len(results))
			}
			mu.Lock()
			seen = append(seen, fmt.Sprintf("%s@%d", name, index))
			mu.Unlock()
		}
	}
	removeA := s.AddObserver(note("a"))
	s.SetObserver(note("set"))
	removeB := s.AddObserver(note("b"))
	put := func(index uint64) {
		mustApply(t, s, index, []Op{PutRawOp(fmt.Appendf(nil, "k/t/%d", index), []byte("v"), 0)})
	}
	put(1)
	removeA()
	removeA() // idempotent
	put(2)
	s.SetObserver(nil)
	put(3)
	removeB()
	put(4)
	if nilRemove := s.AddObserver(nil); nilRemove == nil {
		t.Fatal("AddObserver(nil) returned a nil remove func")
	} else {
		nilRemove()
	}
	put(5)

	want := []string{"set@1", "a@1", "b@1", "set@2", "b@2", "b@3"}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Fatalf("observers saw %v, want %v", seen, want)
	}
}

// TestObserversConcurrent adds and removes observers while entries are
// applied: under -race no data race, and an observer installed for the whole
// run sees every entry exactly once, in order.
func TestObserversConcurrent(t *testing.T) {
	s := mustOpen(t, memConfig())
	var last uint64
	var count int
	s.AddObserver(func(index uint64, _ [][]Op, _ [][]Result) {
		if index != last+1 {
			t.Errorf("steady observer: index %d after %d", index, last)
		}
		last = index
		count++
	})
	const n = 200
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			rm := s.AddObserver(func(uint64, [][]Op, [][]Result) {})
			s.SetObserver(func(uint64, [][]Op, [][]Result) {})
			rm()
		}
	}()
	for i := uint64(1); i <= n; i++ {
		mustApply(t, s, i, []Op{PutRawOp(fmt.Appendf(nil, "k/t/%d", i), []byte("v"), 0)})
	}
	close(done)
	wg.Wait()
	if count != n {
		t.Fatalf("steady observer saw %d entries, want %d", count, n)
	}
}
