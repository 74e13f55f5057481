package identity

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"cloudlet/appliance/fault"
	"cloudlet/store"
)

var quotaCtx = context.Background()

// newQuotaService bootstraps identity over a fresh catalog and returns it with the admin project's ID.
func newQuotaService(t *testing.T) (*Service, *store.DB, string) {
	t.Helper()
	db := openDB(t)
	s := New(db)
	if _, err := s.Bootstrap(filepath.Join(t.TempDir(), "admin-password")); err != nil {
		t.Fatal(err)
	}
	id, err := s.AdminProjectID()
	if err != nil {
		t.Fatal(err)
	}
	return s, db, id
}

func checkQuota(s *Service, db *store.DB, projectID, resource string, inUse, requested int64) error {
	return db.Update(func(tx *store.Tx) error { return s.Check(tx, projectID, resource, inUse, requested) })
}

func TestCheckAppliesDefaultsOverridesAndUnlimited(t *testing.T) {
	s, db, admin := newQuotaService(t)
	if _, err := s.SetLimits(quotaCtx, AdminName, map[string]int64{QuotaInstances: 2, QuotaPorts: Unlimited}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		project, resource string
		inUse, requested  int64
		wantErr           string // "" = allowed
	}{
		{admin, QuotaInstances, 1, 1, ""},
		{admin, QuotaInstances, 2, 1, "quota exceeded for instances: limit 2, in use 2, requested 1"},
		{admin, QuotaInstances, 5, 0, ""},  // nothing more asked for
		{admin, QuotaInstances, 5, -1, ""}, // a shrink
		{admin, QuotaPorts, 1 << 40, 1, ""},
		{admin, QuotaCores, 16, 4, ""}, // the default, 20, still holds for what was not overridden
		{admin, QuotaCores, 16, 5, "quota exceeded for cores: limit 20, in use 16, requested 5"},
		{"another-project", QuotaInstances, 10, 1, "quota exceeded for instances: limit 10, in use 10, requested 1"},
		{"", QuotaInstances, 10, 1, ""}, // no project, no quota
	}
	for _, tc := range tests {
		err := checkQuota(s, db, tc.project, tc.resource, tc.inUse, tc.requested)
		if tc.wantErr == "" {
			if err != nil {
				t.Errorf("Check(%s, %d+%d) = %v, want allowed", tc.resource, tc.inUse, tc.requested, err)
			}
			continue
		}
		if err == nil || err.Error() != tc.wantErr || !errors.Is(err, ErrQuota) || fault.KindOf(err) != fault.Quota {
			t.Errorf("Check(%s, %d+%d) = %v (kind %q), want %q of kind quota", tc.resource, tc.inUse, tc.requested,
				err, fault.KindOf(err), tc.wantErr)
		}
	}
	if err := checkQuota(s, db, admin, "gpus", 0, 1); err == nil || fault.KindOf(err) != fault.Internal {
		t.Errorf("Check of an unknown resource = %v, want an internal error", err)
	}
}

func TestSetLimitsMergesAndLimitsShowsThemByNameOrID(t *testing.T) {
	s, _, admin := newQuotaService(t)
	if _, err := s.SetLimits(quotaCtx, AdminName, map[string]int64{QuotaInstances: 2, QuotaCores: 4}); err != nil {
		t.Fatal(err)
	}
	q, err := s.SetLimits(quotaCtx, admin, map[string]int64{QuotaCores: 8, QuotaRAM: Unlimited})
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultLimits()
	want[QuotaInstances], want[QuotaCores], want[QuotaRAM] = 2, 8, Unlimited
	if diff := cmp.Diff(&Quotas{ProjectID: admin, Project: AdminName, Limits: want}, q); diff != "" {
		t.Errorf("SetLimits (-want +got):\n%s", diff)
	}
	for _, ref := range []string{AdminName, admin} {
		got, err := s.Limits(quotaCtx, ref)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(q, got); diff != "" {
			t.Errorf("Limits(%s) (-want +got):\n%s", ref, diff)
		}
	}
	q, err = s.ResetLimits(quotaCtx, AdminName)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(DefaultLimits(), q.Limits); diff != "" {
		t.Errorf("after ResetLimits (-want +got):\n%s", diff)
	}
}

func TestSetLimitsRefusesBadInputNamingIt(t *testing.T) {
	s, _, _ := newQuotaService(t)
	tests := []struct {
		name    string
		project string
		limits  map[string]int64
		kind    fault.Kind
		want    string
	}{
		{"nothing", AdminName, map[string]int64{}, fault.Invalid, "no limits given"},
		{"unknown resource", AdminName, map[string]int64{"gpus": 1}, fault.Invalid, `unknown quota resource "gpus"`},
		{"below -1", AdminName, map[string]int64{QuotaPorts: -2}, fault.Invalid, "ports must be -1 (unlimited) or more, not -2"},
		{"hostile name", AdminName, map[string]int64{strings.Repeat("x", 10000): 1}, fault.Invalid, "unknown quota resource"},
		{"unknown project", "nope", map[string]int64{QuotaPorts: 1}, fault.NotFound, "nope"},
	}
	for _, tc := range tests {
		_, err := s.SetLimits(quotaCtx, tc.project, tc.limits)
		if err == nil || fault.KindOf(err) != tc.kind || !strings.Contains(err.Error(), tc.want) || len(err.Error()) > 400 {
			t.Errorf("%s: SetLimits = %v (kind %q), want %s naming %q", tc.name, err, fault.KindOf(err), tc.kind, tc.want)
		}
	}
	q, err := s.Limits(quotaCtx, AdminName)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(DefaultLimits(), q.Limits); diff != "" {
		t.Errorf("refused changes changed the limits (-want +got):\n%s", diff)
	}
}

func TestReportAddsTheServicesUsage(t *testing.T) {
	s, _, admin := newQuotaService(t)
	if _, err := s.SetLimits(quotaCtx, AdminName, map[string]int64{QuotaInstances: 2}); err != nil {
		t.Fatal(err)
	}
	compute := func(_ context.Context, projectID string) (map[string]int64, error) {
		if projectID != admin {
			t.Errorf("usage asked for project %q, want %q", projectID, admin)
		}
		return map[string]int64{QuotaInstances: 2, QuotaCores: 2, "unknown": 7}, nil
	}
	r, err := s.Report(quotaCtx, AdminName, compute)
	if err != nil {
		t.Fatal(err)
	}
	if r.ProjectID != admin || r.Project != AdminName || len(r.Quotas) != len(QuotaResources()) {
		t.Errorf("report of %s (%s) with %d resources, want %s with %d", r.Project, r.ProjectID, len(r.Quotas), AdminName, len(QuotaResources()))
	}
	for name, want := range map[string]QuotaUsage{
		QuotaInstances: {Limit: 2, InUse: 2}, QuotaCores: {Limit: 20, InUse: 2},
		QuotaKeypairs: {Limit: 100}, QuotaVolumes: {Limit: 10},
	} {
		if got := r.Quotas[name]; got != want {
			t.Errorf("%s: %+v, want %+v", name, got, want)
		}
	}
	failing := func(context.Context, string) (map[string]int64, error) { return nil, errors.New("catalog gone") }
	if _, err := s.Report(quotaCtx, AdminName, failing); err == nil || !strings.Contains(err.Error(), "catalog gone") {
		t.Errorf("Report with a failing usage = %v", err)
	}
}

func TestKeypairQuotaIsPerUser(t *testing.T) {
	s, db, admin := newQuotaService(t)
	if _, err := s.SetLimits(quotaCtx, AdminName, map[string]int64{QuotaKeypairs: 2}); err != nil {
		t.Fatal(err)
	}
	add := func(user string) error {
		return db.Update(func(tx *store.Tx) error {
			if err := s.checkKeypairQuota(tx, admin, user); err != nil {
				return err
			}
			return keypairOwners.Create(tx, &keypairOwner{UserID: user})
		})
	}
	for _, user := range []string{"u1", "u1", "u2"} {
		if err := add(user); err != nil {
			t.Fatalf("keypair of %s: %v", user, err)
		}
	}
	err := add("u1")
	if fault.KindOf(err) != fault.Quota || !strings.Contains(err.Error(), "keypairs: limit 2, in use 2, requested 1") {
		t.Errorf("third keypair of u1 = %v, want the keypairs quota", err)
	}
	if err := add("u2"); err != nil {
		t.Errorf("second keypair of u2: %v", err)
	}
}
