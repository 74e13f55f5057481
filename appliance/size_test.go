package appliance

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// Finding 5: the per-image cap is configurable (max_image_size), with binary units or bytes.
func TestProbe05MaxImageSizeIsConfigurable(t *testing.T) {
	for _, tt := range []struct {
		file string
		want ByteSize
	}{
		{`{}`, 64 << 30},
		{`{"max_image_size":"8GiB"}`, 8 << 30},
		{`{"max_image_size":"512MiB"}`, 512 << 20},
		{`{"max_image_size":"2TiB"}`, 2 << 40},
		{`{"max_image_size":1048576}`, 1 << 20},
	} {
		cfg := DefaultConfig()
		path := filepath.Join(t.TempDir(), "c.json")
		if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := LoadConfigFile(path, &cfg); err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		if err := cfg.Normalize(); err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		if cfg.MaxImageSize != tt.want {
			t.Errorf("%s: max_image_size = %d, want %d", tt.file, cfg.MaxImageSize, tt.want)
		}
	}
	out, err := json.Marshal(ByteSize(64 << 30))
	if err != nil || string(out) != `"64GiB"` {
		t.Errorf("marshal 64 GiB = %s, %v", out, err)
	}
}
