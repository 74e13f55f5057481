package e2e

import (
	"fmt"
	"strings"
)

// b6NATReport is b6-nat.json.
type b6NATReport struct {
	Benchmark   string    `json:"benchmark"`
	Environment benchEnv  `json:"environment"`
	Rounds      int       `json:"rounds"`
	DownBytes   int64     `json:"download_bytes"`
	UpBytes     int64     `json:"upload_bytes"`
	Method      string    `json:"method"`
	Baseline    b6NATSide `json:"baseline"`
	Cloudlet    b6NATSide `json:"cloudlet"`
	DownRatio   float64   `json:"download_ratio"` // cloudlet median MB/s / baseline median MB/s
	UpRatio     float64   `json:"upload_ratio"`
	// Paired*Ratio are the medians of A_i / B_i over the interleaved rounds.
	PairedDownRatio float64 `json:"paired_download_ratio"`
	PairedUpRatio   float64 `json:"paired_upload_ratio"`
	// Slower*Rounds count the rounds in which cloudlet was the slower side.
	SlowerDownRounds int     `json:"cloudlet_slower_download_rounds"`
	SlowerUpRounds   int     `json:"cloudlet_slower_upload_rounds"`
	TargetRatio      float64 `json:"target_ratio"` // both throughput ratios ≥ this
	// *CPURatio compare the host CPU time per MB (cloudlet median / baseline median; above 1: cloudlet's
	// path costs more). Less exposed to other load on the machine than wall-clock throughput.
	DownCPURatio         float64         `json:"download_host_cpu_per_mb_ratio"`
	UpCPURatio           float64         `json:"upload_host_cpu_per_mb_ratio"`
	Vhost                string          `json:"vhost_net"`
	BridgeNFCallIPTables string          `json:"bridge_nf_call_iptables"`
	BaselineNet          []string        `json:"baseline_network"`    // the commands that made it, in the test's namespace
	Ruleset              []string        `json:"iptables_save_after"` // iptables-save -c of the test's namespace after the rounds
	SetupS               float64         `json:"setup_s"`
	Argv                 []string        `json:"argv"` // the daemon's QEMU argv; the baseline runs it with its own tap and MAC
	cloudlet, raw        [2][]b6Transfer // per round: downloads, uploads
}

type b6NATSide struct {
	What        string    `json:"what"`
	DownMBps    float64   `json:"median_download_mb_s"`
	UpMBps      float64   `json:"median_upload_mb_s"`
	DownSamples []float64 `json:"download_samples_mb_s"`
	UpSamples   []float64 `json:"upload_samples_mb_s"`
	// Host CPU time (the side's QEMU plus the test process: server, forwarding and NAT in its
	// softirqs) per MB moved, medians in ms; and the daemon's CPU time during each transfer.
	DownCPUPerMB float64 `json:"median_download_host_cpu_ms_per_mb"`
	UpCPUPerMB   float64 `json:"median_upload_host_cpu_ms_per_mb"`
	DaemonCPUMS  float64 `json:"median_daemon_cpu_ms_per_transfer"`
	// The same split by process. The test process holds the server and, in the softirqs of its
	// sends, the host's forwarding and NAT of the download; QEMU's main loop holds those of the upload
	// (its tap writes), next to the emulation itself.
	DownQEMUCPUPerMB float64 `json:"median_download_qemu_cpu_ms_per_mb"`
	UpQEMUCPUPerMB   float64 `json:"median_upload_qemu_cpu_ms_per_mb"`
	DownSelfCPUPerMB float64 `json:"median_download_test_process_cpu_ms_per_mb"`
	UpSelfCPUPerMB   float64 `json:"median_upload_test_process_cpu_ms_per_mb"`
	// QEMU's vCPU (busiest) thread's CPU time / transfer time: near 100, the emulated CPU is the limit.
	DownVCPUPct float64 `json:"median_download_vcpu_pct"`
	UpVCPUPct   float64 `json:"median_upload_vcpu_pct"`
}

func (r *b6NATReport) summarize() {
	r.Benchmark = "B6 (NAT) guest ↔ outside TCP throughput: cloudlet NAT network vs the same QEMU on a hand-made bridge with one MASQUERADE rule"
	r.Method = fmt.Sprintf("the guest (test guest, busybox) downloads %d MiB with wget -O /dev/null from an HTTP/1.0 server in a second "+
		"namespace reached only through source NAT, and uploads a %d MiB file in its RAM to it with nc; the server times each "+
		"transfer (download: request read → client closed; upload: first byte → last byte); MB = 10^6 bytes; both guests booted "+
		"once and kept up, transfers strictly sequential and interleaved, cloudlet first in odd rounds and baseline first in even "+
		"ones, after one untimed warm-up transfer each way per side; host CPU from /proc/<pid>/task/*/schedstat",
		r.DownBytes>>20, r.UpBytes>>20)
	r.Cloudlet = b6SideOf("instance on a cloudlet NAT network ("+b6CloudNet+"): daemon's bridge, tap, firewall chains and MASQUERADE", r.cloudlet)
	r.Baseline = b6SideOf("the daemon's QEMU argv run by hand, NIC on a tap of a hand-made bridge ("+b6BaseNet+"), one MASQUERADE rule", r.raw)
	r.DownRatio = r.Cloudlet.DownMBps / r.Baseline.DownMBps
	r.UpRatio = r.Cloudlet.UpMBps / r.Baseline.UpMBps
	r.PairedDownRatio = pairedRatio(r.Cloudlet.DownSamples, r.Baseline.DownSamples)
	r.PairedUpRatio = pairedRatio(r.Cloudlet.UpSamples, r.Baseline.UpSamples)
	r.SlowerDownRounds = slower(r.Cloudlet.DownSamples, r.Baseline.DownSamples)
	r.SlowerUpRounds = slower(r.Cloudlet.UpSamples, r.Baseline.UpSamples)
	r.DownCPURatio = r.Cloudlet.DownCPUPerMB / r.Baseline.DownCPUPerMB
	r.UpCPURatio = r.Cloudlet.UpCPUPerMB / r.Baseline.UpCPUPerMB
}

func b6SideOf(what string, s [2][]b6Transfer) b6NATSide {
	side := b6NATSide{What: what}
	var cpu, qemu, self, vcpuPct [2][]float64
	var daemon []float64
	for dir, ts := range s {
		for _, t := range ts {
			mb := float64(t.Bytes) / 1e6
			cpu[dir] = append(cpu[dir], ms(t.QEMUCPU+t.SelfCPU)/mb)
			qemu[dir] = append(qemu[dir], ms(t.QEMUCPU)/mb)
			self[dir] = append(self[dir], ms(t.SelfCPU)/mb)
			vcpuPct[dir] = append(vcpuPct[dir], 100*t.VCPU.Seconds()/t.Elapsed.Seconds())
			daemon = append(daemon, ms(t.DaemonCPU))
		}
	}
	for _, t := range s[0] {
		side.DownSamples = append(side.DownSamples, t.MBps())
	}
	for _, t := range s[1] {
		side.UpSamples = append(side.UpSamples, t.MBps())
	}
	side.DownMBps, side.UpMBps = medianOf(side.DownSamples), medianOf(side.UpSamples)
	side.DownCPUPerMB, side.UpCPUPerMB = medianOf(cpu[0]), medianOf(cpu[1])
	side.DownQEMUCPUPerMB, side.UpQEMUCPUPerMB = medianOf(qemu[0]), medianOf(qemu[1])
	side.DownSelfCPUPerMB, side.UpSelfCPUPerMB = medianOf(self[0]), medianOf(self[1])
	side.DownVCPUPct, side.UpVCPUPct = medianOf(vcpuPct[0]), medianOf(vcpuPct[1])
	side.DaemonCPUMS = medianOf(daemon)
	return side
}

// pairedRatio is the median of a[i]/b[i].
func pairedRatio(a, b []float64) float64 {
	var v []float64
	for i := range min(len(a), len(b)) {
		v = append(v, a[i]/b[i])
	}
	return medianOf(v)
}

// slower counts the i where a[i] < b[i].
func slower(a, b []float64) int {
	n := 0
	for i := range min(len(a), len(b)) {
		if a[i] < b[i] {
			n++
		}
	}
	return n
}

func (r *b6NATReport) markdown() string {
	var s strings.Builder
	fmt.Fprintf(&s, "# B6 (NAT): guest ↔ outside TCP throughput, cloudlet NAT vs hand-made bridge (%d interleaved rounds)\n\n", r.Rounds)
	fmt.Fprintf(&s, "%s.\n\n", r.Method)
	fmt.Fprintf(&s, "| | median download MB/s | median upload MB/s | host CPU ms/MB down | host CPU ms/MB up | vCPU busy %% down / up | daemon CPU ms/transfer |\n")
	fmt.Fprintf(&s, "|---|---:|---:|---:|---:|---:|---:|\n")
	sides := []struct {
		name string
		b6NATSide
	}{{"cloudlet NAT network", r.Cloudlet}, {"hand-made bridge (baseline)", r.Baseline}}
	for _, side := range sides {
		fmt.Fprintf(&s, "| %s | %.1f | %.1f | %.2f | %.2f | %.0f / %.0f | %.1f |\n", side.name, side.DownMBps, side.UpMBps,
			side.DownCPUPerMB, side.UpCPUPerMB, side.DownVCPUPct, side.UpVCPUPct, side.DaemonCPUMS)
	}
	fmt.Fprintf(&s, "\n| result | value | target |\n|---|---:|---:|\n")
	fmt.Fprintf(&s, "| download ratio (cloudlet / baseline medians) | %.3f | ≥ %.2f |\n", r.DownRatio, r.TargetRatio)
	fmt.Fprintf(&s, "| upload ratio (cloudlet / baseline medians) | %.3f | ≥ %.2f |\n", r.UpRatio, r.TargetRatio)
	fmt.Fprintf(&s, "| download ratio (median of paired ratios) | %.3f | ≥ %.2f |\n", r.PairedDownRatio, r.TargetRatio)
	fmt.Fprintf(&s, "| upload ratio (median of paired ratios) | %.3f | ≥ %.2f |\n", r.PairedUpRatio, r.TargetRatio)
	fmt.Fprintf(&s, "| rounds with cloudlet slower, download / upload | %d / %d of %d | |\n", r.SlowerDownRounds, r.SlowerUpRounds, r.Rounds)
	fmt.Fprintf(&s, "| host CPU per MB, download (cloudlet / baseline) | %.3f | |\n", r.DownCPURatio)
	fmt.Fprintf(&s, "| host CPU per MB, upload (cloudlet / baseline) | %.3f | |\n", r.UpCPURatio)
	fmt.Fprintf(&s, "\n| host CPU ms/MB by process | QEMU down | test process down | QEMU up | test process up |\n|---|---:|---:|---:|---:|\n")
	for _, side := range sides {
		fmt.Fprintf(&s, "| %s | %.3f | %.3f | %.3f | %.3f |\n", side.name, side.DownQEMUCPUPerMB, side.DownSelfCPUPerMB,
			side.UpQEMUCPUPerMB, side.UpSelfCPUPerMB)
	}
	fmt.Fprintf(&s, "\n| samples MB/s | download | upload |\n|---|---|---|\n")
	for _, side := range sides {
		fmt.Fprintf(&s, "| %s | %s | %s |\n", side.name, joinMBps(side.DownSamples), joinMBps(side.UpSamples))
	}
	fmt.Fprintf(&s, "\nvhost-net: %s. br_netfilter bridge-nf-call-iptables: %s. Setup (both boots, networks, warm-up): %.0f s.\n",
		r.Vhost, r.BridgeNFCallIPTables, r.SetupS)
	fmt.Fprintf(&s, "Baseline network: `%s`.\n", strings.Join(r.BaselineNet, "; "))
	s.WriteString(envMarkdown(r.Environment))
	return s.String()
}

func joinMBps(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprintf("%.1f", x)
	}
	return strings.Join(parts, " ")
}
