package volume

import (
	"fmt"
	"slices"
	"testing"

	"cloudlet/appliance/fault"
)

func TestQoSValidate(t *testing.T) {
	for _, tc := range []struct {
		q  QoS
		ok bool
	}{
		{QoS{}, true},
		{QoS{ReadIOPS: 100, WriteIOPS: 50, ReadBytesSec: 10 << 20, WriteBytesSec: 5 << 20}, true},
		{QoS{ReadIOPS: MaxIOPS, WriteBytesSec: MaxBytesSec}, true},
		{QoS{ReadIOPS: -1}, false},
		{QoS{WriteIOPS: MaxIOPS + 1}, false},
		{QoS{ReadBytesSec: -5}, false},
		{QoS{WriteBytesSec: MaxBytesSec + 1}, false},
	} {
		if err := tc.q.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v: %v", tc.q, err)
		} else if err != nil && fault.KindOf(err) != fault.Invalid {
			t.Errorf("%+v: kind %q", tc.q, fault.KindOf(err))
		}
	}
}

func TestSetQoS(t *testing.T) {
	e := newEnv(t)
	v := e.create(CreateRequest{Name: "data", SizeGiB: 1})
	q := QoS{ReadIOPS: 100, WriteIOPS: 50, ReadBytesSec: 1 << 20, WriteBytesSec: 2 << 20}
	got, err := e.setQoS(proj, "data", q)
	if err != nil || got.QoS != q {
		t.Fatalf("set qos: %+v, %v", got, err)
	}
	if len(e.live.Calls()) != 0 {
		t.Errorf("live calls for an available volume: %v", e.live.Calls())
	}
	if _, err := e.setQoS(proj, "data", QoS{ReadIOPS: -1}); fault.KindOf(err) != fault.Invalid {
		t.Errorf("bad qos: %v", err)
	}

	e.attach("data", "inst-1", "vdb")
	q2 := QoS{ReadIOPS: 7}
	if got, err = e.setQoS(proj, "data", q2); err != nil || got.QoS != q2 {
		t.Fatalf("set qos in use: %+v, %v", got, err)
	}
	want := fmt.Sprintf("throttle inst-1 %s 7 0 0 0", v.ID)
	if calls := e.live.Calls(); !slices.Equal(calls, []string{want}) {
		t.Errorf("live calls %v, want %s", calls, want)
	}
	if d := e.svc.DiskFor(got); d.QoS != q2 {
		t.Errorf("disk qos %+v", d.QoS)
	}

	e.live.fail(fmt.Errorf("block_set_io_throttle: boom"))
	if _, err := e.setQoS(proj, "data", QoS{ReadIOPS: 9}); err == nil {
		t.Fatal("a failing live driver was ignored")
	}
	if got := e.get("data"); got.QoS != q2 {
		t.Errorf("qos recorded although QEMU refused it: %+v", got.QoS)
	}
	if ev := e.events(v.ID); !slices.Contains(ev, "volume.qos") {
		t.Errorf("events %v", ev)
	}
}
