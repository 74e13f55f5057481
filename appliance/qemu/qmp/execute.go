package qmp

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
)

// Execute runs command with args (nil: no "arguments") and decodes its "return" into result (nil:
// ignored). ctx bounds the whole call, including waiting for a command already in flight. If ctx
// expires while QEMU has not answered, the monitor is broken: it is closed and the error wraps
// both ctx.Err() and ErrClosed. QEMU's error replies are returned as *Error.
func (m *Monitor) Execute(ctx context.Context, command string, args any, result any) error {
	return m.execute(ctx, command, args, nil, result)
}

// ExecuteWithFile is Execute, passing f's descriptor along with the command (SCM_RIGHTS), as
// getfd and add-fd expect.
func (m *Monitor) ExecuteWithFile(ctx context.Context, command string, args any, f *os.File, result any) error {
	if f == nil {
		return fmt.Errorf("qmp %s: no file to pass", command)
	}
	return m.execute(ctx, command, args, f, result)
}

func (m *Monitor) execute(ctx context.Context, command string, args any, f *os.File, result any) error {
	return m.observed(command, func() error { return m.run(ctx, command, args, f, result) })
}

func (m *Monitor) run(ctx context.Context, command string, args any, f *os.File, result any) error {
	if err := m.lock(ctx); err != nil {
		return fmt.Errorf("qmp %s: %w", command, err)
	}
	defer m.unlock()
	r, err := m.roundTrip(ctx, command, args, f)
	if err != nil {
		return fmt.Errorf("qmp %s: %w", command, err)
	}
	if r.err != nil {
		return &Error{Command: command, Class: r.err.Class, Desc: r.err.Desc}
	}
	if result == nil {
		return nil
	}
	if err := json.Unmarshal(r.result, result); err != nil {
		return fmt.Errorf("qmp %s: decode return %.200s: %w", command, r.result, err)
	}
	return nil
}

// lock takes the command slot, giving up when ctx expires or the monitor closes.
func (m *Monitor) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case m.sem <- struct{}{}:
	case <-m.done:
		return m.closedErr()
	case <-ctx.Done():
		return fmt.Errorf("waiting for the command in flight: %w", ctx.Err())
	}
	if m.isClosed() {
		m.unlock()
		return m.closedErr()
	}
	if err := ctx.Err(); err != nil { // nothing sent yet: the monitor is still fine
		m.unlock()
		return err
	}
	return nil
}

func (m *Monitor) unlock() { <-m.sem }

func (m *Monitor) isClosed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closed
}

// roundTrip sends one command and waits for its reply. The caller holds the command slot.
func (m *Monitor) roundTrip(ctx context.Context, command string, args any, f *os.File) (reply, error) {
	id := "cloudlet-" + strconv.FormatUint(m.ids.Add(1), 10)
	b, err := encodeRequest(command, args, id)
	if err != nil {
		return reply{}, err
	}
	c := &call{id: strconv.Quote(id), reply: make(chan reply, 1)}
	m.setPending(c)
	defer m.setPending(nil)
	if n, err := m.write(ctx, b, f); err != nil {
		switch {
		case m.isClosed():
			return reply{}, m.closedErr()
		case n == 0 && ctx.Err() == nil: // nothing sent (say, f was closed): the stream is intact
			return reply{}, fmt.Errorf("write: %w", err)
		}
		return reply{}, m.breakOff(ctx, command, fmt.Errorf("write: %w", err))
	}
	select {
	case r := <-c.reply:
		return r, nil
	case <-m.done:
	case <-ctx.Done():
	}
	select { // a reply that arrived just before the end still counts
	case r := <-c.reply:
		return r, nil
	default:
	}
	if ctx.Err() != nil {
		return reply{}, m.breakOff(ctx, command, nil)
	}
	return reply{}, m.closedErr()
}

func (m *Monitor) setPending(c *call) {
	m.mu.Lock()
	m.pending = c
	m.mu.Unlock()
}

// breakOff closes a monitor left in an unknown state: a command (maybe half-) written and not
// answered in time, or a write that failed part way. A late reply must not be taken for the next command's. When ctx expired, that
// is the reason given.
func (m *Monitor) breakOff(ctx context.Context, command string, err error) error {
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	m.shutdown(fmt.Errorf("qmp %s: %w", command, err))
	return fmt.Errorf("%w (%w)", err, ErrClosed)
}
