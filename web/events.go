package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"cloudlet/appliance/fault"
)

// Event-list limits.
const (
	defaultEventLimit = 500
	maxEventLimit     = 5000
)

// listEvents serves GET /api/v1/events?since=SEQ&limit=N: the catalog's events after SEQ, oldest first.
// Every state change of every resource is one event, written in the same transaction as the change.
// With Accept: text/event-stream it serves them as server-sent events instead (streamEvents).
func (s *Server) listEvents(c echo.Context) error {
	if wantsStream(c) {
		return s.streamEvents(c)
	}
	since, err := queryUint(c, "since", 0)
	if err != nil {
		return err
	}
	limit, err := queryUint(c, "limit", defaultEventLimit)
	if err != nil {
		return err
	}
	if limit == 0 || limit > maxEventLimit {
		return fault.New(fault.Invalid, "limit must be between 1 and %d", maxEventLimit)
	}
	var events []json.RawMessage
	if s.isAdmin(c) {
		events, err = s.opts.Events(since, int(limit))
	} else {
		events, err = s.projectEvents(s.project(c), since, int(limit))
	}
	if err != nil {
		return err
	}
	if events == nil {
		events = []json.RawMessage{}
	}
	return c.JSON(http.StatusOK, events)
}

func queryUint(c echo.Context, name string, def uint64) (uint64, error) {
	v := c.QueryParam(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fault.New(fault.Invalid, "%s must be a non-negative integer, not %q", name, v)
	}
	return n, nil
}

// eventScanBudget bounds how many events one non-admin request reads while looking for its
// project's, so a quiet project in a busy cloud cannot make a request scan the whole log.
const eventScanBudget = 20 * maxEventLimit

// projectEvents returns up to limit events of project after since. If the scan budget runs out
// first, the answer may hold fewer: the caller asks again after the last seq it got, or, with none,
// gets none, and the cloud's other events stay invisible either way.
func (s *Server) projectEvents(project string, since uint64, limit int) ([]json.RawMessage, error) {
	out := []json.RawMessage{}
	for scanned := 0; len(out) < limit && scanned < eventScanBudget; {
		batch, err := s.opts.Events(since, maxEventLimit)
		if err != nil {
			return nil, err
		}
		for _, raw := range batch {
			var e struct {
				Seq       uint64 `json:"seq"`
				ProjectID string `json:"project_id"`
			}
			if err := json.Unmarshal(raw, &e); err != nil {
				return nil, fmt.Errorf("decode event after %d: %w", since, err)
			}
			since = e.Seq
			if e.ProjectID == project && len(out) < limit {
				out = append(out, raw)
			}
		}
		if len(batch) < maxEventLimit {
			break
		}
		scanned += len(batch)
	}
	return out, nil
}
