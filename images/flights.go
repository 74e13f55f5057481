package images

import (
	"context"
	"sync"

	"cloudlet/appliance/fault"
)

// errDeleted is the cause of an import cancelled because its image is being deleted; the
// uploader is answered 409.
var errDeleted error = &fault.Error{Kind: fault.Conflict, Msg: "the image was deleted while its data was being received"}

// flights are the imports receiving data right now (uploads, URL imports, file imports), by image
// ID: Delete cancels the one of a saving image and waits for it to clean up. An import registers
// before its record becomes saving and leaves after its record says how it ended, so a saving
// image always has its flight, except across a restart (reconcile kills those).
type flights struct {
	mu sync.Mutex // guards m
	m  map[string]*flight
}

type flight struct {
	cancel context.CancelCauseFunc
	done   chan struct{} // closed by end
}

// start registers the import of image id and returns its context (ctx, cancelled by Delete) and
// the function that ends it.
func (f *flights) start(ctx context.Context, id string) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	fl := &flight{cancel: cancel, done: make(chan struct{})}
	f.mu.Lock()
	if f.m == nil {
		f.m = map[string]*flight{}
	}
	f.m[id] = fl
	f.mu.Unlock()
	return ctx, func() {
		f.mu.Lock()
		if f.m[id] == fl {
			delete(f.m, id)
		}
		f.mu.Unlock()
		cancel(nil)
		close(fl.done)
	}
}

// cancel cancels the import of image id, if one runs, and returns a channel closed when it ended.
func (f *flights) cancel(id string, cause error) (<-chan struct{}, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fl, ok := f.m[id]
	if !ok {
		return nil, false
	}
	fl.cancel(cause)
	return fl.done, true
}

// cancelSavingOwned stops the import of a saving image that projectID owns and may delete (not
// protected), before Delete removes it: the import kills the image and removes its files, then
// Delete deletes the record. It reports whether an import was stopped.
func (s *Service) cancelSavingOwned(ctx context.Context, projectID string, img *Image) (bool, error) {
	if img.Status != StatusSaving || img.ProjectID != projectID || img.Protected {
		return false, nil
	}
	done, ok := s.flights.cancel(img.ID, errDeleted)
	if !ok {
		return false, nil
	}
	select {
	case <-done:
		return true, nil
	case <-ctx.Done():
		return true, ctx.Err()
	}
}
