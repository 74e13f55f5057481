package browser

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestAccessPagesGenerateAKeypairOnceAndDeleteItWithConfirmation: a member generates a keypair and
// is offered its private key as a download once; the list never shows it again; deleting asks first.
func TestAccessPagesGenerateAKeypairOnceAndDeleteItWithConfirmation(t *testing.T) {
	s := newSite(t)
	tb := s.open(t, "member")
	tb.goTo("/keypairs")
	tb.run(chromedp.SetValue(chromedp.CSS("#gen-name"), "laptop"),
		chromedp.Click(chromedp.CSS(`#gen-name ~ div button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[download="laptop.pem"]`)))
	if href := eval[string](tb, `document.querySelector('a[download="laptop.pem"]').href`); !strings.HasPrefix(href, "data:application/x-pem-file;base64,") {
		t.Errorf("the private key's link is %.60q, want a data: URL download", href)
	}
	tb.shot("keypair-generated")
	tb.goTo("/keypairs")
	tb.run(chromedp.WaitVisible(chromedp.CSS(`details.confirm summary`)))
	if eval[bool](tb, `document.body.textContent.includes("PRIVATE KEY") || document.querySelector('a[download]') !== null`) {
		t.Error("the keypairs page offers the private key again")
	}
	tb.run(chromedp.Click(chromedp.CSS(`details.confirm summary`)),
		chromedp.WaitVisible(chromedp.CSS(`details.confirm[open] button[type=submit]`)))
	tb.shot("keypair-delete-confirm")
	tb.run(chromedp.Click(chromedp.CSS(`details.confirm[open] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.empty`)))
}

// TestAdminPagesShowAnErrorOnTheFieldAndFitAPhone: an admin's project form shows the API's refusal
// next to the name; the overview, access and admin pages have no serious or critical axe-core
// violation, fit a 390 px screen (tables scroll inside their frame) and are saved as screenshots.
func TestAdminPagesShowAnErrorOnTheFieldAndFitAPhone(t *testing.T) {
	s := newSite(t)
	tb := s.open(t, "admin")
	tb.goTo("/admin/projects")
	tb.run(chromedp.SetValue(chromedp.CSS("#pc-name"), siteProject),
		chromedp.Click(chromedp.CSS(`#pc-desc ~ div button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#pc-error")))
	if eval[string](tb, `document.querySelector("#pc-name").getAttribute("aria-describedby")`) != "pc-error" {
		t.Error("the refused name field is not tied to its error")
	}
	tb.shot("admin-project-error")
	pages := []string{"/overview", "/keypairs", "/api-keys", "/admin", "/admin/projects", "/admin/users",
		"/admin/roles", "/admin/quotas", "/admin/flavors", "/admin/host", "/admin/audit"}
	for _, width := range []int64{1280, 390} {
		tb.run(chromedp.EmulateViewport(width, 844))
		for _, p := range pages {
			tb.goTo(p)
			tb.run(chromedp.WaitVisible(chromedp.CSS("main h1")))
			if w := eval[int64](tb, `document.documentElement.scrollWidth`); w > width {
				t.Errorf("%s is %d px wide on a %d px screen: %s", p, w, width, eval[string](tb, overflowing))
			}
			if width == 1280 {
				for _, v := range tb.axeViolations() {
					t.Errorf("axe on %s: %s", p, v)
				}
			}
			name := strings.ReplaceAll(strings.Trim(p, "/"), "/", "-")
			if width < 1280 {
				name += "-phone"
			}
			tb.shot(name)
		}
	}
}

// overflowing names the elements that reach past the screen's right edge, for the failure message.
const overflowing = `[...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > innerWidth + 1).slice(0, 5).map(e => e.tagName + "." + e.className).join(", ")`
