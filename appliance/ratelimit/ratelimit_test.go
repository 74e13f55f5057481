package ratelimit

import (
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestBurstThenRefill(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	l := New[string](c.now, 3, 0.5, 10) // 3 at once, then one every 2s
	for i := range 3 {
		if !l.Allow("a") {
			t.Fatalf("attempt %d of the burst refused", i+1)
		}
	}
	if l.Allow("a") {
		t.Fatal("attempt past the burst allowed")
	}
	if !l.Allow("b") {
		t.Fatal("another key shares a's bucket")
	}
	c.t = c.t.Add(time.Second)
	if l.Allow("a") {
		t.Fatal("allowed after half a refill interval")
	}
	c.t = c.t.Add(time.Second)
	if !l.Allow("a") {
		t.Fatal("refused after a full refill interval")
	}
}

func TestKeysAreBounded(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	l := New[int](c.now, 1, 1, 4)
	for k := range 100 {
		l.Allow(k)
	}
	if got := l.Len(); got > 4 {
		t.Errorf("Len = %d, want at most 4", got)
	}
}

func TestSourceKey(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"192.0.2.7:4000", "192.0.2.7"},
		{"192.0.2.7", "192.0.2.7"},
		{"[::ffff:192.0.2.7]:4000", "192.0.2.7"},
		{"[2001:db8:1:2:aaaa::1]:4000", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:bbbb::9%eth0]:4000", "2001:db8:1:2::/64"},
		{"@", "@"},
	} {
		if got := SourceKey(tc.addr); got != tc.want {
			t.Errorf("SourceKey(%q) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}
