package qemu

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Found is a running QEMU that Scan found.
type Found struct {
	PID       int
	UUID      string // its -uuid, "" if it has none
	StartTime uint64 // from /proc/<pid>/stat, as Process.StartTime
}

// Scan lists every live qemu-system-* process with a QMP or chardev socket under runRoot (the
// directory holding the per-instance run directories), so the daemon can find QEMUs of instances
// it no longer knows and reap them. Processes that vanish during the scan are skipped.
func Scan(runRoot string) ([]Found, error) {
	runRoot = filepath.Clean(runRoot)
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("scan for qemu under %s: %w", runRoot, err)
	}
	var found []Found
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f, ok := inspect(pid, runRoot); ok {
			found = append(found, f)
		}
	}
	return found, nil
}

// inspect reports whether pid is a live QEMU with a socket under runRoot.
func inspect(pid int, runRoot string) (Found, bool) {
	argv, err := readCmdline(pid)
	if err != nil || len(argv) == 0 || !strings.HasPrefix(filepath.Base(argv[0]), "qemu-system-") {
		return Found{}, false
	}
	if !socketUnder(argv, runRoot) {
		return Found{}, false
	}
	st, err := readStat(pid)
	if err != nil || st.state == 'Z' || st.state == 'X' {
		return Found{}, false
	}
	return Found{PID: pid, UUID: argValue(argv, "-uuid"), StartTime: st.startTime}, true
}

// socketUnder reports whether a -qmp or -chardev option of argv names a path under root.
func socketUnder(argv []string, root string) bool {
	for i := 0; i+1 < len(argv); i++ {
		var path string
		switch argv[i] {
		case "-qmp":
			path, _ = strings.CutPrefix(splitOpts(argv[i+1])[0], "unix:")
		case "-chardev":
			path = optValue(splitOpts(argv[i+1]), "path")
		}
		if path != "" && strings.HasPrefix(filepath.Clean(path), root+"/") {
			return true
		}
	}
	return false
}

// splitOpts splits a QEMU option string on single commas; ",," stands for a comma.
func splitOpts(s string) []string {
	var parts []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == ',' && i+1 < len(s) && s[i+1] == ',':
			cur.WriteByte(',')
			i++
		case s[i] == ',':
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(s[i])
		}
	}
	return append(parts, cur.String())
}

func optValue(opts []string, key string) string {
	for _, o := range opts {
		if v, ok := strings.CutPrefix(o, key+"="); ok {
			return v
		}
	}
	return ""
}

func argValue(argv []string, flag string) string {
	for i := 0; i+1 < len(argv); i++ {
		if argv[i] == flag {
			return argv[i+1]
		}
	}
	return ""
}
