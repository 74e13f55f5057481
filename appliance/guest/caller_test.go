package guest

import (
	"context"
	"net/netip"
	"testing"
)

// A request is attributed only to the caller its listener recorded; one without a complete caller is
// attributed to no one.
func TestCallerIsOnlyWhatTheListenerRecorded(t *testing.T) {
	want := Caller{NetworkID: "net-1", Addr: netip.MustParseAddr("10.0.0.5")}
	if got, ok := CallerFrom(WithCaller(context.Background(), want)); !ok || got != want {
		t.Errorf("CallerFrom = %+v, %v; want %+v", got, ok, want)
	}
	for _, c := range []Caller{{}, {NetworkID: "net-1"}, {Addr: want.Addr}} {
		if _, ok := CallerFrom(WithCaller(context.Background(), c)); ok {
			t.Errorf("incomplete caller %+v accepted", c)
		}
	}
	if _, ok := CallerFrom(context.Background()); ok {
		t.Error("a context without a caller has one")
	}
}
