package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cloudlet/appliance/compute"
)

func TestDashboardConsolePagesCarryTheIslandAndItsTicketRoute(t *testing.T) {
	f := newAuthFixture(t)
	id := f.putInstance("pa", "web-1", compute.VMActive).ID
	b := newBrowser(f)
	b.login("member", testUserPassword, "pa", "/overview")
	for _, tc := range []struct{ path, element string }{
		{"/instances/" + id + "/console", `id="serial"`},
		{"/instances/" + id + "/screen", `id="vnc"`},
	} {
		rec := b.do("GET", tc.path, nil)
		body := rec.Body.String()
		if rec.Code != 200 {
			t.Fatalf("GET %s = %d %s", tc.path, rec.Code, body)
		}
		for _, want := range []string{tc.element, `data-tickets="/instances/` + id + `/console-tickets"`,
			`<h1>web-1</h1>`, `href="/instances/` + id + `?tab=overview"`, `data-state="connecting"`} {
			if !strings.Contains(body, want) {
				t.Errorf("GET %s lacks %s:\n%s", tc.path, want, body)
			}
		}
	}
	if rec := b.do("GET", "/instances/"+id+"/screen", nil); !strings.Contains(rec.Body.String(), `id="vnc-cad"`) {
		t.Errorf("the screen page has no Ctrl-Alt-Del button: %s", rec.Body)
	}
	other := newBrowser(f)
	other.login("memberb", testUserPassword, "pb", "/overview")
	if rec := other.do("GET", "/instances/"+id+"/console", nil); rec.Code != http.StatusNotFound {
		t.Errorf("another project's member opened the console page: %d", rec.Code)
	}
}

// The serial console shows the log's tail before the live stream, which starts when it attaches.
func TestDashboardConsoleHistoryIsTheLogsTailForMembersOnly(t *testing.T) {
	f := newAuthFixture(t)
	id := f.putInstance("pa", "web-1", compute.VMActive).ID
	b := newBrowser(f)
	b.login("member", testUserPassword, "pa", "/overview")
	if page := b.do("GET", "/instances/"+id+"/console", nil).Body.String(); !strings.Contains(page, `data-history="/instances/`+id+`/console/log"`) {
		t.Errorf("the console page does not say where its history is:\n%s", page)
	}
	// The compute service's StateDir is "state" beside the image service's "images" (testServicesDB).
	imageDirs, _ := filepath.Glob(filepath.Join(filepath.Dir(t.TempDir()), "*", "images"))
	if len(imageDirs) != 1 {
		t.Fatalf("image dirs %v, want the fixture's one", imageDirs)
	}
	stateDir := filepath.Join(filepath.Dir(imageDirs[0]), "state", id)
	log := strings.Repeat("x", 70<<10) + "\r\nCLOUDLET-GUEST-READY hostname=web-1\r\n"
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stateDir, "console.log"), []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	rec := b.do("GET", "/instances/"+id+"/console/log", nil)
	if rec.Code != 200 || rec.Body.Len() != 64<<10 || !strings.HasSuffix(rec.Body.String(), "CLOUDLET-GUEST-READY hostname=web-1\r\n") {
		t.Errorf("console history = %d, %d bytes ending %q; want the log's last 64 KiB", rec.Code, rec.Body.Len(), rec.Body.String()[max(0, rec.Body.Len()-40):])
	}
	reader := newBrowser(f)
	reader.login("reader", testUserPassword, "pa", "/overview")
	if rec := reader.do("GET", "/instances/"+id+"/console/log", nil); rec.Code != http.StatusForbidden {
		t.Errorf("a reader read the console log: %d", rec.Code)
	}
}

func TestDashboardReaderSeesNoScreenTabAndIsRefusedTheScreen(t *testing.T) {
	f := newAuthFixture(t)
	id := f.putInstance("pa", "web-1", compute.VMActive).ID
	b := newBrowser(f)
	b.login("reader", testUserPassword, "pa", "/overview")
	body := b.do("GET", "/instances/"+id+"/console", nil).Body.String()
	if strings.Contains(body, "/screen") || !strings.Contains(body, "may watch this console but not type") {
		t.Errorf("a reader's console page offers the screen or hides that it is view only:\n%s", body)
	}
	if rec := b.do("GET", "/instances/"+id+"/screen", nil); rec.Code != http.StatusForbidden {
		t.Errorf("a reader forcing the screen page = %d, want 403", rec.Code)
	}
}

// uiTicket asks the dashboard's ticket route for a console ticket of kind.
func uiTicket(b *browser, instance, kind, csrf string) (int, map[string]string) {
	b.t.Helper()
	rec := b.do("POST", "/instances/"+instance+"/console-tickets", url.Values{"kind": {kind}}, "X-CSRF-Token", csrf)
	var out map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		b.t.Fatalf("ticket answer %d is not JSON: %s", rec.Code, rec.Body)
	}
	return rec.Code, out
}

func TestDashboardConsoleTicketOpensTheAPIsWebsocketOnce(t *testing.T) {
	f := newConsoleFixture(t, ConsoleOptions{})
	b := newBrowser(f.authFixture)
	b.login("member", testUserPassword, "pa", "/overview")
	csrf := b.csrf("/overview")
	if rec := b.do("POST", "/instances/vm1/console-tickets", url.Values{"kind": {"vnc"}}); rec.Code != http.StatusForbidden {
		t.Errorf("a ticket without the CSRF token = %d, want 403", rec.Code)
	}
	code, tk := uiTicket(b, "vm1", ConsoleVNC, csrf)
	if code != http.StatusCreated || !strings.HasPrefix(tk["url"], "/api/v1/instances/id-vm1/vnc?ticket=") {
		t.Fatalf("ticket = %d %v", code, tk)
	}
	ws, _, err := f.dial(tk["url"], "Origin", f.http.URL)
	if err != nil {
		t.Fatalf("the dashboard's ticket did not open the screen: %v", err)
	}
	defer ws.CloseNow()
	(<-f.screens.qemu).Close()
	f.refused("the same ticket again", tk["url"], http.StatusUnauthorized, "Origin", f.http.URL)
	if code, tk := uiTicket(b, "vm1", "bogus", csrf); code != http.StatusBadRequest || !strings.Contains(tk["error"], "vnc or serial") {
		t.Errorf("a ticket of a bogus kind = %d %v, want the API's 400", code, tk)
	}
	if code, _ := uiTicket(b, "vmb", ConsoleVNC, csrf); code != http.StatusNotFound {
		t.Errorf("a ticket for another project's instance = %d, want 404", code)
	}
}

func TestDashboardReaderGetsSerialTicketsButNoScreen(t *testing.T) {
	f := newConsoleFixture(t, ConsoleOptions{})
	b := newBrowser(f.authFixture)
	b.login("reader", testUserPassword, "pa", "/overview")
	csrf := b.csrf("/overview")
	if code, tk := uiTicket(b, "vm1", ConsoleVNC, csrf); code != http.StatusForbidden || tk["error"] == "" {
		t.Errorf("a reader's vnc ticket = %d %v, want the API's 403 with its message", code, tk)
	}
	if code, tk := uiTicket(b, "vm1", ConsoleSerial, csrf); code != http.StatusCreated || !strings.Contains(tk["url"], "/console?ticket=") {
		t.Errorf("a reader's serial ticket = %d %v, want 201", code, tk)
	}
}
