package webhook

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"

	"cloudlet/store"
)

// Spec describes a new webhook.
type Spec struct {
	ProjectID string
	Name      string   // optional; unique in the project
	URL       string   // http or https
	Secret    string   // "": one is generated
	Events    []string // type patterns
}

// SecretPrefix starts every generated signing secret.
const SecretPrefix = "whsec_"

// Create stores a webhook and returns it with its signing secret, which no other answer shows.
// Only events after its creation are delivered to it.
func (s *Service) Create(ctx context.Context, spec Spec) (Webhook, error) {
	if err := checkSpec(&spec); err != nil {
		return Webhook{}, fmt.Errorf("create webhook: %w", err)
	}
	r := &record{Meta: store.Meta{Name: spec.Name, ProjectID: spec.ProjectID}, URL: spec.URL,
		Events: slices.Clone(spec.Events)}
	err := s.db.Update(func(tx *store.Tx) error {
		n, err := webhooks.Count(tx, spec.ProjectID)
		if err != nil {
			return err
		}
		if n >= maxPerProject {
			return faultf(ErrTooMany, "project has %d webhooks, the most allowed", n)
		}
		if err := webhooks.Create(tx, r); err != nil {
			return err
		}
		if err := secrets.Create(tx, &secretRecord{Meta: store.Meta{ID: r.ID, ProjectID: r.ProjectID}, Secret: spec.Secret}); err != nil {
			return err
		}
		e := event("webhook.created", r)
		if err := store.AppendEvent(tx, e); err != nil {
			return err
		}
		r.FromSeq = e.Seq
		return webhooks.Update(tx, r)
	})
	if err != nil {
		return Webhook{}, fmt.Errorf("create webhook: %w", err)
	}
	w := view(r)
	w.Secret = spec.Secret
	return w, nil
}

func checkSpec(spec *Spec) error {
	if spec.Name != "" {
		if err := store.ValidateName(spec.Name); err != nil {
			return err
		}
	}
	if _, err := checkURL(spec.URL); err != nil {
		return err
	}
	if err := checkPatterns(spec.Events); err != nil {
		return err
	}
	if spec.Secret == "" {
		spec.Secret = newSecret()
	}
	if len(spec.Secret) < minSecretLen || len(spec.Secret) > maxSecretLen {
		return faultf(ErrInvalid, "secret must be %d to %d bytes", minSecretLen, maxSecretLen)
	}
	return nil
}

// newSecret returns 32 random bytes in unpadded base64url after SecretPrefix.
func newSecret() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails; crashes the program if the kernel has no randomness
	return SecretPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// event is the log entry of a change to webhook r (never with its secret).
func event(typ string, r *record) *store.Event {
	data, _ := json.Marshal(map[string]any{"name": r.Name, "url": r.URL, "events": r.Events})
	return &store.Event{Type: typ, Kind: "webhook", ID: r.ID, ProjectID: r.ProjectID, Data: data}
}

// List returns the webhooks of a project, without secrets.
func (s *Service) List(ctx context.Context, projectID string) ([]Webhook, error) {
	out := []Webhook{}
	err := s.db.View(func(tx *store.Tx) error {
		list, err := webhooks.List(tx, projectID)
		for _, r := range list {
			out = append(out, view(r))
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	return out, nil
}

// Get returns a webhook of the project by ID or name, without its secret; another project's is
// not found.
func (s *Service) Get(ctx context.Context, projectID, ref string) (Webhook, error) {
	var r *record
	err := s.db.View(func(tx *store.Tx) (err error) {
		r, err = webhooks.Lookup(tx, projectID, ref)
		return err
	})
	if err != nil {
		return Webhook{}, fmt.Errorf("show webhook: %w", err)
	}
	return view(r), nil
}

// Delete removes a webhook of the project and stops its deliveries (an attempt in flight is canceled).
func (s *Service) Delete(ctx context.Context, projectID, ref string) error {
	var id string
	err := s.db.Update(func(tx *store.Tx) error {
		r, err := webhooks.Lookup(tx, projectID, ref)
		if err != nil {
			return err
		}
		id = r.ID
		if err := webhooks.Delete(tx, r.ID); err != nil {
			return err
		}
		if err := secrets.Delete(tx, r.ID); err != nil {
			return err
		}
		return store.AppendEvent(tx, event("webhook.deleted", r))
	})
	if err != nil {
		return fmt.Errorf("delete webhook: %w", err)
	}
	s.forget(id)
	return nil
}

// Deliveries returns a webhook's delivery log, oldest first: the last Options.LogSize attempts
// since the daemon started.
func (s *Service) Deliveries(ctx context.Context, projectID, ref string) ([]Delivery, error) {
	w, err := s.Get(ctx, projectID, ref)
	if err != nil {
		return nil, fmt.Errorf("webhook deliveries: %w", err)
	}
	return s.logOf(w.ID).list(), nil
}
