package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"cloudlet/appliance/fault"
)

// ErrorBody is the shape of every error response: {"error": {"code": 409, "message": "..."}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of ErrorBody.
type ErrorDetail struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// statusByKind is the one mapping from service failures to HTTP statuses.
var statusByKind = map[fault.Kind]int{
	fault.Invalid:         http.StatusBadRequest,
	fault.Unauthorized:    http.StatusUnauthorized,
	fault.Forbidden:       http.StatusForbidden,
	fault.NotFound:        http.StatusNotFound,
	fault.Conflict:        http.StatusConflict,
	fault.TooLarge:        http.StatusRequestEntityTooLarge,
	fault.Quota:           http.StatusConflict,
	fault.NoCapacity:      http.StatusInsufficientStorage,
	fault.Unavailable:     http.StatusServiceUnavailable,
	fault.TooManyRequests: http.StatusTooManyRequests,
}

// statusAndMessage maps any error a handler returns to a status and a caller-facing message.
// Internal errors get a generic message; their detail goes to the log only.
func statusAndMessage(err error) (int, string) {
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return he.Code, strings.ToLower(fmt.Sprint(he.Message))
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", mbe.Limit)
	}
	if code, ok := statusByKind[fault.KindOf(err)]; ok {
		return code, err.Error()
	}
	return http.StatusInternalServerError, "internal error"
}

// handleError is echo's HTTPErrorHandler: it writes ErrorBody and logs server-side failures.
func (s *Server) handleError(err error, c echo.Context) {
	code, msg := statusAndMessage(err)
	if code >= 500 {
		s.log.Error("request failed", slog.String("method", c.Request().Method),
			slog.String("path", c.Request().URL.Path), slog.Int("status", code), slog.Any("err", err))
	}
	if c.Response().Committed {
		return
	}
	if code == http.StatusUnauthorized {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="cloudlet"`)
	}
	if code == http.StatusTooManyRequests {
		c.Response().Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(err)))
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(code)
		return
	}
	_ = c.JSON(code, ErrorBody{Error: ErrorDetail{Code: code, Message: msg}})
}

// retryAfterSeconds is when a refused client may try again, in whole seconds (at least 1): what
// the error says (identity.RetryError), or 1 when it does not say.
func retryAfterSeconds(err error) int {
	var r interface{ RetryAfter() time.Duration }
	if !errors.As(err, &r) {
		return 1
	}
	return max(1, int((r.RetryAfter()+time.Second-1)/time.Second))
}
