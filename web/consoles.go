package web

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"cloudlet/appliance/fault"
	"cloudlet/appliance/identity"
)

// ConsoleTicketRequest is the body of POST /api/v1/instances/{id}/console-tickets.
type ConsoleTicketRequest struct {
	Kind string `json:"kind"` // vnc or serial
}

// ConsoleTicket is a ticket's one showing: the secret and the URL to open with it (relative to
// the server; a browser opens it as ws:// or wss:// on the same host).
type ConsoleTicket struct {
	Ticket    string    `json:"ticket"`
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// consolePaths are the websocket routes each kind of ticket opens, by kind.
var consolePaths = map[string]string{ConsoleVNC: "vnc", ConsoleSerial: "console"}

// createConsoleTicket serves POST /api/v1/instances/{id}/console-tickets. Readers may take serial
// tickets (the serial console gives them view only); a vnc ticket needs instance:console, since
// RFB has no view-only mode here and a keyboard is a write.
func (s *Server) createConsoleTicket(c echo.Context) error {
	var req ConsoleTicketRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	p := s.principal(c)
	switch req.Kind {
	case ConsoleVNC:
		if err := identity.Authorize(p, "instance:console"); err != nil {
			return err
		}
	case ConsoleSerial:
	default:
		return fault.New(fault.Invalid, "kind must be vnc or serial")
	}
	ctx, project := c.Request().Context(), s.project(c)
	id, err := s.consoles.backend.InstanceID(ctx, project, c.Param("id"))
	if err != nil {
		return err
	}
	secret, expires, err := s.consoles.tickets.issue(consoleTicket{principal: p, project: project, instance: id, kind: req.Kind})
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusCreated, ConsoleTicket{Ticket: secret, ExpiresAt: expires,
		URL: "/api/v1/instances/" + id + "/" + consolePaths[req.Kind] + "?" + ticketParam + "=" + secret})
}

// screenshot serves GET /api/v1/instances/{id}/screenshot: a PNG of a running instance's screen,
// at most ScreenshotBurst at once per instance, then one per ScreenshotInterval (429 past that).
func (s *Server) screenshot(c echo.Context) error {
	ctx, project := c.Request().Context(), s.project(c)
	id, err := s.consoles.backend.InstanceID(ctx, project, c.Param("id"))
	if err != nil {
		return err
	}
	if !s.consoles.shots.Allow(id) {
		return &retryError{Err: fault.New(fault.TooManyRequests, "screenshots of this instance are limited to one per %s",
			s.consoles.opts.ScreenshotInterval), After: s.consoles.opts.ScreenshotInterval}
	}
	png, err := s.consoles.backend.Screenshot(ctx, project, id)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "image/png", png)
}
