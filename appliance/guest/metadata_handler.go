package guest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"cloudlet/appliance/fault"
	"cloudlet/appliance/ratelimit"
)

// Caps on what one request may carry.
const (
	maxPathLen   = 256
	maxReadyBody = 64 << 10 // cloud-init's phone_home form (host keys, id, hostname) is a few KiB
)

// router is the metadata service's HTTP handler: it finds the caller the listener recorded, rate-
// limits it, and sends the phone-home to a ReadyMarker and every other GET to Documents. It knows
// no path of its own besides ReadyPath.
type router struct {
	docs    Documents
	ready   ReadyMarker
	limit   *ratelimit.Limiter[Caller]
	log     *slog.Logger
	observe func(kind string, status int) // nil: none
}

// statusWriter remembers the status and size of an answer, for the log line.
type statusWriter struct {
	http.ResponseWriter
	status, bytes int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// ServeHTTP answers one request and logs it: path, status, size, caller and the instance the answer
// was for (NoteInstance), never a body.
func (h *router) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	start := time.Now()
	w := &statusWriter{ResponseWriter: rw}
	note := &requestNote{}
	r = r.WithContext(context.WithValue(r.Context(), noteKey{}, note))
	c, ok := CallerFrom(r.Context())
	switch {
	case !ok:
		plain(w, http.StatusNotFound)
	case !h.limit.Allow(c):
		w.Header().Set("Retry-After", "1")
		plain(w, http.StatusTooManyRequests)
	case len(r.URL.Path) > maxPathLen || !strings.HasPrefix(r.URL.Path, "/"):
		plain(w, http.StatusNotFound)
	case r.URL.Path == ReadyPath || strings.HasPrefix(r.URL.Path, ReadyPath+"/"):
		h.phoneHome(w, r, c)
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		h.document(w, r, c)
	default:
		w.Header().Set("Allow", "GET, HEAD")
		plain(w, http.StatusMethodNotAllowed)
	}
	h.observed(r, w.status)
	level := slog.LevelInfo
	if w.status == http.StatusTooManyRequests {
		level = slog.LevelDebug // a flood must not flood the log too
	}
	h.log.Log(r.Context(), level, "metadata request", "network", c.NetworkID, "addr", c.Addr.String(),
		"instance", note.instance, "method", r.Method, "path", clip(r.URL.Path), "status", w.status, "bytes", w.bytes,
		"duration", time.Since(start).Round(time.Microsecond))
}

// document answers a GET from Documents.
func (h *router) document(w http.ResponseWriter, r *http.Request, c Caller) {
	body, ctype, err := h.docs.Serve(r.Context(), c, r.URL.Path)
	if err != nil {
		h.fail(w, c, err)
		return
	}
	if ctype == "" {
		ctype = "text/plain; charset=utf-8"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// phoneHome marks the caller's own instance ready. The body is read (up to its cap) and dropped:
// what it says, an instance id included, changes nothing.
func (h *router) phoneHome(w http.ResponseWriter, r *http.Request, c Caller) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		plain(w, http.StatusMethodNotAllowed)
		return
	}
	if _, err := io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, maxReadyBody)); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			plain(w, http.StatusRequestEntityTooLarge)
		} else {
			plain(w, http.StatusBadRequest)
		}
		return
	}
	if err := h.ready.MarkReady(r.Context(), c); err != nil {
		h.fail(w, c, err)
		return
	}
	plain(w, http.StatusOK)
}

// fail answers an error: not found is 404 and nothing more; anything else is the host's failure,
// logged here and not the guest's business.
func (h *router) fail(w http.ResponseWriter, c Caller, err error) {
	if fault.KindOf(err) == fault.NotFound {
		plain(w, http.StatusNotFound)
		return
	}
	h.log.Warn("metadata answer failed", "network", c.NetworkID, "addr", c.Addr.String(), "err", err)
	plain(w, http.StatusInternalServerError)
}

// plain answers code with its status text only: an error never tells a guest why.
func plain(w http.ResponseWriter, code int) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	io.WriteString(w, http.StatusText(code)+"\n")
}

// clip bounds a guest-chosen string before it is logged.
func clip(s string) string {
	if len(s) > maxPathLen {
		return s[:maxPathLen] + "..."
	}
	return s
}
