package store

import "testing"

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewID()
		if !IsID(id) || id[14] != '4' || !containsByte("89ab", id[19]) {
			t.Fatalf("NewID() = %q, not a version 4 UUID", id)
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		seen[id] = true
	}
}

func containsByte(s string, c byte) bool {
	for i := range len(s) {
		if s[i] == c {
			return true
		}
	}
	return false
}

func TestIsID(t *testing.T) {
	tests := []struct {
		s    string
		want bool
	}{
		{"1b4e28ba-2fa1-4d2b-a1b3-5e4a7c9d0f12", true},
		{"00000000-0000-0000-0000-000000000000", true},
		{"1B4E28BA-2FA1-4D2B-A1B3-5E4A7C9D0F12", false},
		{"1b4e28ba2fa14d2ba1b35e4a7c9d0f12", false},
		{"1b4e28ba-2fa1-4d2b-a1b3-5e4a7c9d0f1", false},
		{"1b4e28ba-2fa1-4d2b-a1b3-5e4a7c9d0f12x", false},
		{"1b4e28ba-2fa1-4d2b-a1b3_5e4a7c9d0f12", false},
		{"1b4e28ba-2fa1-4d2b-a1b3-5e4a7c9d0g12", false},
		{"web", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := IsID(tt.s); got != tt.want {
			t.Errorf("IsID(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
}
