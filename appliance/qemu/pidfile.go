package qemu

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"cloudlet/appliance/crashpoint"
)

// pidTempPattern names the pidfile's temporary file before its rename. A daemon killed between the
// create and the rename leaves one behind: removeRuntimeFiles removes them with the pidfile.
const pidTempPattern = ".qemu.pid-*"

// writePIDFile replaces path atomically with "<pid>\n", so a reader never sees a partial file.
func writePIDFile(path string, pid int) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), pidTempPattern)
	if err != nil {
		return fmt.Errorf("write pidfile %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	_, err = fmt.Fprintf(tmp, "%d\n", pid)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		crashpoint.Hit(crashpoint.PIDFileTemp)
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write pidfile %s: %w", path, err)
	}
	return nil
}

// readPIDFile returns the PID in path.
func readPIDFile(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read pidfile: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid < 1 {
		return 0, fmt.Errorf("pidfile %s holds %q, not a pid", path, data)
	}
	return pid, nil
}
