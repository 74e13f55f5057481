package guest

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// yamlScalars reads the top-level "key: value" lines of a YAML document whose values are JSON strings
// (what the renderers write), and the items of lists below a key as key[].
func yamlScalars(t *testing.T, doc []byte) map[string][]string {
	t.Helper()
	out, key := map[string][]string{}, ""
	for _, line := range strings.Split(strings.TrimSpace(string(doc)), "\n") {
		if item, ok := strings.CutPrefix(line, "  - "); ok {
			out[key+"[]"] = append(out[key+"[]"], unquote(t, item))
			continue
		}
		k, v, _ := strings.Cut(line, ":")
		key = k
		if v = strings.TrimSpace(v); v != "" {
			out[k] = append(out[k], unquote(t, v))
		}
	}
	return out
}

func unquote(t *testing.T, s string) string {
	t.Helper()
	var v string
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("value %s is not a quoted string: %v", s, err)
	}
	return v
}

func TestMetaDataNamesTheInstanceByUUIDWithItsHostnameAndKeys(t *testing.T) {
	got := yamlScalars(t, MetaData(testInstance()))
	want := map[string][]string{
		"instance-id":    {"0b0e7a8c-3d7e-4c4b-9a55-6d1f2e3a4b5c"},
		"local-hostname": {"web-1"},
		"public-keys[]":  {"ssh-ed25519 AAAAC3Nza mykey@host"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("meta-data (-want +got):\n%s", diff)
	}
}

func TestMetaDataQuotesAHostileValueSoItStaysOneScalar(t *testing.T) {
	inst := testInstance()
	inst.PublicKeys[0].Data = "ssh-rsa AAAA\nruncmd: [reboot]"
	got := yamlScalars(t, MetaData(inst))
	if len(got["public-keys[]"]) != 1 || got["public-keys[]"][0] != inst.PublicKeys[0].Data || got["runcmd"] != nil {
		t.Errorf("a key with a newline escaped its scalar: %q", got)
	}
}

func TestVendorDataPhonesHomeAndSetsThePasswordHashOnlyWhenAsked(t *testing.T) {
	inst := testInstance()
	doc := string(VendorData(inst))
	for _, want := range []string{"#cloud-config\n", "phone_home:\n  url: \"" + ReadyURL + "\"\n  post: [instance_id]\n",
		"password: \"$6$saltsalt$hash\"\n", "chpasswd:\n  expire: false\n"} {
		if !strings.Contains(doc, want) {
			t.Errorf("vendor-data lacks %q:\n%s", want, doc)
		}
	}
	inst.PasswordHash = ""
	if doc := string(VendorData(inst)); strings.Contains(doc, "password") {
		t.Errorf("vendor-data without a password asked sets one:\n%s", doc)
	}
}

func TestNetworkConfigMatchesEachNICByMACWithItsStaticAddressAndTheDefaultRouteAsGateway4(t *testing.T) {
	var got struct {
		Version   int `json:"version"`
		Ethernets map[string]struct {
			Match       map[string]string   `json:"match"`
			DHCP4       bool                `json:"dhcp4"`
			Addresses   []string            `json:"addresses"`
			Gateway4    string              `json:"gateway4"`
			Routes      []map[string]string `json:"routes"`
			Nameservers map[string][]string `json:"nameservers"`
			MTU         int                 `json:"mtu"`
		} `json:"ethernets"`
	}
	if err := json.Unmarshal(NetworkConfig(testInstance()), &got); err != nil {
		t.Fatal(err)
	}
	eth0, eth1 := got.Ethernets["eth0"], got.Ethernets["eth1"]
	switch {
	case got.Version != 2 || len(got.Ethernets) != 2:
		t.Errorf("version %d with %d ethernets; want 2 and 2", got.Version, len(got.Ethernets))
	case eth0.Match["macaddress"] != "52:54:00:00:00:01" || eth0.DHCP4 || eth0.Addresses[0] != "10.0.0.5/24" || eth0.MTU != 1500:
		t.Errorf("eth0 = %+v", eth0)
	case eth0.Gateway4 != "10.0.0.1" || len(eth0.Routes) != 0:
		// cloud-init renders routes as "post-up route add", which needs net-tools; gateway4 as ifupdown's own.
		t.Errorf("eth0 gateway4 %q routes %v; want the default route as gateway4 10.0.0.1 and no routes", eth0.Gateway4, eth0.Routes)
	case !cmp.Equal(eth0.Nameservers["addresses"], []string{"10.0.0.1"}):
		t.Errorf("eth0 nameservers = %v", eth0.Nameservers)
	case eth1.Match["macaddress"] != "52:54:00:00:00:02" || eth1.Addresses[0] != "192.168.7.9/28" || len(eth1.Routes) != 0 || eth1.Gateway4 != "":
		t.Errorf("eth1 = %+v; want its address and no second default route", eth1)
	}
}
