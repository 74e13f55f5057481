package metering

import "time"

// Sample is one instance's counters at one time, as its QEMU and its taps reported them.
type Sample struct {
	Time       time.Time   `json:"time"`
	PIDStart   uint64      `json:"-"`
	CPUSeconds float64     `json:"cpu_seconds"` // user+system time of the QEMU process
	RSSBytes   uint64      `json:"rss_bytes"`
	Drives     []BlockStat `json:"drives"`
	NICs       []NICStat   `json:"interfaces"`
}

// NICStat is one tap's counters, seen from the guest: receive is what the guest received (what the
// host sent into the tap), as libvirt's domifstat reports them.
type NICStat struct {
	Interface       string `json:"interface"`
	ReceiveBytes    uint64 `json:"receive_bytes"`
	ReceivePackets  uint64 `json:"receive_packets"`
	ReceiveDrops    uint64 `json:"receive_drops"`
	TransmitBytes   uint64 `json:"transmit_bytes"`
	TransmitPackets uint64 `json:"transmit_packets"`
	TransmitDrops   uint64 `json:"transmit_drops"`
}

// totals sums the drives' and the NICs' counters.
func (s *Sample) totals() (d BlockStat, n NICStat) {
	for _, x := range s.Drives {
		d.ReadBytes += x.ReadBytes
		d.WriteBytes += x.WriteBytes
		d.ReadOps += x.ReadOps
		d.WriteOps += x.WriteOps
	}
	for _, x := range s.NICs {
		n.ReceiveBytes += x.ReceiveBytes
		n.TransmitBytes += x.TransmitBytes
	}
	return d, n
}

// rates is the history point between two samples of one QEMU.
func rates(prev, cur *Sample) Point {
	secs := cur.Time.Sub(prev.Time).Seconds()
	pd, pn := prev.totals()
	cd, cn := cur.totals()
	per := func(a, b uint64) float64 {
		if b < a { // a drive or NIC went away: its counters left the sum
			return 0
		}
		return float64(b-a) / secs
	}
	cpu := (cur.CPUSeconds - prev.CPUSeconds) / secs * 100
	if cpu < 0 {
		cpu = 0
	}
	return Point{Time: cur.Time, CPUPercent: cpu, MemoryBytes: float64(cur.RSSBytes),
		DiskReadBytes: per(pd.ReadBytes, cd.ReadBytes), DiskWriteBytes: per(pd.WriteBytes, cd.WriteBytes),
		DiskReadOps: per(pd.ReadOps, cd.ReadOps), DiskWriteOps: per(pd.WriteOps, cd.WriteOps),
		NetReceiveBytes: per(pn.ReceiveBytes, cn.ReceiveBytes), NetTransmitBytes: per(pn.TransmitBytes, cn.TransmitBytes)}
}
