package appliance

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"cloudlet/appliance/compute"
	"cloudlet/store"
)

// The interim documents answer the EC2 and OpenStack paths a guest needs from the instance record:
// its id, host name, address and key; user-data and unknown paths are not found.
func TestInterimMetadataDocumentsAnswerFromTheInstance(t *testing.T) {
	inst := &compute.Instance{Meta: store.Meta{ID: "0b6c-uuid", Name: "Web.1", ProjectID: "p1"},
		KeyName: "mykey", KeyData: "ssh-ed25519 AAAA me@host"}
	addr := netip.MustParseAddr("10.88.0.7")
	for path, want := range map[string]string{
		"meta-data/instance-id":               "0b6c-uuid",
		"meta-data/hostname":                  "web-1",
		"meta-data/local-ipv4":                "10.88.0.7",
		"meta-data/public-keys/0/openssh-key": "ssh-ed25519 AAAA me@host",
		"meta-data/public-keys/":              "0=mykey\n",
		"meta-data/public-keys/0/":            "openssh-key\n",
		"meta-data/placement/":                "availability-zone\n",
		"meta-data/":                          "hostname\ninstance-id\nlocal-hostname\nlocal-ipv4\nplacement/\npublic-keys/\n",
	} {
		if got, ok := ec2Document(inst, addr, path); !ok || got != want {
			t.Errorf("/latest/%s = %q, %v; want %q", path, got, ok, want)
		}
	}
	for _, path := range []string{"user-data", "meta-data/nope", "meta-data/public-keys/1/openssh-key", "dynamic/"} {
		if got, ok := ec2Document(inst, addr, path); ok {
			t.Errorf("/latest/%s = %q, want not found", path, got)
		}
	}
	body, ctype, err := openStackDocument(inst, "/latest/meta_data.json")
	if err != nil || ctype != "application/json" {
		t.Fatalf("meta_data.json: %v, %q", err, ctype)
	}
	var md struct {
		UUID       string            `json:"uuid"`
		Name       string            `json:"name"`
		Hostname   string            `json:"hostname"`
		PublicKeys map[string]string `json:"public_keys"`
	}
	if err := json.Unmarshal(body, &md); err != nil {
		t.Fatal(err)
	}
	if md.UUID != inst.ID || md.Name != inst.Name || md.Hostname != "web-1" || md.PublicKeys["mykey"] != inst.KeyData {
		t.Errorf("meta_data.json = %s", body)
	}
	if _, _, err := openStackDocument(inst, "/latest/user_data"); err == nil {
		t.Error("user_data of an instance without any was found")
	}
}

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
