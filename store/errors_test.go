package store

import (
	"errors"
	"fmt"
	"testing"
)

func TestFaultKinds(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{ErrNotFound, "not_found"},
		{ErrConflict, "conflict"},
		{ErrInvalid, "invalid"},
		{ErrLocked, "unavailable"},
		{ErrNewerSchema, "unavailable"},
		{ErrCorrupt, "unavailable"},
	}
	for _, tt := range tests {
		wrapped := []error{
			tt.err,
			fmt.Errorf("create instance web: %w", tt.err),
			fmt.Errorf("outer: %w", faultf(tt.err, "instance %s", "web")),
		}
		for _, err := range wrapped {
			if !errors.Is(err, tt.err) {
				t.Errorf("errors.Is(%q, %v) = false", err, tt.err)
			}
			var k interface{ FaultKind() string }
			if !errors.As(err, &k) || k.FaultKind() != tt.want {
				t.Errorf("FaultKind of %q = %v, want %q", err, k, tt.want)
			}
		}
	}
	if errors.Is(ErrLocked, ErrCorrupt) || errors.Is(faultf(ErrNotFound, "x"), ErrConflict) {
		t.Error("distinct sentinels match each other")
	}
	if got := faultf(ErrConflict, "instance name %q already exists", "web").Error(); got != `instance name "web" already exists` {
		t.Errorf("faultf message = %q", got)
	}
}
