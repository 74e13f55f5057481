package fault

import (
	"errors"
	"fmt"
	"testing"
)

type foreignErr struct{}

func (foreignErr) Error() string     { return "foreign" }
func (foreignErr) FaultKind() string { return "not_found" }

func TestKindOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want Kind
	}{
		{"plain error is internal", errors.New("boom"), Internal},
		{"fault error", New(Conflict, "name %q taken", "web"), Conflict},
		{"wrapped fault error", fmt.Errorf("create instance: %w", New(Quota, "over")), Quota},
		{"foreign error declaring a kind", fmt.Errorf("get: %w", foreignErr{}), NotFound},
		{"wrap keeps cause", Wrap(Invalid, foreignErr{}), Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := KindOf(tt.err); got != tt.want {
				t.Errorf("KindOf(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

func TestWrapKeepsCauseAndMessage(t *testing.T) {
	cause := foreignErr{}
	err := Wrap(Invalid, cause)
	if !errors.Is(err, cause) {
		t.Errorf("errors.Is(Wrap(cause), cause) = false")
	}
	if got, want := err.Error(), "foreign"; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
	if Wrap(Invalid, nil) != nil {
		t.Errorf("Wrap(nil) != nil")
	}
}
