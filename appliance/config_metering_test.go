package appliance

import (
	"strings"
	"testing"
	"time"
)

func TestSamplingConfigDefaultsAndRefusals(t *testing.T) {
	cfg := DefaultConfig()
	if err := cfg.Normalize(); err != nil {
		t.Fatal(err)
	}
	if !cfg.SampleInstances || time.Duration(cfg.SampleInterval) != 10*time.Second {
		t.Errorf("default sampling: on %v every %s; want on every 10s", cfg.SampleInstances, time.Duration(cfg.SampleInterval))
	}
	cfg.SampleInterval = 0
	if err := cfg.Normalize(); err != nil || time.Duration(cfg.SampleInterval) != 10*time.Second {
		t.Errorf("sample_interval 0: %s, %v; want the default", time.Duration(cfg.SampleInterval), err)
	}
	for _, d := range []time.Duration{-time.Second, time.Millisecond, time.Hour} {
		cfg := DefaultConfig()
		cfg.SampleInterval = Duration(d)
		if err := cfg.Normalize(); err == nil || !strings.Contains(err.Error(), "sample_interval") {
			t.Errorf("sample_interval %s: %v, want refused", d, err)
		}
	}
}
