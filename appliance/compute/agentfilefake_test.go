package compute

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// How the fake agent answers guest-file-* (its mode; any other mode answers them honestly).
const (
	agentFilesBlocked = "files-blocked" // refuses guest-file-*, as qemu-ga with them blocked does
	agentFileGarbage  = "file-garbage"  // answers guest-file-read with malformed JSON
	agentFileLies     = "file-lies"     // answers guest-file-read with a count its buffer does not have
)

// fakeFiles is what the fake guest's files hold and which handles are open. Guarded by the agent's mu.
type fakeFiles struct {
	content map[string]string // path → content; a path not here does not exist
	open    map[int64]string  // handle → path, until closed
	next    int64
}

// setFile makes a file of the guest exist with content.
func (a *fakeAgent) setFile(path, content string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.files.content[path] = content
}

// openHandles is the number of file handles opened and not closed.
func (a *fakeAgent) openHandles() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.files.open)
}

// fileReply answers a guest-file-* command in mode; ok is false for any other command, and for a
// mode (flood, garbage, hang…) that answers every command alike.
func (a *fakeAgent) fileReply(mode string, req agentRequest) (reply string, ok bool) {
	if !strings.HasPrefix(req.Execute, "guest-file-") || mode != agentHonest && mode != agentFilesBlocked &&
		mode != agentFileGarbage && mode != agentFileLies {
		return "", false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	f := &a.files
	switch {
	case mode == agentFilesBlocked:
		return agentError("CommandNotFound", "Command "+req.Execute+" has been disabled"), true
	case req.Execute == "guest-file-open":
		if _, ok := f.content[req.Arguments.Path]; !ok {
			return agentError("GenericError", fmt.Sprintf("failed to open file '%s' (mode: 'r'): No such file or directory", req.Arguments.Path)), true
		}
		f.next++
		f.open[f.next] = req.Arguments.Path
		return fmt.Sprintf("{\"return\": %d}\n", f.next), true
	case req.Execute == "guest-file-close":
		delete(f.open, req.Arguments.Handle)
		return "{\"return\": {}}\n", true
	case mode == agentFileGarbage:
		return "}{\"return\": [1,\n", true
	}
	path, open := f.open[req.Arguments.Handle]
	if req.Execute != "guest-file-read" || !open {
		return agentError("GenericError", "handle not found"), true
	}
	data := f.content[path] // the whole file in one read when it fits, else the first count bytes each time
	data = data[:min(len(data), req.Arguments.Count)]
	count := len(data)
	if mode == agentFileLies {
		count += 7
	}
	return fmt.Sprintf("{\"return\": {\"count\": %d, \"buf-b64\": %q, \"eof\": %t}}\n",
		count, base64.StdEncoding.EncodeToString([]byte(data)), len(f.content[path]) <= req.Arguments.Count), true
}

func agentError(class, desc string) string {
	return fmt.Sprintf("{\"error\": {\"class\": %q, \"desc\": %q}}\n", class, desc)
}
