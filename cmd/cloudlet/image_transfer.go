package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"cloudlet/images"
	"cloudlet/web"
	"cloudlet/web/client"
)

func newImageUploadCmd(g *globals) *cobra.Command {
	var a imageAttrs
	cmd := &cobra.Command{Use: "upload IMAGE FILE",
		Short: "stream a local file into a queued image (with --format or --container-format: create it first)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("format") || cmd.Flags().Changed("container-format") {
				a.Name = args[0]
				a.finish(cmd)
				if err := g.call("POST", "/api/v1/images", a, nil); err != nil {
					return err
				}
			}
			img, err := g.upload(args[0], args[1])
			if err != nil {
				return err
			}
			return g.printImage(img)
		}}
	a.register(cmd)
	return cmd
}

func newImageDownloadCmd(g *globals) *cobra.Command {
	return &cobra.Command{Use: "download IMAGE FILE", Short: "save an active image's disk to a local file, checking its sha256",
		Args: cobra.ExactArgs(2),
		RunE: func(_ *cobra.Command, a []string) error { return g.download(a[0], a[1]) }}
}

// upload streams path as the data of image ref, drawing the progress on stderr.
func (g *globals) upload(ref, path string) (*images.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	p := newProgressLine(g.stderr, "upload "+ref, fi.Size())
	body := &countingReader{r: f, p: p}
	resp, err := g.stream(context.Background(), "PUT", imagePath(ref)+"/file", body, fi.Size())
	p.done()
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var img images.Image
	if err := json.NewDecoder(resp.Body).Decode(&img); err != nil {
		return nil, fmt.Errorf("upload image %s: decode answer: %w", ref, err)
	}
	return &img, nil
}

// download saves image ref's disk as path: written beside it under a temporary name, checked
// against the sha256 the daemon sends, then renamed.
func (g *globals) download(ref, path string) (err error) {
	resp, err := g.stream(context.Background(), "GET", imagePath(ref)+"/file", nil, 0)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".part-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	p := newProgressLine(g.stderr, "download "+ref, resp.ContentLength)
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(tmp, h), &countingReader{r: resp.Body, p: p})
	p.done()
	if err != nil {
		return fmt.Errorf("download image %s: %w", ref, err)
	}
	if want, got := resp.Header.Get(web.ImageChecksumHeader), hex.EncodeToString(h.Sum(nil)); want != "" && want != got {
		return fmt.Errorf("download image %s: sha256 %s, the daemon says %s", ref, got, want)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// stream sends a request with a raw body (or none) and returns the answer for the caller to
// read: what client.Do does for JSON, for image data. It reaches the daemon over the same
// resolved connection as the client (connect.go), with the same headers.
func (g *globals) stream(ctx context.Context, method, path string, body io.Reader, size int64) (*http.Response, error) {
	base, where, hc := "http://cloudlet", "unix socket "+g.conn.Socket, g.client().HTTPClient()
	if g.conn.URL != "" {
		base, where = strings.TrimRight(g.conn.URL, "/"), g.conn.URL
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil {
		req.ContentLength = size
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	g.client().Authorize(req)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach cloudlet at %s (is the daemon running?): %w", where, err)
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		return nil, answerError(resp)
	}
	return resp, nil
}

// answerError decodes an API error answer into a *client.Error.
func answerError(resp *http.Response) error {
	var eb struct {
		Error client.Error `json:"error"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err := json.Unmarshal(b, &eb); err != nil || eb.Error.Message == "" {
		return &client.Error{Code: resp.StatusCode, Message: strings.TrimSpace(string(b))}
	}
	eb.Error.Code = resp.StatusCode
	return &eb.Error
}

// progressLine draws "upload web: 12.0 MiB / 100.0 MiB (12%)" on one terminal line, at most
// every progressEvery, and ends it with a newline.
type progressLine struct {
	w     io.Writer
	label string
	total int64 // 0 or less: unknown

	mu    sync.Mutex // guards the fields below
	n     int64
	state string
	last  time.Time
	drawn bool
}

const progressEvery = 200 * time.Millisecond

func newProgressLine(w io.Writer, label string, total int64) *progressLine {
	return &progressLine{w: w, label: label, total: total}
}

func (p *progressLine) add(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n += n
	p.maybeDraw()
}

func (p *progressLine) set(n int64, state string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n, p.state = n, state
	p.maybeDraw()
}

func (p *progressLine) maybeDraw() {
	if time.Since(p.last) < progressEvery && p.drawn {
		return
	}
	p.last, p.drawn = time.Now(), true
	line := fmt.Sprintf("\r%s: %s", p.label, mib(p.n))
	if p.total > 0 {
		line += fmt.Sprintf(" / %s (%d%%)", mib(p.total), p.n*100/p.total)
	}
	if p.state != "" {
		line += " " + p.state
	}
	fmt.Fprint(p.w, line+"   ")
}

// done draws the final state and ends the line.
func (p *progressLine) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last = time.Time{}
	p.maybeDraw()
	fmt.Fprintln(p.w)
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// countingReader reports what passes through it to a progress line.
type countingReader struct {
	r io.Reader
	p *progressLine
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.p.add(int64(n))
	return n, err
}
