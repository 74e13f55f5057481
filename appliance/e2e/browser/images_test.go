package browser

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"cloudlet/images"
)

// TestUploadingAnImageMovesTheProgressBarThenTheRowTurnsActive: a member uploads a 32 MiB disk from
// the images page with the upload throttled to 8 MiB/s; the progress bar is seen between 0 and
// 100 %, then the image's row says active without a reload, and the API has every byte.
func TestUploadingAnImageMovesTheProgressBarThenTheRowTurnsActive(t *testing.T) {
	s := newSite(t)
	const size = 32 << 20
	file := filepath.Join(t.TempDir(), "uploaded.raw")
	if err := os.WriteFile(file, make([]byte, size), 0o644); err != nil {
		t.Fatal(err)
	}
	tb := s.open(t, "member")
	tb.goTo("/images")
	tb.run(chromedp.WaitVisible(chromedp.CSS("#upload-form")),
		throttleUploads(8<<20),
		chromedp.SetValue(chromedp.CSS("#upload-name"), "uploaded"),
		chromedp.SetValue(chromedp.CSS("#upload-format"), "raw"),
		chromedp.SetUploadFiles(chromedp.CSS("#upload-file"), []string{file}),
		chromedp.Click(chromedp.CSS("#upload-form button[type=submit]")))
	pct := waitJS[float64](tb, time.Minute, `(() => { const p = document.querySelector("#upload-progress");
		return p.value > 0 && p.value < 100 && !p.closest(".upload-progress").hidden ? p.value : 0; })()`)
	t.Logf("the progress bar was seen at %v %%", pct)
	tb.shot("images-uploading")
	waitJS[bool](tb, 2*time.Minute, `[...document.querySelectorAll("#images-rows tr")].some(r =>
		r.textContent.includes("uploaded") && r.dataset.status === "active")`)
	if said := eval[string](tb, `document.querySelector("#upload-status").textContent`); !strings.Contains(said, "finished: active") {
		t.Errorf("the live text says %q at the end", said)
	}
	if v := tb.axeViolations(); len(v) > 0 {
		t.Errorf("axe on the images page: %v", v)
	}
	if errs := tb.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors on the images page: %v", errs)
	}
	tb.shot("images")
	var img images.Image
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.as("member").Do(ctx, "GET", "/api/v1/images/uploaded", nil, &img); err != nil || img.Status != images.StatusActive || img.Size != size {
		t.Errorf("the API has %+v (%v), want active with %d bytes", img, err, size)
	}
}

// throttleUploads caps the tab's upload throughput (bytes per second) with the DevTools protocol.
func throttleUploads(rate float64) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		if _, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{}); err != nil {
			return chromedp.Void{}, err
		}
		_, err := cdp.Call(ctx, t, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			MatchedNetworkConditions: []*network.Conditions{{UploadThroughput: rate, DownloadThroughput: -1}}})
		return chromedp.Void{}, err
	}
}

// waitJS waits up to d for a JavaScript expression to be truthy and returns its value.
func waitJS[T any](tb *tab, d time.Duration, expr string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, d)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Poll[T](expr, chromedp.WithPollingTimeout(0), chromedp.WithPollingInterval(50*time.Millisecond)))
	if err != nil {
		tb.t.Fatalf("browser: waiting for %s: %v (at %s)", expr, err, tb.location())
	}
	return v
}
