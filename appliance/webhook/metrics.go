package webhook

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// newAttemptsCounter counts delivery attempts (and drops) by outcome, registered with reg if set.
func newAttemptsCounter(reg prometheus.Registerer) (*prometheus.CounterVec, error) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cloudlet_webhook_deliveries_total",
		Help: "Webhook delivery attempts by outcome (delivered, retrying, failed, blocked; dropped: a full queue).",
	}, []string{"outcome"})
	for _, o := range []string{OutcomeDelivered, OutcomeRetrying, OutcomeFailed, OutcomeBlocked, OutcomeDropped} {
		c.WithLabelValues(o) // every outcome shows, at 0 until it happens
	}
	if reg != nil {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register webhook metrics: %w", err)
		}
	}
	return c, nil
}
