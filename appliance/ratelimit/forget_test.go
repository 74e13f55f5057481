package ratelimit

import (
	"testing"
	"time"
)

func TestForgetRefillsAKey(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	l := New[string](c.now, 1, 0.001, 10)
	l.Allow("a")
	if l.Allow("a") {
		t.Fatal("attempt past the burst allowed")
	}
	l.Forget("a")
	if !l.Allow("a") {
		t.Error("a forgotten key is still limited")
	}
}
