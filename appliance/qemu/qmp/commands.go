package qmp

import (
	"context"
	"os"
)

// Status is the answer to query-status.
type Status struct {
	Status  string `json:"status"` // QEMU's RunState, e.g. "running", "paused", "prelaunch", "inmigrate", "shutdown"
	Running bool   `json:"running"`
}

// QueryStatus asks QEMU for the VM's run state.
func (m *Monitor) QueryStatus(ctx context.Context) (Status, error) {
	var s Status
	err := m.Execute(ctx, "query-status", nil, &s)
	return s, err
}

// Cont starts or resumes the vCPUs (after -S, stop or an incoming migration).
func (m *Monitor) Cont(ctx context.Context) error { return m.Execute(ctx, "cont", nil, nil) }

// Stop pauses the vCPUs.
func (m *Monitor) Stop(ctx context.Context) error { return m.Execute(ctx, "stop", nil, nil) }

// SystemPowerdown presses the ACPI power button; the guest may ignore it.
func (m *Monitor) SystemPowerdown(ctx context.Context) error {
	return m.Execute(ctx, "system_powerdown", nil, nil)
}

// SystemReset resets the VM, like the reset button.
func (m *Monitor) SystemReset(ctx context.Context) error {
	return m.Execute(ctx, "system_reset", nil, nil)
}

// Quit makes QEMU exit at once: it sends SHUTDOWN, replies (QEMU may exit before the reply is
// out, so ErrClosed here means it is gone too) and the connection ends.
func (m *Monitor) Quit(ctx context.Context) error { return m.Execute(ctx, "quit", nil, nil) }

// GetFD passes f to QEMU under name, for commands that take an fd by name (e.g. a tap, or
// migration's "fd:name").
func (m *Monitor) GetFD(ctx context.Context, name string, f *os.File) error {
	return m.ExecuteWithFile(ctx, "getfd", map[string]string{"fdname": name}, f, nil)
}

// Migrate starts an outgoing migration to uri (use "fd:name" after GetFD; never "exec:").
func (m *Monitor) Migrate(ctx context.Context, uri string) error {
	return m.Execute(ctx, "migrate", map[string]string{"uri": uri}, nil)
}

// MigrateCancel cancels the outgoing migration, if one runs; QEMU ends it asynchronously (watch
// QueryMigrate leave "cancelling").
func (m *Monitor) MigrateCancel(ctx context.Context) error {
	return m.Execute(ctx, "migrate_cancel", nil, nil)
}

// MigrationInfo is the part of query-migrate's answer cloudlet reads.
type MigrationInfo struct {
	Status    string `json:"status"` // "" before any migration; "active", "completed", "failed", …
	ErrorDesc string `json:"error-desc"`
}

// QueryMigrate reports the state of the current or last migration.
func (m *Monitor) QueryMigrate(ctx context.Context) (MigrationInfo, error) {
	var info MigrationInfo
	err := m.Execute(ctx, "query-migrate", nil, &info)
	return info, err
}

// MigrateIncoming starts listening for an incoming migration (QEMU started with -incoming defer).
func (m *Monitor) MigrateIncoming(ctx context.Context, uri string) error {
	return m.Execute(ctx, "migrate-incoming", map[string]string{"uri": uri}, nil)
}
