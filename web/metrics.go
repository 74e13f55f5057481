package web

import (
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"cloudlet/appliance/fault"
)

// metrics serves GET /metrics: every collector registered with Options.Metrics, in the format the
// scraper asks for. Collectors read cached samples; none of them waits on a QEMU. A collector that
// fails is logged and left out; the others are still served.
func (s *Server) metrics(c echo.Context) error {
	if s.opts.Metrics == nil {
		return fault.New(fault.Unavailable, "metrics are not enabled")
	}
	promhttp.HandlerFor(s.opts.Metrics, promhttp.HandlerOpts{ErrorLog: promLogger{s}, ErrorHandling: promhttp.ContinueOnError}).ServeHTTP(c.Response(), c.Request())
	return nil
}

// promLogger sends promhttp's errors (a collector that failed) to the server's log.
type promLogger struct{ s *Server }

func (l promLogger) Println(v ...any) { l.s.log.Warn("metrics", "error", v) }
