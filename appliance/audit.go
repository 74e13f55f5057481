package appliance

import (
	"context"
	"time"
)

// auditPruneEvery is how often the audit log drops entries older than the configured retention.
const auditPruneEvery = 24 * time.Hour

// pruneAudit drops expired audit entries. A failure is logged: an audit log kept too long is no
// reason to stop the cloud.
func (a *Appliance) pruneAudit() {
	n, err := a.identity.PruneAudit(context.Background(), time.Duration(a.cfg.AuditRetention))
	switch {
	case err != nil:
		a.log.Error("audit log pruning failed", "err", err)
	case n > 0:
		a.log.Info("audit log pruned", "entries", n, "retention", time.Duration(a.cfg.AuditRetention))
	}
}

// pruneAuditDaily prunes the audit log once a day until ctx ends.
func (a *Appliance) pruneAuditDaily(ctx context.Context) {
	t := time.NewTicker(auditPruneEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.pruneAudit()
		}
	}
}
