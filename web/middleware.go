package web

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// logRequests logs one line per request. Only the method, path and outcome are logged, never the
// query string or any header (Authorization and X-Auth-Token carry bearer secrets), so secrets
// cannot leak into logs; auth_test.go captures the log to hold this.
func (s *Server) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := s.now()
		err := next(c)
		if err != nil {
			c.Error(err) // write the response now so the status below is the real one
		}
		req, res := c.Request(), c.Response()
		level := slog.LevelInfo
		if req.URL.Path == "/healthz" {
			level = slog.LevelDebug
		}
		s.log.Log(req.Context(), level, "http request",
			slog.String("method", req.Method), slog.String("path", req.URL.Path),
			slog.Int("status", res.Status), slog.Int64("bytes", res.Size),
			slog.Duration("duration", s.now().Sub(start)))
		return nil
	}
}

// limitBody caps every request body (at bodyLimit); reading past the cap fails with
// *http.MaxBytesError (413).
func (s *Server) limitBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		limit := s.bodyLimit(c)
		if req.ContentLength > limit {
			return &http.MaxBytesError{Limit: limit}
		}
		req.Body = http.MaxBytesReader(c.Response(), req.Body, limit)
		return next(c)
	}
}

// recoverPanics turns a handler panic into a 500 instead of a dropped connection.
func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("panic in %s %s: %v", c.Request().Method, c.Path(), r)
			}
		}()
		return next(c)
	}
}

func (s *Server) now() time.Time { return s.clock() }
