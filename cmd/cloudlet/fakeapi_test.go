package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestMain points the user config at an empty directory, so no test reads the login of the
// person running them.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cloudlet-cli-config-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_CONFIG_HOME", dir)
	os.Unsetenv("CLOUDLET_URL")
	os.Unsetenv("CLOUDLET_TOKEN")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// request is what fakeAPI saw of one request.
type request struct {
	Method, Path, Query, Auth, Project string
	Body                               string
}

// fakeAPI records requests and answers each with the answer set last.
type fakeAPI struct {
	t   *testing.T
	URL string

	mu     sync.Mutex // guards the fields below
	reqs   []request
	code   int
	answer string
}

func newFakeAPI(t *testing.T) *fakeAPI {
	f := &fakeAPI{t: t, code: http.StatusNoContent}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		Auth: r.Header.Get("Authorization"), Project: r.Header.Get("X-Cloudlet-Project"), Body: string(b)})
	if f.answer != "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(f.code)
	w.Write([]byte(f.answer))
}

// answerWith sets the answer to the next requests.
func (f *fakeAPI) answerWith(code int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.code, f.answer = code, body
}

// take returns the requests seen since the last take.
func (f *fakeAPI) take() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.reqs
	f.reqs = nil
	return r
}

// only returns the one request seen since the last take.
func (f *fakeAPI) only() request {
	f.t.Helper()
	reqs := f.take()
	if len(reqs) != 1 {
		f.t.Fatalf("want 1 request, got %d: %+v", len(reqs), reqs)
	}
	return reqs[0]
}

// runIn runs one command line with stdin.
func runIn(stdin string, args ...string) (string, string, error) {
	var stdout, stderr bytes.Buffer
	root := newRootCmd(&stdout, &stderr)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err := root.Execute()
	return stdout.String(), stderr.String(), err
}

// wantJSON compares a request body to want, as JSON values.
func wantJSON(t *testing.T, what, got, want string) {
	t.Helper()
	if want == "" {
		if got != "" {
			t.Errorf("%s: body %s, want none", what, got)
		}
		return
	}
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Errorf("%s: body %q: %v", what, got, err)
		return
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: want %q: %v", what, want, err)
	}
	if diff := cmp.Diff(w, g); diff != "" {
		t.Errorf("%s: body (-want +got):\n%s", what, diff)
	}
}
