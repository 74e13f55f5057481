package metering

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's times: 100 on every Linux architecture
// cloudlet runs on (it is fixed in the kernel's ABI, unlike CONFIG_HZ).
const clockTicks = 100

// process is what the sampler reads of a QEMU from /proc.
type process struct {
	cpuSeconds float64
	rssBytes   uint64
}

// readProcess reads pid's CPU time and resident memory, checking it is still the process that
// started at tick start (a reused PID is another process, whose figures must not be taken for the
// instance's).
func readProcess(proc string, pid int, start uint64) (process, error) {
	dir := filepath.Join(proc, strconv.Itoa(pid))
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return process{}, fmt.Errorf("read process %d: %w", pid, err)
	}
	p, started, err := parseStat(stat)
	if err != nil {
		return process{}, fmt.Errorf("read process %d: %w", pid, err)
	}
	if started != start {
		return process{}, fmt.Errorf("read process %d: started at tick %d, not %d: another process", pid, started, start)
	}
	statm, err := os.ReadFile(filepath.Join(dir, "statm"))
	if err != nil {
		return process{}, fmt.Errorf("read process %d: %w", pid, err)
	}
	if p.rssBytes, err = parseStatm(statm, uint64(os.Getpagesize())); err != nil {
		return process{}, fmt.Errorf("read process %d: %w", pid, err)
	}
	return p, nil
}

// parseStat reads utime+stime (fields 14, 15) and starttime (22) of /proc/<pid>/stat. The command
// name (field 2) is in parentheses and may hold spaces or parentheses itself.
func parseStat(data []byte) (process, uint64, error) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return process{}, 0, fmt.Errorf("parse stat: no command name")
	}
	f := strings.Fields(string(data[i+1:])) // f[0] is field 3
	if len(f) < 20 {
		return process{}, 0, fmt.Errorf("parse stat: %d fields", len(f)+2)
	}
	var n [3]uint64
	for j, k := range []int{11, 12, 19} {
		v, err := strconv.ParseUint(f[k], 10, 64)
		if err != nil {
			return process{}, 0, fmt.Errorf("parse stat field %d: %w", k+3, err)
		}
		n[j] = v
	}
	return process{cpuSeconds: float64(n[0]+n[1]) / clockTicks}, n[2], nil
}

// parseStatm reads the resident set (field 2, in pages) of /proc/<pid>/statm.
func parseStatm(data []byte, pageSize uint64) (uint64, error) {
	f := strings.Fields(string(data))
	if len(f) < 2 {
		return 0, fmt.Errorf("parse statm: %d fields", len(f))
	}
	pages, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse statm: %w", err)
	}
	return pages * pageSize, nil
}
