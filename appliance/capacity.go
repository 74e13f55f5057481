package appliance

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"cloudlet/appliance/compute"
)

// hostCapacity applies the allocation ratios to this host's CPUs and memory, as Nova's resource tracker does.
func hostCapacity(cfg Config) (compute.Capacity, error) {
	memKiB, err := memTotalKiB()
	if err != nil {
		return compute.Capacity{}, err
	}
	memMiB := int(memKiB/1024) - cfg.ReservedHostMemoryMiB
	return compute.Capacity{
		VCPUs:     max(int(float64(runtime.NumCPU())*cfg.CPUAllocationRatio), 0),
		MemoryMiB: max(int(float64(memMiB)*cfg.RAMAllocationRatio), 0),
	}, nil
}

// memTotalKiB reads MemTotal from /proc/meminfo.
func memTotalKiB() (int64, error) {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, fmt.Errorf("read host memory: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("read host memory: no MemTotal in /proc/meminfo")
}
