package appliance

import (
	"strings"
	"testing"
)

// metadata_port defaults to Nova's 8775; 0 turns the service off; anything outside a TCP port is
// refused, naming the key.
func TestMetadataPortConfig(t *testing.T) {
	cfg := DefaultConfig()
	if cfg.MetadataPort != 8775 {
		t.Errorf("default metadata_port %d, want 8775", cfg.MetadataPort)
	}
	for port, ok := range map[int]bool{0: true, 80: true, 65535: true, -1: false, 65536: false} {
		cfg.MetadataPort = port
		if err := cfg.checkMetadata(); (err == nil) != ok || (err != nil && !strings.Contains(err.Error(), "metadata_port")) {
			t.Errorf("metadata_port %d: %v", port, err)
		}
	}
}
