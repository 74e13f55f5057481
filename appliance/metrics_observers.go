package appliance

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"cloudlet/appliance/qemu/qmp"
	"cloudlet/store"
)

// The daemon's own metrics that services report as things happen, through plain observer funcs:
// store, qmp and guest import nothing of Prometheus. Each function registers its metric with the
// registry once, when the appliance builds the service it observes.

// catalogWriteObserver times the catalog's write transactions.
func catalogWriteObserver(reg prometheus.Registerer) store.WriteObserver {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "cloudlet_catalog_write_duration_seconds",
		Help:    "Time of catalog write transactions, waiting for the one writer and the fsync included, by result (commit or rollback).",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}}, []string{"result"})
	reg.MustRegister(h)
	commit, rollback := h.WithLabelValues("commit"), h.WithLabelValues("rollback")
	return func(d time.Duration, committed bool) {
		if committed {
			commit.Observe(d.Seconds())
		} else {
			rollback.Observe(d.Seconds())
		}
	}
}

// qmpObserver times the QMP commands sent to instances' QEMUs, by command and result: ok, QEMU's
// error class, timeout, canceled, disconnected or error (qmp.Result).
func qmpObserver(reg prometheus.Registerer) qmp.Observer {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "cloudlet_qmp_command_duration_seconds",
		Help:    "Time of QMP commands sent to the instances' QEMUs, waiting for a command in flight included, by command and result.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, []string{"command", "result"})
	reg.MustRegister(h)
	return func(command, result string, d time.Duration) {
		h.WithLabelValues(command, result).Observe(d.Seconds())
	}
}

// metadataObserver counts the metadata service's requests by kind (document or ready) and status.
func metadataObserver(reg prometheus.Registerer) func(kind string, status int) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cloudlet_metadata_requests_total",
		Help: "Requests guests made to the metadata service, by kind (document or ready) and status code."}, []string{"kind", "code"})
	reg.MustRegister(c)
	return func(kind string, status int) {
		c.WithLabelValues(kind, strconv.Itoa(status)).Inc()
	}
}
