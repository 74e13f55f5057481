// Package webhook delivers the catalog's events to the projects' webhooks: signed HTTP POSTs to
// URLs the projects register.
//
// A webhook is a per-project catalog record (URL, event type patterns such as "instance.*"); its
// signing secret is kept in a table of its own (webhook_secrets) and shown once, in the create
// answer. The service tails the event log from a cursor kept in the catalog, hands each event that
// matches to the webhook's own worker through a bounded queue, and POSTs it with
// X-Cloudlet-Signature: sha256=<hex HMAC-SHA256 of the body>. Delivery is at least once for what was
// sent: the cursor is saved (at most once a second, and at Close) after the events it covers were
// queued, so a crash may repeat up to a second of events; what was queued but not yet sent when the
// daemon stops is not sent after the restart. Every connection goes through the shared address guard
// (internal/netguard): no loopback, link-local, the host's own or (unless allowed) private
// addresses, checked after DNS and on every redirect.
//
// A webhook's worker is its own goroutine: a receiver that hangs delays only its own webhook, and
// the tailer never waits on a delivery (a full queue drops the event and says so in the webhook's
// delivery log).
//
// From the project it imports only store, appliance/fault and internal/netguard: never another
// service, never web, never echo.
package webhook
