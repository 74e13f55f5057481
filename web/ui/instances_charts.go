package ui

import (
	"fmt"
	"strings"

	"cloudlet/appliance/metering"
)

// chart is a small line chart the server draws as SVG: no chart library, no JavaScript.
type chart struct {
	Title  string
	Points string // the polyline's points in a chartWidth × chartHeight box; "" when there is no data
	Latest string // the last value, formatted
	Peak   string // the highest value, formatted
}

const (
	chartWidth  = 300
	chartHeight = 80
)

// usageCharts draws CPU, memory, disk and network use over the series (the last hour).
func usageCharts(s metering.Series) []chart {
	pick := func(f func(metering.Point) float64) []float64 {
		out := make([]float64, len(s.Points))
		for i, p := range s.Points {
			out[i] = f(p)
		}
		return out
	}
	rate := func(v float64) string { return humanBytes(int64(v)) + "/s" }
	return []chart{
		drawChart("CPU", pick(func(p metering.Point) float64 { return p.CPUPercent }), func(v float64) string { return fmt.Sprintf("%.0f %%", v) }),
		drawChart("Memory", pick(func(p metering.Point) float64 { return p.MemoryBytes }), func(v float64) string { return humanBytes(int64(v)) }),
		drawChart("Disk read and write", pick(func(p metering.Point) float64 { return p.DiskReadBytes + p.DiskWriteBytes }), rate),
		drawChart("Network in and out", pick(func(p metering.Point) float64 { return p.NetReceiveBytes + p.NetTransmitBytes }), rate),
	}
}

// drawChart scales values into the chart's box: the peak touches the top, zero the bottom.
func drawChart(title string, values []float64, format func(float64) string) chart {
	c := chart{Title: title}
	if len(values) == 0 {
		return c
	}
	peak := 0.0
	for _, v := range values {
		peak = max(peak, v)
	}
	scale := 1.0
	if peak > 0 {
		scale = (chartHeight - 4) / peak
	}
	step := 0.0
	if len(values) > 1 {
		step = float64(chartWidth) / float64(len(values)-1)
	}
	pts := make([]string, len(values))
	for i, v := range values {
		pts[i] = fmt.Sprintf("%.1f,%.1f", float64(i)*step, chartHeight-2-v*scale)
	}
	c.Points, c.Latest, c.Peak = strings.Join(pts, " "), format(values[len(values)-1]), format(peak)
	return c
}
