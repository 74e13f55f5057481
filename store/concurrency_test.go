package store

import (
	"errors"
	"sync"
	"testing"
)

func TestConcurrentCreateSameName(t *testing.T) {
	db := openTestDB(t)
	const n = 50
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = db.Update(createInstance("web", "p1"))
		})
	}
	wg.Wait()

	ok := 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, ErrConflict):
			t.Errorf("goroutine %d: %v, want success or ErrConflict", i, err)
		}
	}
	if ok != 1 {
		t.Errorf("%d creates of the same name succeeded, want exactly 1", ok)
	}
	db.View(func(tx *Tx) error {
		assertNames(t, tx, "p1", []string{"web"})
		return nil
	})
}
