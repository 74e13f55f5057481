package compute

import (
	"context"
	"testing"
	"time"

	"cloudlet/appliance/qemu/qmp/qmptest"
)

// TestQMPObserverSeesTheRealHypervisorsCommands: Options.QMPObserver reaches every monitor the real
// hypervisor dials (the daemon's QMP latency histogram hangs on it), from the handshake on.
func TestQMPObserverSeesTheRealHypervisorsCommands(t *testing.T) {
	var got []string
	o := Options{QMPObserver: func(command, result string, _ time.Duration) { got = append(got, command+" "+result) }}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	mon, err := o.hypervisor().dial(ctx, qmptest.New(t).Path())
	if err != nil {
		t.Fatal(err)
	}
	defer mon.Close()
	if _, err := mon.QueryStatus(ctx); err != nil {
		t.Fatal(err)
	}
	if want := []string{"qmp_capabilities ok", "query-status ok"}; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("observed %q, want %q", got, want)
	}
}
