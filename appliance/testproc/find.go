// Package testproc finds and kills the processes a test left running: those whose command line names a
// path inside one of the test's own temporary directories (its t.TempDir root, a daemon's run dir, the
// TMPDIR of a whole test run). Those directories are made fresh and unique for the test, so the match
// never reaches a process the test did not start: a user's QEMU, another test's daemon, the test itself.
//
// It is test support: the e2e harness, tests that start QEMU and `make test`'s leftover check use it;
// the product never does. It imports nothing from the project.
package testproc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Process is a live process whose command line names a path inside a test's directory.
type Process struct {
	PID  int
	Argv []string
}

func (p Process) String() string { return fmt.Sprintf("pid %d: %s", p.PID, strings.Join(p.Argv, " ")) }

// Find returns the live processes other than this one whose command line names one of dirs or a path
// inside it. Zombies are left out: they have exited, and only their parent can reap them.
func Find(dirs ...string) ([]Process, error) {
	if err := checkDirs(dirs); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("find processes under %v: %w", dirs, err)
	}
	var found []Process
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if argv, ok := matching(pid, dirs); ok {
			found = append(found, Process{PID: pid, Argv: argv})
		}
	}
	return found, nil
}

// matching returns pid's command line if it names one of dirs and pid is no zombie.
func matching(pid int, dirs []string) ([]string, bool) {
	argv := cmdline(pid)
	if !mentionsAny(argv, dirs) || zombie(pid) {
		return nil, false
	}
	return argv, true
}

// checkDirs refuses what would match too much: a relative or unclean path, "/" or a top-level
// directory such as /tmp itself.
func checkDirs(dirs []string) error {
	if len(dirs) == 0 {
		return errors.New("find processes: no directory given")
	}
	for _, d := range dirs {
		if !filepath.IsAbs(d) || filepath.Clean(d) != d || strings.Count(d, "/") < 2 {
			return fmt.Errorf("find processes under %q: want a clean absolute path below a top-level directory", d)
		}
	}
	return nil
}

// cmdline returns /proc/<pid>/cmdline split into arguments; nil if the process is gone or a kernel thread.
func cmdline(pid int) []string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	data = bytes.TrimSuffix(data, []byte{0})
	if err != nil || len(data) == 0 {
		return nil
	}
	return strings.Split(string(data), "\x00")
}

// zombie reports whether pid has exited and waits for its parent (or is gone already).
func zombie(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The command name (field 2) is in parentheses and may itself hold spaces or parentheses.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 || i+2 >= len(data) {
		return false
	}
	return data[i+2] == 'Z' || data[i+2] == 'X'
}
