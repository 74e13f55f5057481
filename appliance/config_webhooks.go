package appliance

import (
	"fmt"
	"log/slog"
	"time"

	"cloudlet/appliance/webhook"
	"cloudlet/internal/netguard"
	"cloudlet/store"
)

// checkWebhooks checks the webhook settings; a zero timeout takes the default.
func (c *Config) checkWebhooks() error {
	if _, err := parsePrefixes(c.WebhookAllowedCIDRs); err != nil {
		return fmt.Errorf("config: webhook_allowed_cidrs: %w", err)
	}
	if c.WebhookTimeout < 0 {
		return fmt.Errorf("config: webhook_timeout must not be negative")
	}
	if c.WebhookTimeout == 0 {
		c.WebhookTimeout = Duration(webhook.DefaultTimeout)
	}
	return nil
}

// webhookOptions are the webhook service's settings: deliveries meet the same address guard as
// URL imports, with the admin's webhook_allowed_cidrs let through (private ranges included) and any port.
func (c *Config) webhookOptions(db *store.DB, log *slog.Logger) webhook.Options {
	allowed, _ := parsePrefixes(c.WebhookAllowedCIDRs) // checked in Normalize
	return webhook.Options{DB: db, Logger: log, Timeout: time.Duration(c.WebhookTimeout),
		Guard: netguard.Guard{PrivateAllowed: allowed, Setting: "webhook"}}
}

// openWebhooks starts the webhook service: it tails the catalog's event log from its saved cursor
// and delivers what matches; release closes it before the catalog.
func (a *Appliance) openWebhooks() error {
	o := a.cfg.webhookOptions(a.db, a.log)
	o.Metrics = a.metrics
	var err error
	if a.webhooks, err = webhook.New(o); err != nil {
		return err
	}
	a.webhooks.Start()
	return nil
}
