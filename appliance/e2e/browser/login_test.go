package browser

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestLoginShowsAWrongPasswordOnTheFormThenTheOverview: the printed URL shows a login page; a wrong
// password is an error on the form, the right one lands on the overview, with the assets built.
func TestLoginShowsAWrongPasswordOnTheFormThenTheOverview(t *testing.T) {
	checkLogin(t, newSite(t), "")
}

// checkLogin logs in to s through the form, first with a wrong password, and returns the tab on the
// overview. Its screenshots' names end in shotSuffix.
func checkLogin(t *testing.T, s *site, shotSuffix string) *tab {
	t.Helper()
	tb := s.open(t, "")
	tb.goTo("/")
	tb.run(chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SetValue(chromedp.CSS("#username"), "member"),
		chromedp.SetValue(chromedp.CSS("#password"), "not-the-password"),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#login-error")))
	if msg := eval[string](tb, `document.querySelector("#login-error").textContent`); !strings.Contains(msg, "invalid") {
		t.Errorf("the login error says %q", msg)
	}
	tb.shot("login-error" + shotSuffix)
	tb.login("member", sitePassword, "/overview")
	if eval[bool](tb, `document.querySelector(".banner") !== null`) {
		t.Error("the page says the UI assets were not built: make ui must run before the tests")
	}
	if c := eval[string](tb, `document.cookie`); c != "" {
		t.Errorf("document.cookie = %q: the session cookie must not be readable from JavaScript", c)
	}
	tb.shot("overview" + shotSuffix)
	return tb
}
