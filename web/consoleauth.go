package web

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"cloudlet/appliance/compute"
	"cloudlet/appliance/fault"
	"cloudlet/appliance/identity"
	"cloudlet/appliance/ratelimit"
)

// Consoles is what the console routes need of compute: an instance's ID, a connection to its
// screen, a PNG of it. *compute.Service is the real one.
type Consoles interface {
	InstanceID(ctx context.Context, projectID, idOrName string) (string, error)
	DialVNC(ctx context.Context, projectID, idOrName string) (net.Conn, string, error)
	Screenshot(ctx context.Context, projectID, idOrName string) ([]byte, error)
}

var _ Consoles = (*compute.Service)(nil)

// ConsoleOptions bound the consoles. Zero fields take the defaults.
type ConsoleOptions struct {
	// TicketTTL is how long a console ticket may wait for its one use (DefaultConsoleTicketTTL).
	TicketTTL time.Duration
	// AllowedOrigins are host patterns (as path.Match: "dash.example.com", "*.example.com") of pages
	// that may open a console websocket besides the server's own host.
	AllowedOrigins []string
	// MaxVNCPerInstance caps the graphical console sessions open on one instance.
	MaxVNCPerInstance int
	// ScreenshotBurst screenshots of one instance may be taken at once, then one per ScreenshotInterval.
	ScreenshotBurst    int
	ScreenshotInterval time.Duration
}

func (o ConsoleOptions) withDefaults() ConsoleOptions {
	if o.TicketTTL <= 0 {
		o.TicketTTL = DefaultConsoleTicketTTL
	}
	if o.MaxVNCPerInstance <= 0 {
		o.MaxVNCPerInstance = DefaultMaxVNCPerInstance
	}
	if o.ScreenshotBurst <= 0 {
		o.ScreenshotBurst = DefaultScreenshotBurst
	}
	if o.ScreenshotInterval <= 0 {
		o.ScreenshotInterval = DefaultScreenshotInterval
	}
	return o
}

// consoleState is the server's console bookkeeping: tickets, open sessions, the screenshot limiter.
type consoleState struct {
	opts     ConsoleOptions
	backend  Consoles
	tickets  *ticketStore
	sessions *sessions
	shots    *ratelimit.Limiter[string]
}

func newConsoleState(o Options, now func() time.Time) *consoleState {
	co := o.Console.withDefaults()
	backend := o.Consoles
	if backend == nil {
		backend = o.Compute
	}
	return &consoleState{opts: co, backend: backend, tickets: newTicketStore(co.TicketTTL, now), sessions: newSessions(),
		shots: ratelimit.New[string](now, float64(co.ScreenshotBurst), 1/co.ScreenshotInterval.Seconds(), 4096)}
}

// consoleKind is the console kind a route opens with a ticket; ok is false for every other route.
// A browser's websocket cannot send an Authorization header, so on these routes a ?ticket= from
// POST …/console-tickets stands in for the bearer token (which the CLI may still send instead).
func consoleKind(method, path string) (kind string, ok bool) {
	switch ruleKey(method, path) {
	case ruleKey(http.MethodGet, vncPath):
		return ConsoleVNC, true
	case ruleKey(http.MethodGet, serialConsolePath): // helper "serial"'s route: its default auth reads what admitTicket sets
		return ConsoleSerial, true
	}
	return "", false
}

// admitTicket admits a request to a console route by its ticket: the principal and project are the
// ticket's, and the route's action is authorized for that principal as for a bearer token.
func (s *Server) admitTicket(c echo.Context, action identity.Action, kind string) error {
	p, project, err := s.consoleAuth(c.Request(), c.Param("id"), kind)
	if err != nil {
		return err
	}
	c.Set(principalKeyName, p)
	if err := identity.Authorize(p, action); err != nil {
		return err
	}
	c.Set(projectKeyName, project)
	return nil
}

// consoleAuth redeems the request's ?ticket= for the console of kind on instance ref (an ID or a
// name) and returns who it was issued to and in which project. The ticket is consumed whatever the
// outcome. Unknown, used or expired: 401. For another kind or instance, or presented along with a
// bearer token of another user: 403. Issued with a token or application credential revoked or expired
// since, or to a user who lost the project since: 401.
func (s *Server) consoleAuth(r *http.Request, ref, kind string) (identity.Principal, string, error) {
	t, err := s.consoles.tickets.take(r.URL.Query().Get(ticketParam))
	if err != nil {
		return identity.Principal{}, "", err
	}
	if t.kind != kind {
		return identity.Principal{}, "", fault.New(fault.Forbidden, "this console ticket opens the %s console, not the %s console", t.kind, kind)
	}
	if s.opts.Identity != nil { // the token it was issued with may have been revoked since
		if err := s.opts.Identity.Recheck(r.Context(), t.principal); err != nil {
			return identity.Principal{}, "", fmt.Errorf("console ticket: %w", err)
		}
	}
	if bearer(r) != "" {
		p, err := s.authenticate(r)
		if err != nil {
			return identity.Principal{}, "", err
		}
		if userKey(p) != userKey(t.principal) {
			return identity.Principal{}, "", fault.New(fault.Forbidden, "this console ticket was issued to another user")
		}
	}
	id, err := s.consoles.backend.InstanceID(r.Context(), t.project, ref)
	if err != nil || id != t.instance {
		return identity.Principal{}, "", fault.New(fault.Forbidden, "this console ticket is for another instance")
	}
	return t.principal, t.project, nil
}

// serialConsolePath is the serial console websocket's route, which a serial ticket opens.
const serialConsolePath = "/api/v1/instances/:id/console"

// ticketParam is the query parameter of a console ticket: the one secret cloudlet takes in a URL
// (single use, 30 s). The access log writes paths only, never query strings.
const ticketParam = "ticket"
