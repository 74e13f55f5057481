package web

import (
	"encoding/json"
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
func (s *Server) listEvents(c echo.Context) error {
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
	events, err := s.opts.Events(since, int(limit))
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
