package qmptest

import (
	"encoding/json"
	"time"
)

// reply is a command's answer as QEMU sends it.
type reply struct {
	Return any             `json:"return,omitempty"`
	Error  *Error          `json:"error,omitempty"`
	ID     json.RawMessage `json:"id,omitempty"`
}

// MarshalJSON gives Error QEMU's lower-case field names.
func (e *Error) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"class": e.Class, "desc": e.Desc})
}

// serveCommand records req and, unless the server hangs, answers it; some defaults act after
// replying (quit exits only once the reply is out, as QEMU does).
func (s *Server) serveCommand(sc *conn, req request) {
	if s.record(req.Execute) {
		return
	}
	result, qerr, after := s.dispatch(sc, req)
	if qerr != nil {
		sc.send(reply{Error: qerr, ID: req.ID})
	} else {
		if result == nil {
			result = struct{}{}
		}
		sc.send(reply{Return: result, ID: req.ID})
	}
	if after != nil {
		after()
	}
}

// record notes a received command and reports whether the server is hanging.
func (s *Server) record(command string) (hanging bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commands = append(s.commands, command)
	close(s.received)
	s.received = make(chan struct{})
	return s.hanging
}

// dispatch enforces capabilities negotiation, then runs the scripted handler or the default.
func (s *Server) dispatch(sc *conn, req request) (any, *Error, func()) {
	negotiating := req.Execute == "qmp_capabilities"
	if negotiating == sc.negotiated.Load() {
		if negotiating {
			return nil, &Error{"CommandNotFound", "Capabilities negotiation is already complete, command ignored"}, nil
		}
		return nil, &Error{"CommandNotFound", "Expecting capabilities negotiation with 'qmp_capabilities'"}, nil
	}
	s.mu.Lock()
	h := s.handlers[req.Execute]
	s.mu.Unlock()
	var (
		result any
		qerr   *Error
		after  func()
	)
	switch b := s.builtins[req.Execute]; {
	case h != nil:
		result, qerr = h(req.Arguments)
	case b != nil:
		result, qerr, after = b(sc, req.Arguments)
	default:
		qerr = &Error{"CommandNotFound", "The command " + req.Execute + " has not been found"}
	}
	if negotiating && qerr == nil {
		sc.negotiated.Store(true)
	}
	return result, qerr, after
}

// Emit sends an event to every client past capabilities negotiation, stamped with the current
// time. data nil sends no "data", as QEMU does for STOP and RESUME.
func (s *Server) Emit(name string, data any) {
	now := time.Now()
	ev := map[string]any{
		"event":     name,
		"timestamp": map[string]int64{"seconds": now.Unix(), "microseconds": int64(now.Nanosecond() / 1000)},
	}
	if data != nil {
		ev["data"] = data
	}
	for _, c := range s.snapshotConns() {
		if c.negotiated.Load() {
			c.send(ev)
		}
	}
}
