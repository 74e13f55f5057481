package guest

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestOpenStackMetaDataIsNovasShape(t *testing.T) {
	body, err := OpenStackFile(testInstance(), "latest", "meta_data.json")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"uuid": "0b0e7a8c-3d7e-4c4b-9a55-6d1f2e3a4b5c", "name": "web", "hostname": "web-1", "launch_index": 0.0,
		"availability_zone": "nova", "project_id": "proj-1",
		"public_keys": map[string]any{"mykey": "ssh-ed25519 AAAAC3Nza mykey@host"},
		"keys":        []any{map[string]any{"name": "mykey", "type": "ssh", "data": "ssh-ed25519 AAAAC3Nza mykey@host"}},
		"meta":        map[string]any{"role": "db"}, "devices": []any{},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("meta_data.json (-want +got):\n%s", diff)
	}
}

func TestOpenStackNetworkDataHasALinkANetworkAndDNSPerNICAndTheGatewayCloudInitApplies(t *testing.T) {
	body, err := OpenStackFile(testInstance(), "2018-08-27", "network_data.json")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Links    []map[string]any `json:"links"`
		Networks []map[string]any `json:"networks"`
		Services []map[string]any `json:"services"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	wantLink := map[string]any{"id": "tapport-aaaaaa", "vif_id": "port-aaaaaaaaaaaa", "type": "bridge", "mtu": 1500.0,
		"ethernet_mac_address": "52:54:00:00:00:01"}
	wantNet := map[string]any{"id": "network0", "type": "ipv4", "link": "tapport-aaaaaa", "network_id": "net-1",
		"ip_address": "10.0.0.5", "netmask": "255.255.255.0",
		"routes":   []any{map[string]any{"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "10.0.0.1"}},
		"gateway":  "10.0.0.1", // what cloud-init applies without net-tools
		"services": []any{map[string]any{"type": "dns", "address": "10.0.0.1"}}}
	if len(got.Links) != 2 || len(got.Networks) != 2 {
		t.Fatalf("%d links and %d networks; want 2 and 2", len(got.Links), len(got.Networks))
	}
	if diff := cmp.Diff(wantLink, got.Links[0]); diff != "" {
		t.Errorf("links[0] (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantNet, got.Networks[0]); diff != "" {
		t.Errorf("networks[0] (-want +got):\n%s", diff)
	}
	if got.Networks[1]["netmask"] != "255.255.255.240" || len(got.Networks[1]["routes"].([]any)) != 0 {
		t.Errorf("networks[1] = %v; want a /28 without a second default route", got.Networks[1])
	}
	if diff := cmp.Diff([]map[string]any{{"type": "dns", "address": "10.0.0.1"}}, got.Services); diff != "" {
		t.Errorf("services (-want +got):\n%s", diff)
	}
}

// cloud-init reads only vendor_data2.json's top-level "cloud-init" key (a string) as vendor-data.
func TestOpenStackVendorData2CarriesCloudletsCloudConfigUnderTheTopLevelCloudInitKey(t *testing.T) {
	body, err := OpenStackFile(testInstance(), "latest", "vendor_data2.json")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("vendor_data2.json is not an object of strings: %v\n%s", err, body)
	}
	if cc := got["cloud-init"]; !strings.HasPrefix(cc, "#cloud-config\n") || !strings.Contains(cc, ReadyURL) {
		t.Errorf("vendor_data2.json cloud-init = %q; want cloudlet's cloud-config with the phone-home", cc)
	}
}

func TestOpenStackFileAnswersUserDataAsGivenAndNotFoundForWhatIsNotThere(t *testing.T) {
	inst := testInstance()
	if body, err := OpenStackFile(inst, "latest", "user_data"); err != nil || string(body) != string(inst.UserData) {
		t.Errorf("user_data = %q, %v; want the bytes given", body, err)
	}
	inst.UserData = nil
	for _, c := range []struct{ version, name string }{
		{"latest", "user_data"}, {"1999-01-01", "meta_data.json"}, {"latest", "../etc/passwd"}, {"latest", ""},
	} {
		if _, err := OpenStackFile(inst, c.version, c.name); !errors.Is(err, ErrNotFound) {
			t.Errorf("OpenStackFile(%q, %q) err = %v; want ErrNotFound", c.version, c.name, err)
		}
	}
}

func TestEC2PathsAnswerLeavesAndListings(t *testing.T) {
	inst := testInstance()
	for path, want := range map[string]string{
		"instance-id":                 inst.ID,
		"hostname":                    "web-1",
		"local-hostname":              "web-1",
		"local-ipv4":                  "10.0.0.5",
		"instance-type":               "m1.small",
		"placement/availability-zone": "nova",
		"placement/":                  "availability-zone",
		"public-keys/":                "0=mykey",
		"public-keys/0/":              "openssh-key",
		"public-keys/0/openssh-key":   "ssh-ed25519 AAAAC3Nza mykey@host",
	} {
		if got, ok := EC2Path(inst, path); !ok || got != want {
			t.Errorf("EC2Path(%q) = %q, %v; want %q", path, got, ok, want)
		}
	}
	root, ok := EC2Path(inst, "")
	for _, want := range []string{"instance-id", "local-ipv4", "placement/", "public-keys/", "ami-id"} {
		if !ok || !strings.Contains("\n"+root+"\n", "\n"+want+"\n") {
			t.Errorf("the meta-data listing %q lacks %q", root, want)
		}
	}
	for _, path := range []string{"nothing", "public-keys/1/openssh-key", "../user-data"} {
		if got, ok := EC2Path(inst, path); ok {
			t.Errorf("EC2Path(%q) = %q; want not found", path, got)
		}
	}
}
