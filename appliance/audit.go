package appliance

import (
	"context"
	"time"
)

// auditPruneEvery is how often the audit log drops entries older than the configured retention.
const auditPruneEvery = 24 * time.Hour

// pruneAudit drops expired audit entries, the event log's oldest events past event_log_keep, and expired tokens. A failure is logged: a log or a token
// record kept too long is no reason to stop the cloud (expired tokens are refused anyway).
func (a *Appliance) pruneAudit() {
	n, err := a.identity.PruneAudit(context.Background(), time.Duration(a.cfg.AuditRetention))
	switch {
	case err != nil:
		a.log.Error("audit log pruning failed", "err", err)
	case n > 0:
		a.log.Info("audit log pruned", "entries", n, "retention", time.Duration(a.cfg.AuditRetention))
	}
	if n, err := pruneEventLog(a.db, a.cfg.EventLogKeep); err != nil {
		a.log.Error("event log pruning failed", "err", err)
	} else if n > 0 {
		a.log.Info("event log pruned", "events", n, "kept", a.cfg.EventLogKeep)
	}
	if n, err := a.identity.PruneTokens(context.Background()); err != nil {
		a.log.Error("expired token pruning failed", "err", err)
	} else if n > 0 {
		a.log.Info("expired tokens pruned", "tokens", n)
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
