package qgatest

import (
	"encoding/base64"
	"fmt"
	"io"
)

// guest is what the model's guest answers to the commands that only return a value.
var guest = map[string]string{
	"guest-get-host-name": `{"host-name": "web-guest"}`,
	"guest-get-osinfo":    `{"pretty-name": "Debian GNU/Linux 12 (bookworm)"}`,
	"guest-network-get-interfaces": `[{"name": "lo", "hardware-address": "00:00:00:00:00:00",
		"ip-addresses": [{"ip-address": "127.0.0.1", "prefix": 8}]},
		{"name": "eth0", "hardware-address": "52:54:00:12:34:56",
		"ip-addresses": [{"ip-address": "10.9.0.5", "prefix": 24}]}]`,
	"guest-fsfreeze-freeze": `{}`,
	"guest-fsfreeze-thaw":   `{}`,
	"guest-ping":            `{}`,
}

// Default answers r as the model does, whatever is scripted: for handlers that wrap it.
func (a *Agent) Default(r Request, w io.Writer) {
	switch r.Execute {
	case "guest-sync-delimited":
		fmt.Fprintf(w, "\xff{\"return\": %d}\n", r.Arguments.ID)
	case "guest-shutdown":
		a.mu.Lock()
		fn := a.onShutdown
		a.mu.Unlock()
		if fn != nil {
			fn(r.Arguments.Mode)
		}
	case "guest-file-open":
		reply(w, a.fileOpen(r.Arguments.Path))
	case "guest-file-read":
		reply(w, a.fileRead(r.Arguments.Handle, r.Arguments.Count))
	case "guest-file-close":
		reply(w, a.fileClose(r.Arguments.Handle))
	default:
		if v, ok := guest[r.Execute]; ok {
			Return(v)(r, w)
			return
		}
		Fail("CommandNotFound", "The command "+r.Execute+" has not been found")(r, w)
	}
}

func (a *Agent) fileOpen(path string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.files[path]; !ok {
		return errorLine("GenericError", fmt.Sprintf("failed to open file '%s' (mode: 'r'): No such file or directory", path))
	}
	a.nextHandle++
	a.open[a.nextHandle] = &handle{path: path}
	return fmt.Sprintf(`{"return": %d}`, a.nextHandle)
}

// fileRead reads at most count bytes (and maxRead) from the handle's offset.
func (a *Agent) fileRead(h int64, count int) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	f, ok := a.open[h]
	if !ok {
		return errorLine("GenericError", "handle not found")
	}
	content := a.files[f.path]
	n := min(count, len(content)-f.offset)
	if a.maxRead > 0 {
		n = min(n, a.maxRead)
	}
	data := content[f.offset : f.offset+n]
	f.offset += n
	return fmt.Sprintf(`{"return": {"count": %d, "buf-b64": %q, "eof": %t}}`,
		n, base64.StdEncoding.EncodeToString([]byte(data)), f.offset == len(content))
}

func (a *Agent) fileClose(h int64) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.open[h]; !ok {
		return errorLine("GenericError", "handle not found")
	}
	delete(a.open, h)
	return `{"return": {}}`
}
