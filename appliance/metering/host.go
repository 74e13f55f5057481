package metering

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// hostState is the host's part of the cache.
type hostState struct {
	busy, total uint64 // the last /proc/stat cpu line: busy and all ticks
	last        HostStats
	hist        *history
}

// recordHost reads the host's CPU and memory, sums the instances' last rates and adds a point to the
// host's history. It reads only /proc and the cache.
func (s *Sampler) recordHost() {
	statData, err := os.ReadFile(filepath.Join(s.o.Proc, "stat"))
	if err != nil {
		s.o.Log.Warn("metering: host", "error", err)
		return
	}
	busy, total, err := parseCPULine(statData)
	if err != nil {
		s.o.Log.Warn("metering: host", "error", err)
		return
	}
	memData, err := os.ReadFile(filepath.Join(s.o.Proc, "meminfo"))
	if err != nil {
		s.o.Log.Warn("metering: host", "error", err)
		return
	}
	memTotal, memAvail := parseMeminfo(memData)
	s.mu.Lock()
	defer s.mu.Unlock()
	h := HostStats{Time: s.o.Now(), MemoryTotalBytes: memTotal, MemoryAvailableBytes: memAvail, Instances: s.instanceSums()}
	h.Instances.Time = h.Time
	for _, t := range s.instances {
		if t.sample != nil {
			h.RunningInstances++
		}
	}
	first := s.host.total == 0
	if !first && total > s.host.total {
		h.CPUPercent = float64(busy-min(busy, s.host.busy)) / float64(total-s.host.total) * 100
	}
	s.host.busy, s.host.total, s.host.last = busy, total, h
	if first {
		return
	}
	if s.host.hist == nil {
		s.host.hist = newHistory(s.o.Interval, s.o.Coarse)
	}
	p := h.Instances
	p.CPUPercent, p.MemoryBytes = h.CPUPercent, float64(memTotal-min(memTotal, memAvail))
	s.host.hist.add(p)
}

// instanceSums adds up the running instances' last points. The caller holds s.mu.
func (s *Sampler) instanceSums() Point {
	var sum Point
	for _, t := range s.instances {
		if t.sample == nil {
			continue
		}
		sum.MemoryBytes += float64(t.sample.RSSBytes)
		if t.hist == nil {
			continue
		}
		if p, ok := t.hist.last(); ok {
			sum.CPUPercent += p.CPUPercent
			sum.DiskReadBytes += p.DiskReadBytes
			sum.DiskWriteBytes += p.DiskWriteBytes
			sum.DiskReadOps += p.DiskReadOps
			sum.DiskWriteOps += p.DiskWriteOps
			sum.NetReceiveBytes += p.NetReceiveBytes
			sum.NetTransmitBytes += p.NetTransmitBytes
		}
	}
	return sum
}

// parseCPULine reads the "cpu" line of /proc/stat: busy ticks (all but idle and iowait) and all
// ticks (guest time is already counted in user).
func parseCPULine(data []byte) (busy, total uint64, err error) {
	line, _, _ := bytes.Cut(data, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0, fmt.Errorf("parse /proc/stat: no cpu line")
	}
	for i := 1; i <= 8; i++ {
		v, err := strconv.ParseUint(f[i], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("parse /proc/stat: %w", err)
		}
		total += v
		if i != 4 && i != 5 { // idle, iowait
			busy += v
		}
	}
	return busy, total, nil
}

// parseMeminfo reads MemTotal and MemAvailable (kB) of /proc/meminfo, in bytes.
func parseMeminfo(data []byte) (total, available uint64) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		v, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			continue
		}
		switch f[0] {
		case "MemTotal:":
			total = v << 10
		case "MemAvailable:":
			available = v << 10
		}
	}
	return total, available
}
