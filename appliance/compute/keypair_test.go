package compute

import (
	"context"
	"strings"
	"testing"

	"cloudlet/appliance/fault"
)

// An instance asking for a keypair gets the caller's public key copied in; an unknown one or another user's is 404 (Nova's answer); without
// a keypair source, asking for one is refused.
func TestInstancesTakeTheCallersKeypair(t *testing.T) {
	keys := func(_ context.Context, user, name string) (string, error) {
		if user == "u1" && name == "mine" {
			return "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyOne u1@test", nil
		}
		return "", fault.New(fault.NotFound, "keypair %q not found", name)
	}
	e := newEnv(t, func(o *Options) { o.Keypairs = keys })
	inst, err := e.createWith(CreateRequest{Name: "web", KeyName: "mine", UserID: "u1"})
	if err != nil {
		t.Fatal(err)
	}
	if inst.KeyName != "mine" || !strings.HasPrefix(inst.KeyData, "ssh-ed25519 ") {
		t.Errorf("instance key %q %q, want mine with its public key", inst.KeyName, inst.KeyData)
	}
	for _, tc := range []struct{ user, key string }{{"u1", "nope"}, {"u2", "mine"}} {
		_, err := e.createWith(CreateRequest{Name: "other", KeyName: tc.key, UserID: tc.user})
		if fault.KindOf(err) != fault.NotFound || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("user %s asking for keypair %s: %v, want not found naming it", tc.user, tc.key, err)
		}
	}
	plain := newEnv(t, nil)
	if _, err := plain.createWith(CreateRequest{Name: "web", KeyName: "mine", UserID: "u1"}); fault.KindOf(err) != fault.Invalid {
		t.Errorf("a keypair without a keypair source: %v, want invalid", err)
	}
}
