package main

import (
	"fmt"
	"io"
	"os"
)

// adminPasswordLine is the banner's line about the admin password. The first start's password is
// shown only to a terminal, where a person reads it once; any other stdout (systemd's journal, a
// pipe, a log file) would keep it, so it gets only the path of the 0600 file that holds it.
func adminPasswordLine(terminal bool, password, file string) string {
	switch {
	case password != "" && terminal:
		return fmt.Sprintf("  admin password:    %s   (first start: user admin, project admin; also saved in %s)\n", password, file)
	case password != "":
		return fmt.Sprintf("  admin password:    in %s (first start: user admin, project admin; shown only on a terminal)\n", file)
	}
	return fmt.Sprintf("  admin password:    in %s\n", file)
}

// writesToTerminal reports whether w is a terminal.
func writesToTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isTerminal(f)
}
