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
