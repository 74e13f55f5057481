package main

import (
	"strings"
	"testing"
)

const statsAnswer = `{"instance_id":"i-1","running":true,"sample_age_seconds":2.5,
"sample":{"time":"2026-12-07T08:00:00Z","cpu_seconds":12.5,"rss_bytes":104857600,
 "drives":[{"drive":"disk-root","read_bytes":2048,"write_bytes":8388608,"read_ops":2,"write_ops":128}],
 "interfaces":[{"interface":"tapabc","receive_bytes":1000,"receive_packets":10,"receive_drops":0,"transmit_bytes":2000,"transmit_packets":20,"transmit_drops":1}]},
"latest":{"time":"2026-12-07T08:00:00Z","cpu_percent":37.5,"memory_bytes":104857600,"disk_write_bytes_per_second":1048576},
"hour":{"interval_seconds":10,"points":[{"time":"2026-12-07T07:59:50Z","cpu_percent":12},{"time":"2026-12-07T08:00:00Z","cpu_percent":37.5,"disk_write_bytes_per_second":1048576}]},
"day":{"interval_seconds":300,"points":[]}}`

func TestInstanceStatsPrintsTheLatestValuesAndTheLastPoints(t *testing.T) {
	configHome(t)
	api := newFakeAPI(t)
	api.answerWith(200, statsAnswer)
	out, _, err := runIn("", "--url", api.URL, "--token", "t", "instance", "stats", "web 1")
	if err != nil {
		t.Fatal(err)
	}
	if r := api.only(); r.Method != "GET" || r.Path != "/api/v1/instances/web 1/stats" {
		t.Fatalf("request %+v", r)
	}
	for _, want := range []string{"sample_age", "2.5s", "cpu_percent       37.5", "memory_rss        100.0MiB",
		"drive disk-root", "written 8.0MiB (128 ops)", "interface tapabc", "sent 2.0KiB (20 packets, 1 dropped)",
		"DISK WRITE/S", "1.0MiB"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "\n"); n != 8+1+3 { // 8 fields, a blank line, header and 2 points
		t.Errorf("%d lines:\n%s", n, out)
	}

	out, _, err = runIn("", "--url", api.URL, "--token", "t", "instance", "stats", "web", "-o", "json")
	if err != nil || !strings.Contains(out, `"interval_seconds": 300`) || !strings.Contains(out, `"write_ops": 128`) {
		t.Fatalf("-o json: %v\n%s", err, out)
	}
}
