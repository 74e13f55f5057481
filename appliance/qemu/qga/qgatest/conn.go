package qgatest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
)

func (a *Agent) accept() {
	defer a.wg.Done()
	for {
		c, err := a.ln.Accept()
		if err != nil {
			return
		}
		if a.track(c) {
			go a.serve(c)
		}
	}
}

// track registers a new connection, or closes it if the agent is closing.
func (a *Agent) track(c net.Conn) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		c.Close()
		return false
	}
	a.conns[c] = struct{}{}
	a.wg.Add(1)
	return true
}

// serve reads one request a line (a leading 0xFF, the client's parser reset, skipped) and answers
// each in turn, until the client leaves or sends what is not JSON.
func (a *Agent) serve(c net.Conn) {
	defer a.wg.Done()
	defer func() {
		c.Close()
		a.mu.Lock()
		delete(a.conns, c)
		a.mu.Unlock()
	}()
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		var r Request
		if json.Unmarshal(bytes.TrimLeft(sc.Bytes(), "\xff"), &r) != nil {
			return
		}
		a.handlerFor(r.Execute)(r, c)
	}
}

// handlerFor records command and returns what answers it: HandleEvery's, Handle's or the model.
func (a *Agent) handlerFor(command string) Handler {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.commands = append(a.commands, command)
	if a.every != nil {
		return a.every
	}
	if h, ok := a.handlers[command]; ok {
		return h
	}
	return a.Default
}

// reply writes one line to w.
func reply(w io.Writer, line string) { io.WriteString(w, line+"\n") }
