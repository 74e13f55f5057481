package main

import (
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"cloudlet/appliance/metering"
)

// statsRows is how many of the hour series' last points the table shows.
const statsRows = 10

func newInstanceStatsCmd(g *globals) *cobra.Command {
	return &cobra.Command{Use: "stats INSTANCE", Short: "usage: the last sample's counters and rates, then the last minutes at the sample interval (-o json: the hour and the day)",
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, a []string) error {
			var st metering.InstanceStats
			if err := g.call("GET", "/api/v1/instances/"+url.PathEscape(a[0])+"/stats", nil, &st); err != nil {
				return err
			}
			if g.output == "json" {
				return g.printJSON(st)
			}
			if err := g.printTable([]string{"FIELD", "VALUE"}, latestRows(st)); err != nil {
				return err
			}
			fmt.Fprintln(g.stdout)
			return g.printTable([]string{"TIME", "CPU %", "MEMORY", "DISK READ/S", "DISK WRITE/S", "IOPS R/W", "NET RX/S", "NET TX/S"},
				seriesRows(st.Hour.Points, statsRows))
		}}
}

// latestRows are the last sample's figures.
func latestRows(st metering.InstanceStats) [][]string {
	rows := [][]string{{"running", strconv.FormatBool(st.Running)}}
	if st.Sample == nil {
		return append(rows, []string{"sample", "none (no QEMU runs, or none answered yet)"})
	}
	s := st.Sample
	rows = append(rows, []string{"sample_age", fmt.Sprintf("%.1fs", st.SampleAgeSeconds)},
		[]string{"cpu_seconds", fmt.Sprintf("%.2f", s.CPUSeconds)}, []string{"memory_rss", bytesText(float64(s.RSSBytes))})
	if p := st.Latest; p != nil {
		rows = append(rows, []string{"cpu_percent", fmt.Sprintf("%.1f", p.CPUPercent)})
	}
	for _, d := range s.Drives {
		rows = append(rows, []string{"drive " + d.Drive, fmt.Sprintf("read %s (%d ops), written %s (%d ops)",
			bytesText(float64(d.ReadBytes)), d.ReadOps, bytesText(float64(d.WriteBytes)), d.WriteOps)})
	}
	for _, n := range s.NICs {
		rows = append(rows, []string{"interface " + n.Interface, fmt.Sprintf("received %s (%d packets, %d dropped), sent %s (%d packets, %d dropped)",
			bytesText(float64(n.ReceiveBytes)), n.ReceivePackets, n.ReceiveDrops, bytesText(float64(n.TransmitBytes)), n.TransmitPackets, n.TransmitDrops)})
	}
	return rows
}

// seriesRows are the last n points, oldest first.
func seriesRows(points []metering.Point, n int) [][]string {
	points = points[max(0, len(points)-n):]
	rows := make([][]string, 0, len(points))
	for _, p := range points {
		rows = append(rows, []string{p.Time.Local().Format(time.TimeOnly), fmt.Sprintf("%.1f", p.CPUPercent), bytesText(p.MemoryBytes),
			bytesText(p.DiskReadBytes), bytesText(p.DiskWriteBytes), fmt.Sprintf("%.0f/%.0f", p.DiskReadOps, p.DiskWriteOps),
			bytesText(p.NetReceiveBytes), bytesText(p.NetTransmitBytes)})
	}
	return rows
}

// bytesText writes n bytes with a binary unit: 512B, 1.5KiB, 3.2GiB.
func bytesText(n float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for n >= 1024 && i < len(units)-1 {
		n /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f%s", n, units[i])
	}
	return fmt.Sprintf("%.1f%s", n, units[i])
}
