package metering

import (
	"github.com/prometheus/client_golang/prometheus"
)

// instanceLabels label every per-instance series.
var instanceLabels = []string{"instance_id", "instance_name", "project_id"}

func desc(name, help string, extra ...string) *prometheus.Desc {
	return prometheus.NewDesc("cloudlet_instance_"+name, help, append(append([]string{}, instanceLabels...), extra...), nil)
}

var (
	descCPU       = desc("cpu_seconds_total", "CPU time (user and system) of the instance's QEMU process.")
	descRSS       = desc("memory_rss_bytes", "Resident memory of the instance's QEMU process.")
	descAge       = desc("sample_age_seconds", "Age of the instance's cached sample: it grows while its QEMU does not answer.")
	descReadB     = desc("block_read_bytes_total", "Bytes read by the guest from a drive.", "drive")
	descWriteB    = desc("block_write_bytes_total", "Bytes written by the guest to a drive.", "drive")
	descReadOps   = desc("block_read_ops_total", "Read operations of the guest on a drive.", "drive")
	descWriteOps  = desc("block_write_ops_total", "Write operations of the guest on a drive.", "drive")
	descRxBytes   = desc("network_receive_bytes_total", "Bytes the guest received on a NIC (sent into its tap).", "interface")
	descRxPackets = desc("network_receive_packets_total", "Packets the guest received on a NIC.", "interface")
	descRxDrops   = desc("network_receive_drops_total", "Packets dropped on their way into the guest.", "interface")
	descTxBytes   = desc("network_transmit_bytes_total", "Bytes the guest sent on a NIC (out of its tap).", "interface")
	descTxPackets = desc("network_transmit_packets_total", "Packets the guest sent on a NIC.", "interface")
	descTxDrops   = desc("network_transmit_drops_total", "Packets the guest sent that were dropped.", "interface")
)

// Describe sends every per-instance metric's description.
func (s *Sampler) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descCPU, descRSS, descAge, descReadB, descWriteB, descReadOps, descWriteOps,
		descRxBytes, descRxPackets, descRxDrops, descTxBytes, descTxPackets, descTxDrops} {
		ch <- d
	}
}

// Collect sends the cached samples of the running instances: a scrape takes the cache's lock and
// nothing else, so it never waits on a QEMU.
func (s *Sampler) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.o.Now()
	for _, t := range s.instances {
		if t.sample == nil {
			continue
		}
		l := []string{t.inst.ID, t.inst.Name, t.inst.ProjectID}
		sm := t.sample
		ch <- prometheus.MustNewConstMetric(descCPU, prometheus.CounterValue, sm.CPUSeconds, l...)
		ch <- prometheus.MustNewConstMetric(descRSS, prometheus.GaugeValue, float64(sm.RSSBytes), l...)
		ch <- prometheus.MustNewConstMetric(descAge, prometheus.GaugeValue, now.Sub(sm.Time).Seconds(), l...)
		for _, d := range sm.Drives {
			counters(ch, append(l, d.Drive), []*prometheus.Desc{descReadB, descWriteB, descReadOps, descWriteOps},
				d.ReadBytes, d.WriteBytes, d.ReadOps, d.WriteOps)
		}
		for _, n := range sm.NICs {
			counters(ch, append(l, n.Interface), []*prometheus.Desc{descRxBytes, descRxPackets, descRxDrops, descTxBytes, descTxPackets, descTxDrops},
				n.ReceiveBytes, n.ReceivePackets, n.ReceiveDrops, n.TransmitBytes, n.TransmitPackets, n.TransmitDrops)
		}
	}
}

func counters(ch chan<- prometheus.Metric, labels []string, descs []*prometheus.Desc, values ...uint64) {
	for i, d := range descs {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(values[i]), labels...)
	}
}
