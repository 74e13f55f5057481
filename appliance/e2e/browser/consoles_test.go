package browser

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"cloudlet/appliance/compute"
)

// launch creates an instance of the test guest as the member and returns its ID.
func (s *site) launch(name string) string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var inst compute.Instance
	req := map[string]any{"name": name, "image": guestImage, "flavor": "m1.tiny"}
	if err := s.as("member").Do(ctx, "POST", "/api/v1/instances", req, &inst); err != nil {
		s.t.Fatalf("launch %s: %v", name, err)
	}
	return inst.ID
}

// TestTheSerialConsoleRunsACommandTypedIntoIt: the serial console page attaches xterm.js to the
// guest's console (the log's tail, then live output); a command typed into it runs in the guest
// and its output appears in the terminal; after Reconnect the output is there again.
func TestTheSerialConsoleRunsACommandTypedIntoIt(t *testing.T) {
	s := newSite(t)
	id := s.launch("typed")
	tb := s.open(t, "member")
	tb.goTo("/instances/" + id + "/console")
	waitJS[bool](tb, guestBoot, `document.querySelector("#serial").dataset.state === "connected" &&
		document.querySelector("#serial .xterm-rows").textContent.includes("CLOUDLET-GUEST-READY")`)
	tb.run(chromedp.Evaluate[chromedp.Void](`document.querySelector("#serial textarea").focus()`),
		typeText("CLOUDLET-RUN b1 echo typed-$((6*7))"), pressEnter())
	waitJS[bool](tb, time.Minute, `document.querySelector("#serial .xterm-rows").textContent.includes("CLOUDLET-GUEST-OUT b1 typed-42")`)
	if state := eval[string](tb, `document.querySelector("#serial-status").textContent`); state != "connected" {
		t.Errorf("the console's state says %q", state)
	}
	if v := tb.axeViolations(); len(v) > 0 {
		t.Errorf("axe on the console page: %v", v)
	}
	if errs := tb.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors on the console page: %v", errs)
	}
	tb.shot("instance-console")

	// Reconnecting takes a fresh ticket and a cleared terminal, which the API refills with the log's tail.
	tb.run(chromedp.Click(chromedp.CSS("#serial-reconnect")))
	waitJS[bool](tb, time.Minute, `document.querySelector("#serial").dataset.state !== "connected"`)
	waitJS[bool](tb, time.Minute, `document.querySelector("#serial").dataset.state === "connected" &&
		document.querySelector("#serial .xterm-rows").textContent.includes("CLOUDLET-GUEST-OUT b1 typed-42")`)
}

// TestTheScreenDrawsTheGuestsDisplay: the screen page connects noVNC to the guest's display
// (data-state="connected") and draws it: the canvas holds more than one colour.
func TestTheScreenDrawsTheGuestsDisplay(t *testing.T) {
	s := newSite(t)
	id := s.launch("shown")
	tb := s.open(t, "member")
	tb.goTo("/instances/" + id + "/screen")
	tb.within(guestBoot, chromedp.WaitVisible(chromedp.CSS(`#vnc[data-state="connected"] canvas`)))
	colours := waitJS[int](tb, guestBoot, `(() => {
		const c = document.querySelector("#vnc canvas");
		if (!c.width || !c.height) return 0;
		const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
		const seen = new Set();
		for (let i = 0; i < d.length; i += 4 * 97) seen.add(d[i] << 16 | d[i + 1] << 8 | d[i + 2]);
		return seen.size > 1 ? seen.size : 0;
	})()`)
	t.Logf("the screen shows %d colours", colours)
	if state := eval[string](tb, `document.querySelector("#vnc-status").textContent`); !strings.HasPrefix(state, "connected") {
		t.Errorf("the screen's state says %q", state)
	}
	if v := tb.axeViolations(); len(v) > 0 {
		t.Errorf("axe on the screen page: %v", v)
	}
	if errs := tb.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors on the screen page: %v", errs)
	}
	tb.shot("instance-screen")
}

// typeText types text into the focused element as one insertion (key events would type each
// character twice into xterm.js).
func typeText(text string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, t, input.InsertText, input.InsertTextParams{Text: text})
		return chromedp.Void{}, err
	}
}

// pressEnter presses and releases Enter.
func pressEnter() chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeRawKeyDown, input.DispatchKeyEventTypeKeyUp} {
			if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, input.DispatchKeyEventParams{Type: typ, Key: "Enter",
				Code: "Enter", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13}); err != nil {
				return chromedp.Void{}, err
			}
		}
		return chromedp.Void{}, nil
	}
}
