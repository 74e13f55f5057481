package browser

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"cloudlet/appliance/compute"
	"cloudlet/web/client"

	"github.com/chromedp/chromedp"
)

// readyGuest launches the test guest (no NIC) as c's user and waits, on the API, until its guest
// said it is ready (then it also answers disk hotplug and unplug).
func (s *site) readyGuest(c *client.Client, name string) compute.Instance {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guestBoot)
	defer cancel()
	var inst compute.Instance
	req := map[string]any{"name": name, "image": guestImage, "flavor": "m1.tiny", "networks": []string{}}
	if err := c.Do(ctx, "POST", "/api/v1/instances", req, &inst); err != nil {
		s.t.Fatalf("launch %s: %v", name, err)
	}
	for inst.VMState != compute.VMActive || inst.TaskState != "" || inst.ReadyAt == nil {
		if inst.VMState == compute.VMError {
			s.t.Fatalf("instance %s failed: %s", name, inst.Fault)
		}
		select {
		case <-ctx.Done():
			s.t.Fatalf("instance %s: not active and ready within %s (vm=%s task=%q ready_at=%v)", name, guestBoot, inst.VMState, inst.TaskState, inst.ReadyAt)
		case <-time.After(200 * time.Millisecond): // polls the state; nothing is ordered by it
		}
		if err := c.Do(ctx, "GET", "/api/v1/instances/"+url.PathEscape(inst.ID), nil, &inst); err != nil {
			s.t.Fatalf("show %s: %v", name, err)
		}
	}
	return inst
}

// TestVolumeCreatedAndAttachedToARunningInstance: a member creates a volume on the Volumes page and
// attaches it to their running instance from the volume's page, which then shows it in use by the
// instance, under the device QEMU gave it; detached, it can be attached again.
func TestVolumeCreatedAndAttachedToARunningInstance(t *testing.T) {
	s := newSite(t)
	inst := s.readyGuest(s.as("member"), "vm1")
	tb := s.open(t, "member")
	tb.goTo("/volumes")
	tb.run(chromedp.WaitVisible(chromedp.CSS("#volume-create")),
		chromedp.SetValue(chromedp.CSS("#vc-name"), "data"),
		chromedp.SetValue(chromedp.CSS("#vc-size"), "1"),
		chromedp.Click(chromedp.CSS(`#volume-create button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#volume[data-status="available"]`)),
		chromedp.SetValue(chromedp.CSS("#vat-instance"), inst.ID),
		chromedp.Click(chromedp.CSS(`#volume-attach button[type=submit]`)))
	tb.within(guestBoot, chromedp.WaitVisible(chromedp.CSS(`#volume[data-status="in-use"] #attached-to a[href="/instances/`+inst.ID+`"]`)))
	if got := eval[string](tb, `document.querySelector("#attached-to").textContent`); !strings.Contains(got, "vm1 as ") {
		t.Errorf("the volume's page says it is attached to %q, want vm1 and its device", got)
	}
	tb.shot("volume-attached")
	tb.run(chromedp.Click(chromedp.CSS(`#volume-detach button[type=submit]`)))
	tb.within(guestBoot, chromedp.WaitVisible(chromedp.CSS(`#volume[data-status="available"]`)), chromedp.WaitVisible(chromedp.CSS(`#volume-attach`)))
	tb.run(chromedp.SetValue(chromedp.CSS("#vat-instance"), inst.ID),
		chromedp.Click(chromedp.CSS(`#volume-attach button[type=submit]`)))
	tb.within(guestBoot, chromedp.WaitVisible(chromedp.CSS(`#volume[data-status="in-use"]`)))
	tb.goTo("/volumes")
	tb.run(chromedp.WaitVisible(chromedp.CSS(`#volumes tr[data-status="in-use"]`)))
	if got := eval[string](tb, `document.querySelector('#volumes tr[data-status="in-use"]').textContent`); !strings.Contains(got, "vm1") {
		t.Errorf("the volumes list row is %q, want it attached to vm1", got)
	}
	tb.shot("volumes")
}

// TestTheVolumesListFollowsChangesMadeElsewhere: with the Volumes page open, a volume the member
// creates through the API appears and turns available, and once deleted goes, without a reload.
func TestTheVolumesListFollowsChangesMadeElsewhere(t *testing.T) {
	s := newSite(t)
	tb := s.open(t, "member")
	tb.goTo("/volumes")
	tb.run(chromedp.WaitVisible(chromedp.CSS("#volumes-live")))
	tb.settled()
	eval[bool](tb, `window.notReloaded = true`)
	api := s.as("member")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var v struct{ ID string }
	if err := api.Do(ctx, "POST", "/api/v1/volumes", map[string]any{"name": "elsewhere", "size_gib": 1}, &v); err != nil {
		t.Fatalf("create a volume through the API: %v", err)
	}
	tb.run(chromedp.WaitVisible(chromedp.CSS(`#v-` + v.ID + `[data-status="available"]`)))
	if err := api.Do(ctx, "DELETE", "/api/v1/volumes/"+v.ID, nil, nil); err != nil {
		t.Fatalf("delete the volume through the API: %v", err)
	}
	tb.run(chromedp.WaitNotPresent(chromedp.CSS(`#v-` + v.ID)))
	if !eval[bool](tb, `window.notReloaded === true`) {
		t.Error("the page was reloaded: the list must follow the event stream")
	}
	if errs := tb.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}
