package link_test

import (
	"regexp"
	"testing"

	"cloudlet/appliance/network/link"
)

func TestNames(t *testing.T) {
	tests := []struct {
		name string
		fn   func(string) string
		re   *regexp.Regexp
	}{
		{"BridgeName", link.BridgeName, regexp.MustCompile(`^clbr-[0-9a-f]{8}$`)},
		{"TapName", link.TapName, regexp.MustCompile(`^clt-[0-9a-f]{10}$`)},
	}
	ids := []string{"", "a", "0b7f3c1e-4d2a-4f6b-9c8d-7e6f5a4b3c2d", string(make([]byte, 4096))}
	for _, tt := range tests {
		seen := map[string]string{}
		for _, id := range ids {
			got := tt.fn(id)
			if !tt.re.MatchString(got) || len(got) > 15 {
				t.Errorf("%s(%.40q) = %q, want %v and at most 15 bytes (IFNAMSIZ)", tt.name, id, got, tt.re)
			}
			if again := tt.fn(id); again != got {
				t.Errorf("%s(%.40q) = %q then %q, want deterministic", tt.name, id, got, again)
			}
			if prev, ok := seen[got]; ok {
				t.Errorf("%s: ids %.40q and %.40q both give %q", tt.name, prev, id, got)
			}
			seen[got] = id
		}
	}
}
