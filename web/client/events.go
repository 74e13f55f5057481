package client

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Event is one server-sent event of GET /api/v1/events: its id (the catalog's seq), its type and
// its data (the event's JSON, as the paged list shows it).
type Event struct {
	Seq  uint64
	Type string
	Data json.RawMessage
}

// Types of the events a stream sends of its own.
const (
	EventStreamGap      = "stream.gap"      // events after "after" and before "next" were pruned from the log
	EventStreamOverflow = "stream.overflow" // the client fell too far behind: resume from the last seq
	EventStreamEnd      = "stream.end"      // the token expired or was revoked, or the server is stopping
)

// EventStream reads server-sent events from a response body. Close it when done.
type EventStream struct {
	body io.ReadCloser
	r    *bufio.Reader
	// OnComment, when set, is called with each comment line (a heartbeat) as it is read.
	OnComment func(string)
}

// NewEventStream reads the server-sent events of body.
func NewEventStream(body io.ReadCloser) *EventStream {
	return &EventStream{body: body, r: bufio.NewReader(body)}
}

// Events opens the event stream with the query q (type, resource, since), resuming after the
// event with seq lastID when lastID is not "" (the Last-Event-ID header).
func (c *Client) Events(ctx context.Context, q url.Values, lastID string) (*EventStream, error) {
	path := "/api/v1/events"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, fmt.Errorf("open event stream: %w", err)
	}
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := c.do(req)
	if err != nil {
		return nil, err
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		resp.Body.Close()
		return nil, fmt.Errorf("open event stream: the server answered %q, not an event stream", ct)
	}
	return NewEventStream(resp.Body), nil
}

// Next returns the next event; io.EOF when the stream ended.
func (s *EventStream) Next() (Event, error) {
	var e Event
	var data []string
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			if err == io.EOF && line == "" {
				return e, io.EOF
			}
			return e, fmt.Errorf("read event stream: %w", err)
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			if data == nil && e.Type == "" {
				continue // a blank line after a comment
			}
			e.Data = json.RawMessage(strings.Join(data, "\n"))
			return e, nil
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "":
			if s.OnComment != nil {
				s.OnComment(value)
			}
		case "id":
			if e.Seq, err = strconv.ParseUint(value, 10, 64); err != nil {
				return e, fmt.Errorf("read event stream: id %q: %w", value, err)
			}
		case "event":
			e.Type = value
		case "data":
			data = append(data, value)
		}
	}
}

// Close ends the stream.
func (s *EventStream) Close() error { return s.body.Close() }
