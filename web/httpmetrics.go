package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// unmatchedRoute is the one route label of every request no route matched (404, 405): the raw path
// would give the label as many values as clients care to send.
const unmatchedRoute = "unmatched"

// httpMetrics are the API's request metrics, labelled by the route's template (c.Path(), e.g.
// /api/v1/instances/:id), never the raw path.
//
// Long-lived streams (websocket consoles, server-sent events) are counted in requests_total when
// they end, but kept out of the latency histogram: a console open for an hour says nothing about
// how fast the API answers. streams_open counts those open now instead.
type httpMetrics struct {
	requests *prometheus.CounterVec   // method, route, code
	duration *prometheus.HistogramVec // method, route, code
	streams  *prometheus.GaugeVec     // route
}

// httpBuckets reach past the default 10 s: image uploads and downloads are API requests too.
var httpBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 120}

// newHTTPMetrics registers the request metrics with reg.
func newHTTPMetrics(reg prometheus.Registerer) (*httpMetrics, error) {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cloudlet_http_requests_total",
			Help: "API requests answered, by method, route template and status code."}, []string{"method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "cloudlet_http_request_duration_seconds",
			Help:    "Time to answer an API request, by method, route template and status code; websocket and event streams are left out.",
			Buckets: httpBuckets}, []string{"method", "route", "code"}),
		streams: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "cloudlet_http_streams_open",
			Help: "Websocket consoles and event streams open now, by route template."}, []string{"route"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.streams} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// measureRequests is the outermost middleware: it sees the status the error handler wrote.
func (s *Server) measureRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		m := s.httpm
		if m == nil {
			return next(c)
		}
		start := s.now()
		method, route := s.requestLabels(c)
		stream := isStream(c.Request())
		if stream {
			m.streams.WithLabelValues(route).Inc()
			defer m.streams.WithLabelValues(route).Dec()
		}
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		code := strconv.Itoa(c.Response().Status)
		m.requests.WithLabelValues(method, route, code).Inc()
		if !stream {
			m.duration.WithLabelValues(method, route, code).Observe(s.now().Sub(start).Seconds())
		}
		return nil
	}
}

// requestLabels are the method and route labels of a request: the route template when a route
// matched, and unmatchedRoute with the method reduced to the standard ones when none did.
func (s *Server) requestLabels(c echo.Context) (method, route string) {
	method, route = c.Request().Method, c.Path()
	if _, ok := s.rules[ruleKey(method, route)]; ok {
		return method, route
	}
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
	default:
		method = "other"
	}
	return method, unmatchedRoute
}

// isStream tells a long-lived stream by its request: a websocket upgrade, or a client asking for
// server-sent events.
func isStream(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket") ||
		strings.Contains(r.Header.Get(echo.HeaderAccept), "text/event-stream")
}
