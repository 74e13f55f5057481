package webhook

import (
	"time"

	"cloudlet/store"
)

// record is a webhook as the catalog keeps it.
type record struct {
	store.Meta
	URL    string   `json:"url"`
	Events []string `json:"events"` // type patterns: "instance.created", "instance.*", "*"
	// FromSeq is the Seq of the event that recorded its creation: only later events are delivered.
	FromSeq uint64 `json:"from_seq"`
}

// secretRecord is a webhook's signing secret, under the webhook's ID, apart from the records that
// lists show.
type secretRecord struct {
	store.Meta
	Secret string `json:"secret"`
}

var (
	webhooks = store.NewKind[record](store.BucketWebhooks, store.ScopeProject)
	secrets  = store.NewKind[secretRecord](store.BucketWebhookSecrets, store.ScopeProject)
)

// Webhook is a webhook as the API shows it. Secret is set only in what Create returns.
type Webhook struct {
	ID        string    `json:"id"`
	Name      string    `json:"name,omitempty"`
	ProjectID string    `json:"project_id"`
	URL       string    `json:"url"`
	Events    []string  `json:"events"`
	CreatedAt time.Time `json:"created_at"`
	Secret    string    `json:"secret,omitempty"`
}

func view(r *record) Webhook {
	return Webhook{ID: r.ID, Name: r.Name, ProjectID: r.ProjectID, URL: r.URL, Events: r.Events, CreatedAt: r.CreatedAt}
}

// Delivery is one attempt to deliver an event (or an event dropped before any), as the delivery
// log shows it.
type Delivery struct {
	Time       time.Time `json:"time"`
	DeliveryID string    `json:"delivery_id"` // the same for every attempt at one event
	EventSeq   uint64    `json:"event_seq"`
	EventType  string    `json:"event_type"`
	Attempt    int       `json:"attempt"`               // 1 for the first; 0 for a dropped event
	Outcome    string    `json:"outcome"`               // delivered, retrying, failed, blocked or dropped
	StatusCode int       `json:"status_code,omitempty"` // the receiver's answer, if any
	Error      string    `json:"error,omitempty"`
	DurationMS int64     `json:"duration_ms"`
}

// The outcomes of a delivery attempt.
const (
	OutcomeDelivered = "delivered" // 2xx
	OutcomeRetrying  = "retrying"  // failed; another attempt follows after a backoff
	OutcomeFailed    = "failed"    // failed, and no attempt follows
	OutcomeBlocked   = "blocked"   // the address guard refused where the URL (or a redirect, or DNS) led
	OutcomeDropped   = "dropped"   // the webhook's queue was full: never attempted
)
