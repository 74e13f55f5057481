package browser

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// tabWait bounds one step of a tab (a navigation, a wait on the DOM); a step that waits on a guest
// passes its own longer deadline to within.
const tabWait = 60 * time.Second

// tab is one headless Debian chromium, driven over the DevTools protocol, on a site. When the test
// fails it saves a screenshot into the artifacts folder and logs the page's console messages.
type tab struct {
	t    *testing.T
	s    *site
	ctx  context.Context
	mu   sync.Mutex // guards logs
	logs []string   // console messages and uncaught exceptions, in order
}

// open starts a browser for t (1280×900) and, when user is not "", logs in as user through the
// login form. The browser is Debian's chromium from PATH, never a downloaded one.
func (s *site) open(t *testing.T, user string) *tab {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is not installed (packaging/deps.sh test installs it): %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path),
		chromedp.WindowSize(1280, 900), chromedp.Flag("ignore-certificate-errors", s.scheme == "https"),
		chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	tb := &tab{t: t, s: s, ctx: ctx}
	if err := chromedp.Listen(ctx, tb.record); err != nil { // starts the browser
		cancel()
		cancelAlloc()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			tb.saveFailure()
		}
		cancel()
		cancelAlloc()
	})
	if user != "" {
		tb.login(user, tb.passwordOf(user), "/overview")
	}
	return tb
}

func (tb *tab) passwordOf(user string) string {
	if user == "admin" {
		return tb.s.adminPassword
	}
	return sitePassword
}

// record keeps console messages and exceptions.
func (tb *tab) record(ev any) {
	var line string
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		var parts []string
		for _, a := range e.Args {
			parts = append(parts, strings.Trim(string(a.Value), `"`)+a.Description)
		}
		line = fmt.Sprintf("console.%s: %s", e.Type, strings.Join(parts, " "))
	case *runtime.EventExceptionThrown:
		line = "exception: " + e.ExceptionDetails.Text
		if e.ExceptionDetails.Exception != nil {
			line += " " + e.ExceptionDetails.Exception.Description
		}
	default:
		return
	}
	tb.mu.Lock()
	tb.logs = append(tb.logs, line)
	tb.mu.Unlock()
}

// consoleErrors are the console errors and uncaught exceptions so far.
func (tb *tab) consoleErrors() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	var out []string
	for _, l := range tb.logs {
		if strings.HasPrefix(l, "console.error") || strings.HasPrefix(l, "exception") {
			out = append(out, l)
		}
	}
	return out
}

// run runs steps within tabWait and fails the test on an error.
func (tb *tab) run(steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	tb.within(tabWait, steps...)
}

// within runs steps under their own deadline and fails the test on an error.
func (tb *tab) within(d time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, d)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.t.Fatalf("browser: %v (at %s)", err, tb.location())
	}
}

// eval evaluates a JavaScript expression and returns its value.
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, tabWait)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("browser: evaluate %q: %v", expr, err)
	}
	return v
}

// location is the tab's current URL, for messages.
func (tb *tab) location() string {
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	u, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "unknown location"
	}
	return u
}

// goTo navigates to a path of the site.
func (tb *tab) goTo(path string) {
	tb.t.Helper()
	tb.run(chromedp.Navigate(tb.s.url(path)))
}

// login fills in the login form (the tab is sent there if it is elsewhere) and waits for the page
// it lands on to be next.
func (tb *tab) login(user, password, next string) {
	tb.t.Helper()
	if !strings.Contains(tb.location(), "/login") {
		tb.goTo("/login?next=" + next)
	}
	tb.run(chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SetValue(chromedp.CSS("#username"), user),
		chromedp.SetValue(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("header.top")))
	if loc := tb.location(); !strings.HasSuffix(loc, next) {
		tb.t.Fatalf("after logging in as %s the browser is at %s, want %s", user, loc, next)
	}
}

// shot saves a full-page screenshot as artifacts/ui/<name>.png, for reviewers.
func (tb *tab) shot(name string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, tabWait)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := writeArtifact(name+".png", png); err != nil {
		tb.t.Fatal(err)
	}
}

// saveFailure keeps (a PNG: FullScreenshot below quality 100 writes JPEG) what a reviewer needs to see why a test failed: a screenshot and the console.
func (tb *tab) saveFailure() {
	name := "failures/" + safeName.ReplaceAllString(tb.t.Name(), "_")
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		if err := writeArtifact(name+".png", png); err != nil {
			tb.t.Log(err)
		} else {
			tb.t.Logf("screenshot of the failure: artifacts/ui/%s.png (at %s)", name, tb.location())
		}
	}
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.t.Logf("browser console:\n%s", strings.Join(tb.logs, "\n"))
}

var safeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// writeArtifact writes data to artifacts/ui/<name> at the repository's root (ignored by git).
func writeArtifact(name string, data []byte) error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	path := filepath.Join(root, "artifacts", "ui", name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// repoRoot is the directory holding go.mod, found upwards from the test's directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the test's directory")
		}
		dir = parent
	}
}
