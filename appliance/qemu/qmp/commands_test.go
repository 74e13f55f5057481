package qmp_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"cloudlet/appliance/qemu/qmp"
	"cloudlet/appliance/qemu/qmp/qmptest"
)

// TestCommands runs each typed helper against qmptest's VM model: the command sent, the run
// state it leaves and the event it causes.
func TestCommands(t *testing.T) {
	for _, tc := range []struct {
		name       string
		run        func(m *qmp.Monitor, ctx context.Context) error
		command    string
		wantStatus string // the fake VM's run state afterwards
		wantEvent  string // "" for none
	}{
		{"Cont", (*qmp.Monitor).Cont, "cont", "running", qmp.EventResume},
		{"Stop", (*qmp.Monitor).Stop, "stop", "paused", qmp.EventStop},
		{"SystemReset", (*qmp.Monitor).SystemReset, "system_reset", "prelaunch", qmp.EventReset},
		{"SystemPowerdown", (*qmp.Monitor).SystemPowerdown, "system_powerdown", "prelaunch", qmp.EventPowerdown},
		{"Quit", (*qmp.Monitor).Quit, "quit", "shutdown", qmp.EventShutdown},
		{"Migrate", func(m *qmp.Monitor, ctx context.Context) error { return m.Migrate(ctx, "fd:migrate0") },
			"migrate", "prelaunch", ""},
		{"MigrateIncoming", func(m *qmp.Monitor, ctx context.Context) error { return m.MigrateIncoming(ctx, "defer") },
			"migrate-incoming", "prelaunch", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := qmptest.New(t)
			m := dial(t, srv)
			if err := tc.run(m, testContext(t)); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"qmp_capabilities", tc.command}, srv.Commands()); diff != "" {
				t.Errorf("commands (-want +got):\n%s", diff)
			}
			if got := srv.Status(); got != tc.wantStatus {
				t.Errorf("status = %q, want %q", got, tc.wantStatus)
			}
			if tc.wantEvent != "" {
				if e := nextEvent(t, m.Events()); e.Name != tc.wantEvent {
					t.Errorf("event = %s, want %s", e.Name, tc.wantEvent)
				}
			}
		})
	}
}

func TestQueryStatus(t *testing.T) {
	for _, status := range []string{"prelaunch", "running", "paused", "inmigrate"} {
		t.Run(status, func(t *testing.T) {
			srv := qmptest.New(t)
			srv.SetStatus(status)
			m := dial(t, srv)
			got, err := m.QueryStatus(testContext(t))
			if err != nil {
				t.Fatal(err)
			}
			if want := (qmp.Status{Status: status, Running: status == "running"}); got != want {
				t.Errorf("QueryStatus = %+v, want %+v", got, want)
			}
		})
	}
}

func TestQueryMigrate(t *testing.T) {
	srv := qmptest.New(t)
	m := dial(t, srv)
	ctx := testContext(t)
	if got, err := m.QueryMigrate(ctx); err != nil || got != (qmp.MigrationInfo{}) {
		t.Errorf("QueryMigrate before migrating = %+v, %v; want no status", got, err)
	}
	if err := m.Migrate(ctx, "fd:migrate0"); err != nil {
		t.Fatal(err)
	}
	if got, err := m.QueryMigrate(ctx); err != nil || got.Status != "completed" {
		t.Errorf("QueryMigrate after migrating = %+v, %v; want completed", got, err)
	}
	srv.Handle("query-migrate", func(json.RawMessage) (any, *qmptest.Error) {
		return map[string]string{"status": "failed", "error-desc": "Unable to write to socket"}, nil
	})
	want := qmp.MigrationInfo{Status: "failed", ErrorDesc: "Unable to write to socket"}
	if got, err := m.QueryMigrate(ctx); err != nil || got != want {
		t.Errorf("QueryMigrate = %+v, %v; want %+v", got, err, want)
	}
}

// TestCommandArguments: the helpers that take arguments send them as QEMU names them.
func TestCommandArguments(t *testing.T) {
	srv := qmptest.New(t)
	got := map[string]string{}
	for _, command := range []string{"migrate", "migrate-incoming"} {
		srv.Handle(command, func(args json.RawMessage) (any, *qmptest.Error) {
			got[command] = string(args)
			return nil, nil
		})
	}
	m := dial(t, srv)
	ctx := testContext(t)
	if err := m.Migrate(ctx, "fd:out"); err != nil {
		t.Fatal(err)
	}
	if err := m.MigrateIncoming(ctx, "fd:in"); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"migrate": `{"uri":"fd:out"}`, "migrate-incoming": `{"uri":"fd:in"}`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("arguments (-want +got):\n%s", diff)
	}
}
