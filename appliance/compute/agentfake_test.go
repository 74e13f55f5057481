package compute

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
)

// How a fake guest agent behaves.
const (
	agentHonest       = "honest"        // answers as qemu-ga does
	agentFlood        = "flood"         // answers everything with megabytes
	agentGarbage      = "garbage"       // answers everything with malformed JSON
	agentWrongSync    = "wrong-sync"    // answers guest-sync-delimited with another id
	agentHang         = "hang"          // reads and never answers
	agentBadAddresses = "bad-addresses" // honest, but its interfaces carry addresses that do not parse
	agentHugeHostname = "huge-hostname" // honest, but its host name is 10 KB with control characters
)

// fakeAgent is a QEMU guest agent on the instance's agent socket. It records the commands it gets
// and behaves as its mode says; guest-shutdown calls onShutdown (the guest powering off).
type fakeAgent struct {
	mu         sync.Mutex // guards the fields below
	cmds       []string
	mode       string
	onShutdown func(mode string)
	files      fakeFiles // the guest's files, read with guest-file-* (agentfilefake_test.go)
}

func startFakeAgent(t *testing.T, path string) *fakeAgent {
	t.Helper()
	return startFakeAgentWithFiles(t, path, nil)
}

// startFakeAgentWithFiles starts a fake agent whose guest has files (path → content) from the start.
func startFakeAgentWithFiles(t *testing.T, path string, files map[string]string) *fakeAgent {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	a := &fakeAgent{mode: agentHonest, files: fakeFiles{content: map[string]string{}, open: map[int64]string{}}}
	for p, c := range files {
		a.files.content[p] = c
	}
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go a.serve(conn)
		}
	}()
	return a
}

func (a *fakeAgent) setMode(m string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.mode = m
}

func (a *fakeAgent) commands() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.cmds)
}

// saw reports whether the agent got cmd.
func (a *fakeAgent) saw(cmd string) bool { return slices.Contains(a.commands(), cmd) }

func (a *fakeAgent) serve(conn net.Conn) {
	defer conn.Close()
	sc := bufio.NewScanner(conn)
	for sc.Scan() {
		var req agentRequest
		if json.Unmarshal(bytes.TrimLeft(sc.Bytes(), "\xff"), &req) != nil {
			return
		}
		a.mu.Lock()
		a.cmds = append(a.cmds, req.Execute)
		mode, onShutdown := a.mode, a.onShutdown
		a.mu.Unlock()
		if reply, ok := a.fileReply(mode, req); ok {
			if _, err := io.WriteString(conn, reply); err != nil {
				return
			}
			continue
		}
		if req.Execute == "guest-shutdown" && mode == agentHonest && onShutdown != nil {
			onShutdown(req.Arguments.Mode)
			continue // qemu-ga answers a successful shutdown with nothing
		}
		if reply := agentReply(mode, req.Execute, req.Arguments.ID); reply != "" {
			if _, err := io.WriteString(conn, reply); err != nil {
				return
			}
		}
	}
}

// agentRequest is one command as the fake agent gets it.
type agentRequest struct {
	Execute   string
	Arguments struct {
		ID     int64
		Mode   string
		Path   string
		Handle int64
		Count  int
	}
}

// agentReply is what an agent in mode answers to cmd ("" for nothing).
func agentReply(mode, cmd string, id int64) string {
	switch mode {
	case agentFlood:
		return `{"return": "` + strings.Repeat("x", 4<<20)
	case agentGarbage:
		return "}{\"return\": [1,\n"
	case agentHang:
		return ""
	}
	ret := map[string]string{
		"guest-sync-delimited": fmt.Sprint(id),
		"guest-get-host-name":  `{"host-name": "web-guest"}`,
		"guest-get-osinfo":     `{"pretty-name": "Debian GNU/Linux 12 (bookworm)"}`,
		"guest-network-get-interfaces": `[{"name": "lo", "hardware-address": "00:00:00:00:00:00",
			"ip-addresses": [{"ip-address": "127.0.0.1", "prefix": 8}]},
			{"name": "eth0", "hardware-address": "52:54:00:12:34:56",
			"ip-addresses": [{"ip-address": "10.9.0.5", "prefix": 24}]}]`,
	}[cmd]
	switch {
	case cmd == "guest-sync-delimited" && mode == agentWrongSync:
		ret = fmt.Sprint(id + 1)
	case cmd == "guest-network-get-interfaces" && mode == agentBadAddresses:
		ret = `[{"name": "eth0", "ip-addresses": [{"ip-address": "10.9.0.999", "prefix": 24}]}]`
	case cmd == "guest-get-host-name" && mode == agentHugeHostname:
		ret = `{"host-name": "` + strings.Repeat(`h\u0007`, 5000) + `"}`
	case ret == "":
		ret = "{}"
	}
	reply := `{"return": ` + strings.Join(strings.Fields(ret), " ") + "}\n"
	if cmd == "guest-sync-delimited" {
		reply = "\xff" + reply
	}
	return reply
}
