package qgatest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Return answers with {"return": value}; value is JSON, written on one line as qemu-ga does.
func Return(value string) Handler {
	var one bytes.Buffer
	if err := json.Compact(&one, []byte(value)); err != nil {
		panic("qgatest: Return: " + err.Error()) // a test passed a value that is not JSON
	}
	line := `{"return": ` + one.String() + `}`
	return func(_ Request, w io.Writer) { reply(w, line) }
}

// Fail answers with qemu-ga's error reply {"error": {"class": class, "desc": desc}}.
func Fail(class, desc string) Handler {
	line := errorLine(class, desc)
	return func(_ Request, w io.Writer) { reply(w, line) }
}

// Blocked answers as qemu-ga does for a command blocked with --block-rpcs: CommandNotFound
// "Command X has been disabled".
func Blocked(r Request, w io.Writer) {
	reply(w, errorLine("CommandNotFound", "Command "+r.Execute+" has been disabled"))
}

// Silent never answers: a hanging agent (or guest-shutdown's success).
func Silent(Request, io.Writer) {}

// Garbage answers with a line that is not JSON.
func Garbage(_ Request, w io.Writer) { reply(w, `}{"return": [1,`) }

// Flood answers with 4 MiB of one unterminated JSON string, without a sentinel or a newline, and
// stops early once the client is gone.
func Flood(_ Request, w io.Writer) {
	if _, err := io.WriteString(w, `{"return": "`); err != nil {
		return
	}
	chunk := []byte(strings.Repeat("x", 64<<10))
	for range 64 {
		if _, err := w.Write(chunk); err != nil {
			return
		}
	}
}

// WrongSync answers guest-sync-delimited honestly but for another id (an earlier sync's answer).
func WrongSync(r Request, w io.Writer) {
	fmt.Fprintf(w, "\xff{\"return\": %d}\n", r.Arguments.ID+1)
}

func errorLine(class, desc string) string {
	b, _ := json.Marshal(map[string]any{"error": map[string]string{"class": class, "desc": desc}})
	return string(b)
}
