package qmptest

import (
	"encoding/json"
	"os"
)

// builtin is a default command of the VM model. after, when set, runs once the reply is sent.
type builtin func(sc *conn, args json.RawMessage) (result any, err *Error, after func())

type shutdownData struct {
	Guest  bool   `json:"guest"`
	Reason string `json:"reason"`
}

func (s *Server) defaults() map[string]builtin {
	ok := func(*conn, json.RawMessage) (any, *Error, func()) { return nil, nil, nil }
	return map[string]builtin{
		"qmp_capabilities": ok,
		"query-status":     s.queryStatus,
		"cont":             s.runState("running", "RESUME"),
		"stop":             s.runState("paused", "STOP"),
		"system_reset":     s.systemReset,
		"system_powerdown": s.systemPowerdown,
		"quit":             s.quit,
		"getfd":            s.getfd,
		"migrate":          s.migrate,
		"query-migrate":    s.queryMigrate,
		"migrate_cancel":   s.migrateCancel,
		"migrate-incoming": ok,
	}
}

func (s *Server) queryStatus(*conn, json.RawMessage) (any, *Error, func()) {
	status := s.Status()
	return map[string]any{"status": status, "running": status == "running", "singlestep": false}, nil, nil
}

// runState moves the VM to status and announces it with event, before the reply as QEMU does.
func (s *Server) runState(status, event string) builtin {
	return func(*conn, json.RawMessage) (any, *Error, func()) {
		s.SetStatus(status)
		s.Emit(event, nil)
		return nil, nil, nil
	}
}

func (s *Server) systemReset(*conn, json.RawMessage) (any, *Error, func()) {
	s.Emit("RESET", shutdownData{Guest: false, Reason: "host-qmp-system-reset"})
	return nil, nil, nil
}

func (s *Server) systemPowerdown(*conn, json.RawMessage) (any, *Error, func()) {
	s.Emit("POWERDOWN", nil)
	s.mu.Lock()
	obeys := s.powerdownShutsDown
	s.mu.Unlock()
	if !obeys {
		return nil, nil, nil
	}
	return nil, nil, func() { // the guest shuts down some time after the button press
		s.shutdown(shutdownData{Guest: true, Reason: "guest-shutdown"})
		s.exit()
	}
}

// quit: QEMU 7.2 sends SHUTDOWN before the reply, then exits.
func (s *Server) quit(*conn, json.RawMessage) (any, *Error, func()) {
	s.shutdown(shutdownData{Guest: false, Reason: "host-qmp-quit"})
	return nil, nil, s.exit
}

func (s *Server) shutdown(why shutdownData) {
	s.SetStatus("shutdown")
	s.Emit("SHUTDOWN", why)
}

// exit models the QEMU process ending: every connection and the listener close.
func (s *Server) exit() {
	s.exitOnce.Do(func() {
		s.ln.Close()
		s.Disconnect()
		close(s.exited)
	})
}

func (s *Server) getfd(sc *conn, args json.RawMessage) (any, *Error, func()) {
	var a struct {
		FDName string `json:"fdname"`
	}
	if err := json.Unmarshal(args, &a); err != nil || a.FDName == "" {
		return nil, &Error{"GenericError", "Parameter 'fdname' is missing"}, nil
	}
	fd := sc.takeFD()
	if fd < 0 {
		return nil, &Error{"GenericError", "No file descriptor supplied via SCM_RIGHTS"}, nil
	}
	f := os.NewFile(uintptr(fd), a.FDName)
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, &Error{"GenericError", err.Error()}, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fds = append(s.fds, ReceivedFD{Name: a.FDName, Info: info})
	return nil, nil, nil
}

func (s *Server) migrate(*conn, json.RawMessage) (any, *Error, func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.migrated = true
	return nil, nil, nil
}

func (s *Server) queryMigrate(*conn, json.RawMessage) (any, *Error, func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.migrated {
		return map[string]any{}, nil, nil
	}
	return map[string]any{"status": "completed"}, nil, nil
}

// migrateCancel: the fake's migrations complete at once, so there is never one left to cancel (QEMU
// too answers success when none runs).
func (s *Server) migrateCancel(*conn, json.RawMessage) (any, *Error, func()) {
	return nil, nil, nil
}
