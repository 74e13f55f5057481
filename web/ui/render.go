package ui

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"cloudlet/appliance/host"
)

// Templates: templates/layout.html is the page frame; templates/parts/*.html are shared pieces
// (each a {{define}}); every other templates/*.html is a page that defines "title" and "content",
// and may define fragments that htmx requests render alone.
//
//go:embed templates
var templateFS embed.FS

// pages are the parsed page templates by name ("login" for templates/login.html).
type pages struct {
	byName map[string]*template.Template
	assets *assets
}

func parsePages(a *assets) (*pages, error) {
	p := &pages{byName: map[string]*template.Template{}, assets: a}
	base, err := template.New("layout.html").Funcs(p.funcs()).ParseFS(templateFS, "templates/layout.html", "templates/parts/*.html")
	if err != nil {
		return nil, fmt.Errorf("ui: parse the layout: %w", err)
	}
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, f)
		if err != nil {
			return nil, fmt.Errorf("ui: parse %s: %w", f, err)
		}
		p.byName[name] = t
	}
	return p, nil
}

// funcs are the helpers every template may call.
func (p *pages) funcs() template.FuncMap {
	return template.FuncMap{
		"asset":   p.assets.url,
		"navItem": navItem,
		"ago":     ago,
		"bytes":   humanBytes,
		"percent": func(used, limit int64) int64 {
			if limit <= 0 {
				return 0
			}
			return min(100, used*100/limit)
		},
	}
}

// view is what every page template gets: the frame's data and the page's own.
type view struct {
	Title   string
	Session *session // nil on the login page
	Assets  *assets
	Path    string // the request's path, for the navigation's current item
	Data    any
}

// render writes page name: the whole page, or for an htmx request (not a boosted navigation) only
// its "content". A template error is a bug: the user gets a 500, the log the detail.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, sess *session, data any) {
	s.renderBlock(w, r, status, name, s.frameBlock(r), sess, data)
}

// renderBlock writes one named block of page name (a fragment such as a table row).
func (s *Server) renderBlock(w http.ResponseWriter, r *http.Request, status int, name, block string, sess *session, data any) {
	t, ok := s.pages.byName[name]
	if !ok {
		s.log.Error("ui: no such page template", "page", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	v := view{Session: sess, Assets: s.assets, Path: r.URL.Path, Data: data}
	if err := t.ExecuteTemplate(&buf, block, v); err != nil {
		s.log.Error("ui: render", "page", name, "block", block, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// frameBlock is "layout" for a full page, "content" for an htmx swap of the main area.
func (s *Server) frameBlock(r *http.Request) string {
	if r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-Boosted") != "true" && r.Header.Get("HX-Target") == "main" {
		return "content"
	}
	return "layout"
}

// navLink is one item of the main navigation.
type navLink struct {
	Href, Label string
	Current     bool
}

// navItem is the item for href; it is current on href, below it, or on one of the also paths (pages
// of the same area under other names, such as /api-keys beside /keypairs).
func navItem(current, href, label string, also ...string) navLink {
	for _, p := range append([]string{href}, also...) {
		if current == p || strings.HasPrefix(current, p+"/") {
			return navLink{Href: href, Label: label, Current: true}
		}
	}
	return navLink{Href: href, Label: label}
}

// ago renders a time as a short relative phrase ("3 min ago").
func ago(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	d := time.Since(t).Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return t.UTC().Format("2006-01-02")
}

// humanBytes renders a byte count in binary units.
func humanBytes(n int64) string {
	if n < 0 {
		n = 0
	}
	return host.HumanBytes(uint64(n))
}
