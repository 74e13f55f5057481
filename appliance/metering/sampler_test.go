package metering

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

var (
	web = Instance{ID: "i-web", Name: "web", ProjectID: "p1", PID: 101, PIDStart: 5000, Taps: []string{"tap-web"}}
	db  = Instance{ID: "i-db", Name: "db", ProjectID: "p2", PID: 102, PIDStart: 6000}
)

func TestSamplerCachesCountersAndRecordsRates(t *testing.T) {
	r := newRig(t, Options{Interval: 10 * time.Second}, web)
	r.proc.process(101, 100, 100, 5000, 1000) // 2 s of CPU
	r.compute.setDrives("i-web", BlockStat{Drive: "disk-root", WriteBytes: 1 << 20, WriteOps: 10})
	r.links.set("tap-web", NICStat{ReceiveBytes: 1000, TransmitBytes: 500})
	r.round(t, "i-web")

	st := r.Stats("i-web")
	if st.Sample == nil || st.Sample.CPUSeconds != 2 || len(st.Sample.Drives) != 1 || len(st.Sample.NICs) != 1 {
		t.Fatalf("stats after one round = %+v", st)
	}
	if len(st.Hour.Points) != 0 || st.Latest != nil {
		t.Fatalf("a rate from one sample: %+v", st.Hour.Points)
	}

	r.clock.Advance(10 * time.Second)
	r.proc.process(101, 150, 100, 5000, 1000) // +0.5 s of CPU in 10 s: 5%
	r.compute.setDrives("i-web", BlockStat{Drive: "disk-root", WriteBytes: 11 << 20, WriteOps: 110})
	r.links.set("tap-web", NICStat{ReceiveBytes: 21000, TransmitBytes: 500})
	r.round(t, "i-web")

	st = r.Stats("i-web")
	if len(st.Hour.Points) != 1 || st.Hour.IntervalSeconds != 10 || st.Day.IntervalSeconds != 300 {
		t.Fatalf("hour series %+v", st.Hour)
	}
	p := st.Hour.Points[0]
	if p.CPUPercent != 5 || p.DiskWriteBytes != 1<<20 || p.DiskWriteOps != 10 || p.NetReceiveBytes != 2000 || p.NetTransmitBytes != 0 {
		t.Fatalf("rates %+v; want cpu 5%%, 1 MiB/s and 10 IOPS written, 2000 B/s received", p)
	}
	if st.Latest == nil || *st.Latest != p {
		t.Fatalf("latest %+v; want the last point", st.Latest)
	}
}

func TestARestartedQEMUStartsItsCountersAfresh(t *testing.T) {
	r := newRig(t, Options{}, db)
	r.proc.process(102, 500, 500, 6000, 10)
	r.round(t, "i-db")
	restarted := db
	restarted.PIDStart = 7000
	r.compute.set(restarted)
	r.proc.process(102, 1, 1, 7000, 10) // counters fell: another QEMU
	r.clock.Advance(10 * time.Second)
	r.round(t, "i-db")
	st := r.Stats("i-db")
	if len(st.Hour.Points) != 0 || st.Sample.CPUSeconds != 0.02 {
		t.Fatalf("after a restart: points %+v, sample %+v; want no rate across the two QEMUs", st.Hour.Points, st.Sample)
	}
}

func TestAFrozenQEMUHoldsUpNeitherOtherInstancesNorACollect(t *testing.T) {
	r := newRig(t, Options{Timeout: time.Hour}, web, db)
	r.proc.process(101, 1, 1, 5000, 10)
	r.proc.process(102, 1, 1, 6000, 10)
	r.links.set("tap-web", NICStat{})
	r.round(t, "i-web", "i-db") // both have a sample

	release := make(chan struct{})
	defer close(release)
	r.compute.mu.Lock()
	r.compute.frozen["i-web"] = release
	r.compute.mu.Unlock()
	r.clock.Advance(10 * time.Second)
	r.Round(context.Background())
	r.waitSampled(t, "i-db") // db is sampled while web's QEMU does not answer
	for len(r.compute.entered) > 0 {
		<-r.compute.entered
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(r.Sampler)
	families, err := reg.Gather() // with web's BlockStats still blocked
	if err != nil {
		t.Fatal(err)
	}
	ages := sampleAges(families)
	if ages["i-web"] != 10 || ages["i-db"] != 0 {
		t.Fatalf("sample ages %v; want web's 10 s (stale), db's 0", ages)
	}
	if st := r.Stats("i-web"); st.SampleAgeSeconds != 10 {
		t.Fatalf("stats of the frozen instance: %+v", st)
	}

	r.Round(context.Background()) // web is still being sampled: it is not asked again
	r.waitSampled(t, "i-db")
	if n := r.compute.callsOf("i-web"); n != 2 {
		t.Fatalf("the frozen QEMU was asked %d times; want 2 (one round before it froze, one since)", n)
	}
}

func TestAQEMUThatDoesNotAnswerInTimeKeepsItsLastSample(t *testing.T) {
	r := newRig(t, Options{Timeout: time.Millisecond}, db)
	r.proc.process(102, 1, 1, 6000, 10)
	r.round(t, "i-db")
	r.compute.mu.Lock()
	r.compute.frozen["i-db"] = make(chan struct{})
	r.compute.mu.Unlock()
	r.clock.Advance(30 * time.Second)
	r.proc.process(102, 900, 900, 6000, 10)
	r.round(t, "i-db") // gives up after Timeout
	st := r.Stats("i-db")
	if st.Sample.CPUSeconds != 0.02 || st.SampleAgeSeconds != 30 {
		t.Fatalf("sample %+v age %v; want the old one, 30 s old", st.Sample, st.SampleAgeSeconds)
	}
}

func TestAnInstanceBusyWithATaskIsNotAskedAndItsSampleAges(t *testing.T) {
	r := newRig(t, Options{}, db)
	r.proc.process(102, 1, 1, 6000, 10)
	r.round(t, "i-db")
	stopping := db
	stopping.Busy = true
	r.compute.set(stopping)
	r.clock.Advance(20 * time.Second)
	r.Round(context.Background())
	if n := r.compute.callsOf("i-db"); n != 1 {
		t.Fatalf("BlockStats asked %d times; want once, before the task", n)
	}
	if st := r.Stats("i-db"); st.Sample == nil || st.SampleAgeSeconds != 20 {
		t.Fatalf("stats during the task: %+v; want the last sample, 20 s old", st)
	}
}

func TestADeletedInstanceIsForgottenAndAStoppedOneNotExported(t *testing.T) {
	r := newRig(t, Options{}, web, db)
	r.proc.process(101, 1, 1, 5000, 10)
	r.proc.process(102, 1, 1, 6000, 10)
	r.links.set("tap-web", NICStat{})
	r.round(t, "i-web", "i-db")
	r.clock.Advance(10 * time.Second)
	r.round(t, "i-web", "i-db")
	if n := len(r.Stats("i-db").Hour.Points); n != 1 {
		t.Fatalf("db has %d points before its delete; want 1", n)
	}
	stopped := web
	stopped.PID, stopped.PIDStart = 0, 0
	r.compute.set(stopped)
	r.Round(context.Background())
	if st := r.Stats("i-db"); len(st.Hour.Points) != 0 || st.Sample != nil || len(r.instances) != 1 {
		t.Fatalf("a deleted instance's history is kept: %+v (%d tracked)", st, len(r.instances))
	}
	st := r.Stats("i-web")
	if st.Running || st.Sample != nil || len(st.Hour.Points) != 1 {
		t.Fatalf("stats of a stopped instance: %+v; want its history and no sample", st)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(r.Sampler)
	if n, _ := reg.Gather(); len(n) != 0 {
		t.Fatalf("a stopped instance is exported: %v", n)
	}
}

func TestCollectorExportsCountersAndGaugesLabelledByInstance(t *testing.T) {
	r := newRig(t, Options{}, web)
	r.proc.process(101, 300, 100, 5000, 10)
	r.compute.setDrives("i-web", BlockStat{Drive: "disk-root", ReadBytes: 1, WriteBytes: 2, ReadOps: 3, WriteOps: 4})
	r.links.set("tap-web", NICStat{ReceiveBytes: 5, ReceivePackets: 6, ReceiveDrops: 7, TransmitBytes: 8, TransmitPackets: 9, TransmitDrops: 10})
	r.round(t, "i-web")
	reg := prometheus.NewRegistry()
	reg.MustRegister(r.Sampler)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		typ   dto.MetricType
		value float64
		extra string
	}{
		"cloudlet_instance_cpu_seconds_total":              {dto.MetricType_COUNTER, 4, ""},
		"cloudlet_instance_memory_rss_bytes":               {dto.MetricType_GAUGE, float64(10 * os.Getpagesize()), ""},
		"cloudlet_instance_sample_age_seconds":             {dto.MetricType_GAUGE, 0, ""},
		"cloudlet_instance_block_read_bytes_total":         {dto.MetricType_COUNTER, 1, "drive=disk-root"},
		"cloudlet_instance_block_write_bytes_total":        {dto.MetricType_COUNTER, 2, "drive=disk-root"},
		"cloudlet_instance_block_read_ops_total":           {dto.MetricType_COUNTER, 3, "drive=disk-root"},
		"cloudlet_instance_block_write_ops_total":          {dto.MetricType_COUNTER, 4, "drive=disk-root"},
		"cloudlet_instance_network_receive_bytes_total":    {dto.MetricType_COUNTER, 5, "interface=tap-web"},
		"cloudlet_instance_network_receive_packets_total":  {dto.MetricType_COUNTER, 6, "interface=tap-web"},
		"cloudlet_instance_network_receive_drops_total":    {dto.MetricType_COUNTER, 7, "interface=tap-web"},
		"cloudlet_instance_network_transmit_bytes_total":   {dto.MetricType_COUNTER, 8, "interface=tap-web"},
		"cloudlet_instance_network_transmit_packets_total": {dto.MetricType_COUNTER, 9, "interface=tap-web"},
		"cloudlet_instance_network_transmit_drops_total":   {dto.MetricType_COUNTER, 10, "interface=tap-web"},
	}
	if len(families) != len(want) {
		t.Fatalf("%d families; want %d", len(families), len(want))
	}
	for _, f := range families {
		w, ok := want[f.GetName()]
		if !ok || f.GetType() != w.typ || len(f.Metric) != 1 {
			t.Fatalf("family %s: %v", f.GetName(), f)
		}
		m := f.Metric[0]
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["instance_id"] != "i-web" || labels["instance_name"] != "web" || labels["project_id"] != "p1" {
			t.Fatalf("%s labels %v", f.GetName(), labels)
		}
		if w.extra != "" && w.extra != "drive="+labels["drive"] && w.extra != "interface="+labels["interface"] {
			t.Fatalf("%s labels %v; want %s", f.GetName(), labels, w.extra)
		}
		v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
		if v != w.value {
			t.Fatalf("%s = %v; want %v", f.GetName(), v, w.value)
		}
	}
}

func TestHostStatsSumTheInstancesAndReadTheHost(t *testing.T) {
	r := newRig(t, Options{}, db)
	r.proc.process(102, 0, 0, 6000, 10)
	r.round(t, "i-db")
	r.clock.Advance(10 * time.Second)
	r.proc.process(102, 100, 0, 6000, 10) // 1 s in 10 s: 10%
	r.round(t, "i-db")
	r.clock.Advance(10 * time.Second)
	r.proc.host(1000+300, 5000+700) // 300 of 1000 ticks busy since the last round
	r.Round(context.Background())   // the host point sums the instance's last rates
	r.waitSampled(t, "i-db")
	h := r.HostStats()
	if h.CPUPercent != 30 || h.MemoryTotalBytes != 8000000<<10 || h.RunningInstances != 1 || h.Instances.CPUPercent != 10 {
		t.Fatalf("host stats %+v", h)
	}
	if len(h.Hour.Points) == 0 {
		t.Fatal("no host series")
	}
}

func sampleAges(families []*dto.MetricFamily) map[string]float64 {
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "cloudlet_instance_sample_age_seconds" {
			continue
		}
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if l.GetName() == "instance_id" {
					out[l.GetValue()] = m.GetGauge().GetValue()
				}
			}
		}
	}
	return out
}
