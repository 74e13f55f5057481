package qemu

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// procStat is what this package reads from /proc/<pid>/stat.
type procStat struct {
	state     byte   // field 3: R, S, D, Z, …
	startTime uint64 // field 22: clock ticks after boot; with the PID it names one process for good
}

// readStat parses /proc/<pid>/stat. A missing process gives an error matching fs.ErrNotExist.
func readStat(pid int) (procStat, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	// The command name (field 2) is in parentheses and may itself hold spaces or parentheses.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("parse /proc/%d/stat: no command name", pid)
	}
	fields := strings.Fields(string(data[i+1:])) // fields[0] is field 3
	if len(fields) < 20 || len(fields[0]) != 1 {
		return procStat{}, fmt.Errorf("parse /proc/%d/stat: %d fields", pid, len(fields)+2)
	}
	start, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("parse /proc/%d/stat starttime: %w", pid, err)
	}
	return procStat{state: fields[0][0], startTime: start}, nil
}

// readCmdline returns /proc/<pid>/cmdline split into arguments (empty for zombies and kernel threads).
func readCmdline(pid int) ([]string, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return nil, err
	}
	data = bytes.TrimSuffix(data, []byte{0})
	if len(data) == 0 {
		return nil, nil
	}
	return strings.Split(string(data), "\x00"), nil
}

// hasUUID reports whether argv holds "-uuid" followed by uuid, as Spec.Argv writes it.
func hasUUID(argv []string, uuid string) bool {
	for i := 0; i+1 < len(argv); i++ {
		if argv[i] == "-uuid" && argv[i+1] == uuid {
			return true
		}
	}
	return false
}

// identify checks that pid is a live (not zombie) process started with -uuid uuid, and returns its
// start time. It returns ErrNotRunning when pid is gone or a zombie, ErrNotOurs when it is another
// process.
func identify(pid int, uuid string) (uint64, error) {
	st, err := readStat(pid)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("pid %d: %w", pid, ErrNotRunning)
	} else if err != nil {
		return 0, err
	}
	if st.state == 'Z' || st.state == 'X' {
		return 0, fmt.Errorf("pid %d has exited: %w", pid, ErrNotRunning)
	}
	argv, err := readCmdline(pid)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("pid %d: %w", pid, ErrNotRunning)
	} else if err != nil {
		return 0, err
	}
	if !hasUUID(argv, uuid) {
		return 0, fmt.Errorf("pid %d has no -uuid %s in its cmdline: %w", pid, uuid, ErrNotOurs)
	}
	return st.startTime, nil
}

// verify checks that pid is still the process identify found at startTime.
func verify(pid int, startTime uint64, uuid string) error {
	got, err := identify(pid, uuid)
	if err != nil {
		return err
	}
	if got != startTime {
		return fmt.Errorf("pid %d started at tick %d, not %d: %w", pid, got, startTime, ErrNotOurs)
	}
	return nil
}
