package main

import (
	"os"
	"strings"
	"testing"
)

// Finding 16: the first start printed the admin password to stdout, which the journal keeps under
// systemd. Now a stdout that is no terminal gets only the path of the 0600 file.
func TestProbe16FirstStartPasswordOnlyOnATerminal(t *testing.T) {
	const pw, file = "k7Hq9ZxTmW2pR4sV8nYb", "/var/lib/cloudlet/admin-password"
	if line := adminPasswordLine(false, pw, file); strings.Contains(line, pw) || !strings.Contains(line, file) {
		t.Errorf("first start, stdout no terminal: %q, want the file and no password", line)
	}
	if line := adminPasswordLine(true, pw, file); !strings.Contains(line, pw) || !strings.Contains(line, file) {
		t.Errorf("first start on a terminal: %q, want the password and the file", line)
	}
	if line := adminPasswordLine(true, "", file); !strings.Contains(line, file) {
		t.Errorf("later start: %q, want the file", line)
	}
	pipeR, pipeW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pipeR.Close()
	defer pipeW.Close()
	if writesToTerminal(pipeW) || writesToTerminal(&strings.Builder{}) {
		t.Error("a pipe or a buffer taken for a terminal")
	}
}
