package compute

import (
	"context"
	"errors"
	"sync"

	"cloudlet/appliance/fault"
)

// SerialMode is what a viewer of the serial console asks for.
type SerialMode string

// Serial console modes.
const (
	SerialAuto     SerialMode = ""         // the keyboard when nobody holds it, else view only
	SerialKeyboard SerialMode = "keyboard" // the keyboard, or a conflict when another viewer holds it
	SerialView     SerialMode = "view"     // read only
)

// Serial console limits. A viewer's buffer holds at most viewerBuffer bytes of output not yet read,
// however QEMU split them (an echoed command line arrives a byte or a few at a time): a viewer that
// falls further behind is dropped, so QEMU and the other viewers never wait.
const (
	DefaultSerialViewers = 16
	serialChunk          = 4 << 10
	viewerBuffer         = 256 << 10
	inputChunk           = 1 << 10 // keyboard input is passed to QEMU in pieces of at most this
	inputQueue           = 4       // pieces queued for QEMU; the keyboard holder waits beyond that
)

// Why a viewer's stream ended; web sends them as the websocket's close reason.
var (
	ErrSerialEnded    = errors.New("the serial console ended: QEMU exited or the daemon is stopping")
	ErrSerialTooSlow  = errors.New("viewer too far behind the guest's output: dropped")
	ErrSerialViewOnly = errors.New("this viewer is view only")
)

// serialHub fans one guest's serial output out to its viewers and passes the keyboard holder's
// input to QEMU.
type serialHub struct {
	max   int
	input chan []byte // the keyboard holder's input, read by the console's writer
	ended chan struct{}

	mu       sync.Mutex // guards the fields below
	viewers  map[*SerialViewer]struct{}
	keyboard *SerialViewer
	closed   bool
}

func newSerialHub(maxViewers int) *serialHub {
	return &serialHub{max: maxViewers, input: make(chan []byte, inputQueue), ended: make(chan struct{}),
		viewers: map[*SerialViewer]struct{}{}}
}

// SerialViewer is one attached viewer: Next reads the guest's output, Write types (keyboard only).
type SerialViewer struct {
	hub      *serialHub
	keyboard bool
	ready    chan struct{} // signalled (capacity 1) when pending grows
	done     chan struct{} // closed when the viewer leaves or is dropped
	reason   error         // why done was closed; set before

	mu      sync.Mutex // guards pending
	pending []byte     // output not yet read, at most viewerBuffer bytes
}

// join adds a viewer in the mode asked for, within the hub's limit.
func (h *serialHub) join(name string, mode SerialMode) (*SerialViewer, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, fault.New(fault.Conflict, "instance %s: %v", name, ErrSerialEnded)
	}
	if len(h.viewers) >= h.max {
		return nil, fault.New(fault.TooManyRequests, "instance %s already has %d serial console viewers, the limit: close one or retry later", name, h.max)
	}
	if mode == SerialKeyboard && h.keyboard != nil {
		return nil, fault.New(fault.Conflict, "instance %s: another viewer holds the serial console's keyboard; connect with mode=view", name)
	}
	v := &SerialViewer{hub: h, ready: make(chan struct{}, 1), done: make(chan struct{})}
	if mode != SerialView && h.keyboard == nil {
		v.keyboard, h.keyboard = true, v
	}
	h.viewers[v] = struct{}{}
	return v, nil
}

// broadcast appends p to every viewer's buffer without waiting for any. It keeps no reference to p.
func (h *serialHub) broadcast(p []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for v := range h.viewers {
		if !v.add(p) {
			h.dropLocked(v, ErrSerialTooSlow)
		}
	}
}

// add appends p to the viewer's unread output and wakes its reader; false when that would pass
// viewerBuffer.
func (v *SerialViewer) add(p []byte) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.pending)+len(p) > viewerBuffer {
		return false
	}
	v.pending = append(v.pending, p...)
	select {
	case v.ready <- struct{}{}:
	default:
	}
	return true
}

// take returns all unread output, or nil.
func (v *SerialViewer) take() []byte {
	v.mu.Lock()
	defer v.mu.Unlock()
	p := v.pending
	v.pending = nil
	return p
}

// end drops every viewer: the console is gone.
func (h *serialHub) end() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	close(h.ended)
	for v := range h.viewers {
		h.dropLocked(v, ErrSerialEnded)
	}
}

func (h *serialHub) dropLocked(v *SerialViewer, why error) {
	if _, ok := h.viewers[v]; !ok {
		return
	}
	delete(h.viewers, v)
	if h.keyboard == v {
		h.keyboard = nil
	}
	v.reason = why
	close(v.done)
}

// Keyboard reports whether the viewer holds the keyboard.
func (v *SerialViewer) Keyboard() bool { return v.keyboard }

// Next returns the guest's output not yet read, waiting for some. After the viewer was dropped it
// returns what was already buffered, then the reason (ErrSerialTooSlow, ErrSerialEnded).
func (v *SerialViewer) Next(ctx context.Context) ([]byte, error) {
	for {
		if p := v.take(); p != nil {
			return p, nil
		}
		select {
		case <-v.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-v.done:
			if p := v.take(); p != nil {
				return p, nil
			}
			return nil, v.reason
		}
	}
}

// Write passes keyboard input to the guest in pieces, waiting while QEMU's queue is full (the guest
// reads its serial port slowly) until ctx ends; it never holds more than one piece of p in memory
// beyond the hub's bounded queue.
func (v *SerialViewer) Write(ctx context.Context, p []byte) error {
	if !v.keyboard {
		return ErrSerialViewOnly
	}
	for len(p) > 0 {
		n := min(len(p), inputChunk)
		piece := append([]byte(nil), p[:n]...)
		select {
		case v.hub.input <- piece:
		case <-v.done:
			return v.reason
		case <-ctx.Done():
			return ctx.Err()
		}
		p = p[n:]
	}
	return nil
}

// Close detaches the viewer; the keyboard it held is free for the next viewer that connects.
func (v *SerialViewer) Close() {
	v.hub.mu.Lock()
	defer v.hub.mu.Unlock()
	v.hub.dropLocked(v, ErrSerialEnded)
}
