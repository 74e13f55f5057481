package qmp

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// read is the reader goroutine: it owns the socket's read side until the connection ends. It never
// blocks on anyone: replies go to a one-slot channel, events to the unbounded queue.
func (m *Monitor) read(dec *json.Decoder) {
	defer m.wg.Done()
	first := true
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			m.shutdown(readErr(err))
			return
		}
		m.transcript.add("<-", raw)
		var msg message
		if err := json.Unmarshal(raw, &msg); err != nil {
			m.shutdown(fmt.Errorf("decode %q: %w", raw, err))
			return
		}
		if err := m.dispatch(&msg, first); err != nil {
			m.shutdown(err)
			return
		}
		first = false
	}
}

// dispatch routes one message. The greeting must come first, and only first.
func (m *Monitor) dispatch(msg *message, first bool) error {
	switch {
	case first && msg.QMP == nil:
		return errors.New("protocol error: first message is not the QMP greeting")
	case first:
		m.greeted <- msg.QMP
	case msg.Event != "":
		m.events.push(Event{Name: msg.Event, Data: msg.Data, Time: msg.Timestamp.time()})
	case msg.isReply():
		m.deliver(msg.reply())
	}
	return nil // anything else (a second greeting, say) is only in the transcript
}

// deliver hands a reply to the command in flight if it is that command's. A reply without id
// answers a request QEMU could not parse, which can only be the one in flight.
func (m *Monitor) deliver(r reply) {
	m.mu.Lock()
	c := m.pending
	if c != nil && (r.id == "" || r.id == c.id) {
		m.pending = nil
	} else {
		c = nil
	}
	m.mu.Unlock()
	if c != nil {
		c.reply <- r // one slot, and this is the only send
	}
}

// readErr is the cause recorded for a read that ended the connection: none for a clean end.
func readErr(err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	return fmt.Errorf("read: %w", err)
}
