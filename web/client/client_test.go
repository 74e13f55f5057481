package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

func TestDoDecodesAnswersAndErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Authorization"); got != "Bearer tok" {
			t.Errorf("Authorization = %q", got)
		}
		switch r.URL.Path {
		case "/ok":
			w.Write([]byte(`{"status":"ok"}`))
		case "/conflict":
			w.WriteHeader(409)
			w.Write([]byte(`{"error":{"code":409,"message":"instance web is active"}}`))
		default:
			w.WriteHeader(502)
			w.Write([]byte("bad gateway"))
		}
	}))
	defer srv.Close()
	c := New(Options{URL: srv.URL + "/", Token: "tok"})
	var out struct{ Status string }
	if err := c.Do(context.Background(), "GET", "/ok", nil, &out); err != nil || out.Status != "ok" {
		t.Errorf("Do(/ok) = %+v, %v", out, err)
	}
	var apiErr *Error
	err := c.Do(context.Background(), "GET", "/conflict", nil, nil)
	if !errors.As(err, &apiErr) || apiErr.Code != 409 || apiErr.Message != "instance web is active" {
		t.Errorf("Do(/conflict) err = %v", err)
	}
	err = c.Do(context.Background(), "GET", "/other", nil, nil)
	if !errors.As(err, &apiErr) || apiErr.Code != 502 || apiErr.Message != "bad gateway" {
		t.Errorf("Do(/other) err = %v", err)
	}
}

func TestUnreachableSocketSaysSo(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "missing.sock")
	err := New(Options{Socket: sock}).Do(context.Background(), "GET", "/healthz", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "is the daemon running?") || !strings.Contains(err.Error(), sock) {
		t.Errorf("err = %v", err)
	}
}

func TestProjectHeaderOnlyWhenSet(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get(ProjectHeader)+"|"+r.Header.Get("Authorization"))
	}))
	defer srv.Close()
	for _, o := range []Options{{URL: srv.URL, Token: "t", Project: "demo"}, {URL: srv.URL}} {
		if err := New(o).Do(context.Background(), "GET", "/x", nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	if want := []string{"demo|Bearer t", "|"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("headers = %q, want %q", got, want)
	}
}
