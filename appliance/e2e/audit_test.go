package e2e

import (
	"testing"

	"cloudlet/appliance/identity"
	"cloudlet/appliance/network"
)

// TestAuditLog: the real daemon records a network's create and delete, each with its action,
// status, resource and caller (root on the socket), and lists them in order at GET /api/v1/audit.
func TestAuditLog(t *testing.T) {
	c := newCloud(t, "")
	var n network.Network
	if err := c.Do("POST", "/api/v1/networks", map[string]any{"name": "audited",
		"subnet": map[string]any{"cidr": "10.78.0.0/24"}}, &n); err != nil {
		t.Fatal(err)
	}
	if err := c.Do("DELETE", "/api/v1/networks/"+n.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	var page identity.AuditPage
	if err := c.Do("GET", "/api/v1/audit", nil, &page); err != nil {
		t.Fatal(err)
	}
	type seen struct {
		Action identity.Action
		Status int
	}
	var got []seen
	for _, e := range page.Entries {
		if e.ResourceID != n.ID {
			continue
		}
		got = append(got, seen{e.Action, e.Status})
		if e.UserName != "unix:root" || e.Via != "unix" {
			t.Errorf("entry %d: caller %q via %q, want unix:root via unix", e.Seq, e.UserName, e.Via)
		}
	}
	want := []seen{{"network:create", 201}, {"network:delete", 204}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("audit entries of network %s = %+v, want %+v (all: %+v)", n.ID, got, want, page.Entries)
	}
	if len(page.Entries) > 0 && page.Next < page.Entries[len(page.Entries)-1].Seq {
		t.Errorf("next = %d, before the last entry %d", page.Next, page.Entries[len(page.Entries)-1].Seq)
	}
}
