package browser

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// pick selects the option of select sel whose text starts with text, and fires change as a person's
// choice would.
func (tb *tab) pick(sel, text string) {
	tb.t.Helper()
	ok := eval[bool](tb, fmt.Sprintf(`(() => { const s = document.querySelector(%q);
		const o = [...s.options].find(o => o.textContent.startsWith(%q)); if (!o) return false;
		s.value = o.value; s.dispatchEvent(new Event("change", {bubbles: true})); return true; })()`, sel, text))
	if !ok {
		tb.t.Fatalf("no option %q in %s", text, sel)
	}
}

// settled waits until the page has loaded and htmx has processed it (its scripts are deferred).
func (tb *tab) settled() {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, tabWait)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.readyState === "complete" && window.htmx !== undefined`)); err != nil {
		tb.t.Fatalf("browser: the page did not settle: %v (at %s)", err, tb.location())
	}
}

// clickSettled clicks the button sel once htmx has taken over its form. For htmx's settle delay
// (20 ms) after a swap, the new content carries the class htmx-added and its forms are not yet
// htmx's: a click then submits the form natively and loads a whole page (ci21 clicked a row's resume
// button in that window, the row just swapped by its event). The check and the click run in one
// task of the page, so no swap comes between them.
func (tb *tab) clickSettled(sel string) {
	tb.t.Helper()
	waitJS[bool](tb, tabWait, fmt.Sprintf(`(() => { const b = document.querySelector(%q);
		if (!b || b.closest(".htmx-added")) return false; b.click(); return true })()`, sel))
}

// typeInto sets a field's value and fires change, as leaving the field after typing does.
func (tb *tab) typeInto(sel, value string) {
	tb.t.Helper()
	tb.run(chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.SetValue(chromedp.CSS(sel), value))
	eval[bool](tb, fmt.Sprintf(`document.querySelector(%q).dispatchEvent(new Event("change", {bubbles: true}))`, sel))
}

// TestLaunchThroughTheWizardThenWatchTheInstanceGoActiveWithoutAReload: a member launches the test
// guest through the wizard (a bad name is refused next to the field, the quota shows for the
// flavor), lands on the instance's page and sees it become active over the event stream; in the
// list, pausing and resuming it update its row in place, and an instance launched elsewhere appears
// and, deleted after a confirmation, goes.
func TestLaunchThroughTheWizardThenWatchTheInstanceGoActiveWithoutAReload(t *testing.T) {
	s := newSite(t)
	tb := s.open(t, "member")
	tb.goTo("/instances")
	tb.run(chromedp.Click(chromedp.CSS(`a[href="/instances/new"]`)), chromedp.WaitVisible(chromedp.CSS("#name")))
	tb.settled()

	tb.typeInto("#name", "Bad Name")
	tb.run(chromedp.WaitVisible(chromedp.CSS(`#name-error`)))
	if msg := eval[string](tb, `document.querySelector("#name-error").textContent`); !strings.Contains(msg, "letters, digits") {
		t.Errorf("the bad name's error says %q", msg)
	}
	if inv := eval[string](tb, `document.querySelector("#name").getAttribute("aria-invalid")`); inv != "true" {
		t.Errorf("the bad name's field has aria-invalid=%q", inv)
	}
	tb.typeInto("#name", "web-1")
	tb.run(chromedp.WaitNotPresent(chromedp.CSS(`#name-error`)))
	tb.pick("#image", guestImage+" ")
	tb.pick("#flavor", "m1.tiny")
	tb.run(chromedp.WaitVisible(chromedp.CSS(`#quota li.after`)))
	if q := eval[string](tb, `document.querySelector("#quota").textContent`); !strings.Contains(q, "vCPUs after launch") {
		t.Errorf("the flavor step's quota says %q", q)
	}
	tb.run(chromedp.Click(chromedp.CSS(`#step-8 button`)), chromedp.WaitVisible(chromedp.CSS(`#step-8 dl.review`)))
	tb.shot("instance-launch")

	tb.run(chromedp.Click(chromedp.CSS("#launch-submit")), chromedp.WaitVisible(chromedp.CSS(`p.status[data-state]`)))
	loc := tb.location()
	id := loc[strings.LastIndex(loc, "/")+1:]
	if !strings.Contains(loc, "/instances/") || len(id) != 36 {
		t.Fatalf("after the launch the browser is at %s, want the instance's page", loc)
	}
	tb.settled()
	eval[bool](tb, `window.notReloaded = true`)
	tb.within(guestBoot, chromedp.WaitVisible(chromedp.CSS(`#i-`+id+`[data-state=active]`)))
	if !eval[bool](tb, `window.notReloaded === true`) {
		t.Error("the page was reloaded: the state must arrive over the event stream")
	}
	tb.shot("instance-detail")

	tb.goTo("/instances")
	tb.run(chromedp.WaitVisible(chromedp.CSS(`#i-` + id + `[data-state=active]`)))
	tb.settled()
	eval[bool](tb, `window.notReloaded = true`)
	tb.clickSettled(`#i-` + id + ` form[action$="/pause"] button`)
	tb.run(chromedp.WaitVisible(chromedp.CSS(`#i-` + id + `[data-state=paused]`)))
	tb.clickSettled(`#i-` + id + ` form[action$="/resume"] button`)
	tb.run(chromedp.WaitVisible(chromedp.CSS(`#i-` + id + `[data-state=active]`)))
	if !eval[bool](tb, `window.notReloaded === true`) {
		t.Error("the list was reloaded: rows must update in place")
	}
	tb.shot("instances")

	// An instance launched elsewhere (here the API) appears in the open list; deleted, it goes.
	var other struct{ ID string }
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.as("member").Do(ctx, "POST", "/api/v1/instances", map[string]any{"name": "web-2", "image": guestImage,
		"flavor": "m1.tiny"}, &other); err != nil {
		t.Fatalf("launch web-2 through the API: %v", err)
	}
	tb.run(chromedp.WaitVisible(chromedp.CSS(`#i-` + other.ID)))
	tb.run(chromedp.Click(chromedp.CSS(`#i-`+other.ID+` a[href*="action=delete"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/instances/`+other.ID+`/delete"] button[type=submit]`)),
		chromedp.Click(chromedp.CSS(`form[action="/instances/`+other.ID+`/delete"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#i-`+id)))
	tb.settled()
	eval[bool](tb, `window.notReloaded = true`)
	tb.within(guestBoot, chromedp.WaitNotPresent(chromedp.CSS(`#i-`+other.ID)))
	if !eval[bool](tb, `window.notReloaded === true`) {
		t.Error("the list was reloaded: rows must come and go in place")
	}
	// At a phone's width the page does not scroll sideways: the table does, inside its frame.
	tb.run(chromedp.EmulateViewport(390, 844))
	if w := eval[int](tb, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("at 390 px the list is %d px wide", w)
	}
	tb.shot("instances-390")
	tb.goTo("/instances/new")
	if w := eval[int](tb, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("at 390 px the wizard is %d px wide", w)
	}
	if errs := tb.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}
