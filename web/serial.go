package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/coder/websocket"
	"github.com/labstack/echo/v4"

	"cloudlet/appliance/compute"
	"cloudlet/appliance/fault"
	"cloudlet/appliance/identity"
)

// The serial console websocket: GET /api/v1/instances/{id}/console.
//
// Raw bytes both ways: the guest's output in binary messages; input from binary or text messages
// (xterm.js's attach addon sends text). ?mode=keyboard asks for the keyboard (409 when another
// viewer holds it), ?mode=view for read only; without mode the caller gets the keyboard when it is
// free and may type, else view only. What it got is in the 101 answer's SerialModeHeader. Readers
// may only view (mode=keyboard → 403). The stream ends with a close reason: the console ended
// (1001 going away), or the viewer fell too far behind the guest's output (1013 try again later).

// SerialModeHeader in the websocket's 101 answer says what the viewer got: keyboard or view.
const SerialModeHeader = "X-Cloudlet-Console-Mode"

// consoleTypeAction is the action that lets a viewer type on a console; viewing needs only
// consoleViewAction, the serial console route's own.
const (
	consoleTypeAction identity.Action = "instance:console"
	consoleViewAction identity.Action = "instance:console_view"
)

// Serial console websocket limits.
const (
	serialReadPiece   = 1 << 10          // input is read and passed on in pieces of this, never a whole message
	serialMessageMax  = 16 << 20         // a longer single input message (paste) closes the console: 1009
	serialWriteWithin = 30 * time.Second // a viewer must take each output message within this
)

// SerialGrant is what an authorized serial console upgrade may do: the project it acts in and
// whether it may type.
type SerialGrant struct {
	Project string
	MayType bool
}

// SerialAuth authorizes a serial console upgrade. The default (bearerSerialAuth) takes what the
// authorize middleware found: a bearer token or a trusted transport. Console tickets plug in here.
type SerialAuth func(c echo.Context) (SerialGrant, error)

// serialViewer is what the websocket needs of one attached viewer (compute.SerialViewer).
type serialViewer interface {
	Keyboard() bool
	Next(ctx context.Context) ([]byte, error)
	Write(ctx context.Context, p []byte) error
	Close()
}

// bearerSerialAuth grants the caller's project, and the keyboard when its role may type.
func (s *Server) bearerSerialAuth(c echo.Context) (SerialGrant, error) {
	return SerialGrant{Project: s.project(c), MayType: identity.Allowed(s.principal(c), consoleTypeAction)}, nil
}

// serialConsole upgrades to the websocket and serves one viewer of the instance's serial console.
func (s *Server) serialConsole(c echo.Context) error {
	auth := s.opts.SerialAuth
	if auth == nil {
		auth = s.bearerSerialAuth
	}
	grant, err := auth(c)
	if err != nil {
		return err
	}
	mode, err := serialMode(c.QueryParam("mode"), grant.MayType)
	if err != nil {
		return err
	}
	v, err := s.opts.Compute.AttachSerial(c.Request().Context(), grant.Project, c.Param("id"), mode)
	if err != nil {
		return err
	}
	defer v.Close()
	serveSerial(c.Response(), c.Request(), v, s.consoles.opts.AllowedOrigins)
	return nil
}

// serialMode is the mode a caller asks for, within what it may do.
func serialMode(asked string, mayType bool) (compute.SerialMode, error) {
	switch m := compute.SerialMode(asked); {
	case m != compute.SerialAuto && m != compute.SerialKeyboard && m != compute.SerialView:
		return "", fault.New(fault.Invalid, "mode %q: want keyboard or view", asked)
	case !mayType && m == compute.SerialKeyboard:
		return "", fault.New(fault.Forbidden, "your role may only view the serial console (mode=view)")
	case !mayType:
		return compute.SerialView, nil
	default:
		return m, nil
	}
}

// serveSerial runs the websocket of an attached viewer until either side ends it. It returns only
// when both of its directions have stopped.
func serveSerial(w http.ResponseWriter, r *http.Request, v serialViewer, origins []string) {
	w.Header().Set(SerialModeHeader, map[bool]string{true: "keyboard", false: "view"}[v.Keyboard()])
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: origins}) // refuses other origins (Origin ≠ Host, not allowed)
	if err != nil {
		return // Accept answered
	}
	defer ws.CloseNow()
	ws.SetReadLimit(serialMessageMax)
	ctx, cancel := context.WithCancel(context.Background()) // the request's ends when the handler does
	defer cancel()
	inputDone := make(chan struct{})
	go func() {
		defer close(inputDone)
		defer cancel()
		serialInput(ctx, ws, v)
	}()
	err = serialOutput(ctx, ws, v)
	_ = ws.Close(serialCloseStatus(err)) // waits for the peer's close frame, at most seconds (the library's bound)
	cancel()
	<-inputDone
}

// serialOutput sends the guest's output until the viewer is dropped or the websocket fails.
func serialOutput(ctx context.Context, ws *websocket.Conn, v serialViewer) error {
	for {
		p, err := v.Next(ctx)
		if err != nil {
			return err
		}
		wctx, cancel := context.WithTimeout(ctx, serialWriteWithin)
		err = ws.Write(wctx, websocket.MessageBinary, p)
		cancel()
		if err != nil {
			return err
		}
	}
}

// serialInput reads the viewer's messages piece by piece and types them when it holds the keyboard;
// a view-only viewer's input is read and dropped.
func serialInput(ctx context.Context, ws *websocket.Conn, v serialViewer) {
	buf := make([]byte, serialReadPiece)
	for {
		_, msg, err := ws.Reader(ctx)
		if err != nil {
			return
		}
		for {
			n, err := msg.Read(buf)
			if n > 0 && v.Keyboard() {
				if werr := v.Write(ctx, buf[:n]); werr != nil {
					return
				}
			}
			if errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return
			}
		}
	}
}

// serialCloseStatus is the close code and reason that tell the viewer why its stream ended.
func serialCloseStatus(err error) (websocket.StatusCode, string) {
	switch {
	case errors.Is(err, compute.ErrSerialTooSlow):
		return websocket.StatusTryAgainLater, compute.ErrSerialTooSlow.Error()
	case errors.Is(err, compute.ErrSerialEnded):
		return websocket.StatusGoingAway, "the serial console ended"
	}
	return websocket.StatusNormalClosure, ""
}
