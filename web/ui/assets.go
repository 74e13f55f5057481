package ui

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// static holds the hand-written assets (the stylesheet); dist what `make ui` builds from the pinned
// npm packages (htmx, the console and upload islands). dist is git-ignored except a README, so the
// package builds without npm: then the pages work as plain links and forms, and a banner says so.
//
//go:embed static dist
var embedded embed.FS

// staticPrefix is where the assets are served; every URL carries ?v=<hash of the file>, so a file
// is cached for a year and a new build is fetched at once.
const staticPrefix = "/ui/static/"

// builtMarker is the file whose presence means `make ui` ran.
const builtMarker = "dist/htmx.min.js"

// assets are the embedded files with their content hashes.
type assets struct {
	fs     fs.FS
	hashes map[string]string // path under the embed root → first 12 hex digits of its SHA-256
	built  bool
}

func loadAssets() (*assets, error) {
	a := &assets{fs: embedded, hashes: map[string]string{}}
	err := fs.WalkDir(embedded, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(embedded, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		a.hashes[p] = hex.EncodeToString(sum[:])[:12]
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ui: hash the embedded assets: %w", err)
	}
	_, a.built = a.hashes[builtMarker]
	return a, nil
}

// url is the versioned URL of an embedded file ("static/app.css", "dist/vnc.js"); "" when the file
// is not there (an asset of the build when `make ui` did not run).
func (a *assets) url(name string) string {
	h, ok := a.hashes[name]
	if !ok {
		return ""
	}
	return staticPrefix + name + "?v=" + h
}

// Built reports whether the npm-built assets are embedded.
func (a *assets) Built() bool { return a.built }

// serveStatic serves an embedded file; a request with the current ?v= may be cached for a year.
func (a *assets) serveStatic(w http.ResponseWriter, r *http.Request) {
	name := path.Clean(strings.TrimPrefix(r.URL.Path, staticPrefix))
	h, ok := a.hashes[name]
	if !ok || strings.HasPrefix(name, ".") {
		http.NotFound(w, r)
		return
	}
	if r.URL.Query().Get("v") == h {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.Header().Set("ETag", `"`+h+`"`)
	http.ServeFileFS(w, r, a.fs, name)
}
