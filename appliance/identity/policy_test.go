package identity

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"cloudlet/appliance/fault"
)

// The rules, written independently of the table: admins do everything; members every
// action on project-scoped resources; readers only their read actions; the cloud's resources are
// the admins', except that everyone may read flavors, their project, its quota and their user.
var (
	projectScoped = []string{"instance", "image", "volume", "snapshot", "network", "subnet", "port",
		"security_group", "security_group_rule", "floating_ip", "port_forward", "event", "keypair", "token", "credential", "webhook"}
	readVerbs   = []string{"list", "show", "download"}
	readableAll = []Action{"flavor:list", "flavor:show", "project:show", "quota:show", "user:show"}
	// Deliberate departures from the plain rules, each with its reason in policy.go.
	adminOnly      = []Action{"image:import_file"}                                                       // reads a host file
	hostNetworking = []Action{"network:create_external", "network:create_bridged", "network:set_uplink", // the host's LAN
		"network:share", "network:any_cidr", "port_forward:any_host_port"}
	membersOnly    = []Action{"instance:console_log"}                              // may hold the guest's secrets
	readersMayAlso = []Action{"token:create", "token:delete", "credential:delete"} // logging in/out, revoking one's own key
	// Issue 15: everyone may list the projects its token may be rescoped to (the dashboard's switcher).
	readersMayRescope = []Action{"token:projects"}
	// Issue 13: readers watch the live serial console (view only: typing is instance:console).
	readersMayView = []Action{"instance:console_view"}
	// Issue 14: an instance's usage history is read like the instance.
	readersMayReadUsage = []Action{"instance:stats"}
	notDelegable        = []Action{"token:create", "credential:create", "user:create", "user:update", "user:reset_password", "role:assign"}

	// A reader's serial console is view only; its vnc ticket is refused by the handler (instance:console).
	readersMayTicket = []Action{"instance:console_ticket"}

	// Finding 6: a public image is in every project's list (Glance's publicize_image); who sees an
	// image is read like the image.
	imageAdminOnly, imageReadersMayAlso = []Action{"image:publicize"}, []Action{"image:member_list"}
)

// expected says which of member and reader the rules let do a.
func expected(a Action) (member, reader bool) {
	resource, verb, _ := strings.Cut(string(a), ":")
	switch {
	case slices.Contains(adminOnly, a), slices.Contains(imageAdminOnly, a), slices.Contains(hostNetworking, a):
		return false, false
	case slices.Contains(membersOnly, a):
		return true, false
	case slices.Contains(readersMayAlso, a), slices.Contains(readersMayRescope, a), slices.Contains(readersMayView, a), slices.Contains(readableAll, a), slices.Contains(readersMayReadUsage, a),
		slices.Contains(imageReadersMayAlso, a), slices.Contains(readersMayTicket, a):
		return true, true
	case slices.Contains(projectScoped, resource):
		return true, slices.Contains(readVerbs, verb)
	}
	return false, false
}

func TestPolicyTableMatchesTheRules(t *testing.T) {
	for _, r := range Policy() {
		member, reader := expected(r.Action)
		want := map[string]bool{RoleAdmin: true, RoleMember: member, RoleReader: reader}
		delegable := !slices.Contains(notDelegable, r.Action)
		other := Action("instance:list") // any action but r's
		if r.Action == other {
			other = "volume:list"
		}
		for _, role := range Roles() {
			token := Principal{Roles: []string{role}, Via: ViaToken, IsAdmin: role == RoleAdmin}
			cred := token
			cred.Via = ViaCredential
			narrowed := cred
			narrowed.AllowedActions = []Action{r.Action}
			elsewhere := cred
			elsewhere.AllowedActions = []Action{other}
			cases := []struct {
				name string
				p    Principal
				want bool
			}{
				{"token", token, want[role]},
				{"credential", cred, want[role] && delegable},
				{"credential allowing it", narrowed, want[role] && delegable},
				{"credential allowing only " + string(other), elsewhere, false},
			}
			for _, c := range cases {
				if got := Allowed(c.p, r.Action); got != c.want {
					t.Errorf("Allowed(%s via %s, %s) = %v, want %v", role, c.name, r.Action, got, c.want)
				}
			}
		}
		if !slices.Contains(r.Roles, RoleAdmin) {
			t.Errorf("%s: admin missing from its row", r.Action)
		}
	}
}

func TestPolicyTableIsWellFormed(t *testing.T) {
	shape := regexp.MustCompile(`^[a-z_]+:[a-z_]+$`)
	seen := map[Action]bool{}
	for _, r := range Policy() {
		if !shape.MatchString(string(r.Action)) {
			t.Errorf("action %q is not resource:verb", r.Action)
		}
		if seen[r.Action] {
			t.Errorf("action %s has two rows", r.Action)
		}
		seen[r.Action] = true
		if r.Scope != ScopeProject && r.Scope != ScopeUser && r.Scope != ScopeCloud {
			t.Errorf("%s: scope %q", r.Action, r.Scope)
		}
		if got, ok := PolicyRule(r.Action); !ok || got.Action != r.Action {
			t.Errorf("PolicyRule(%s) = %+v, %v", r.Action, got, ok)
		}
	}
	// The examples are all there.
	for _, a := range []Action{"instance:create", "instance:list", "volume:delete", "network:create", "user:create",
		"project:list", "quota:update", "audit:list", "token:create"} {
		if !seen[a] {
			t.Errorf("action %s missing", a)
		}
	}
	// Policy hands out copies: changing one changes nothing.
	Policy()[0].Roles[0] = RoleReader
	if Policy()[0].Roles[0] != RoleAdmin {
		t.Error("Policy() exposes the table itself")
	}
}

func TestUnknownActionsAndRolesAllowNothing(t *testing.T) {
	admin := Principal{Roles: []string{RoleAdmin}, IsAdmin: true, Via: ViaToken}
	if Allowed(admin, "instance:launch") {
		t.Error("an unknown action is allowed to admin")
	}
	if Allowed(Principal{Roles: []string{"owner"}, Via: ViaToken}, "instance:list") {
		t.Error("an unknown role allows something")
	}
	if Allowed(Principal{Via: ViaToken}, "flavor:list") {
		t.Error("no role allows something")
	}
	if Allowed(Principal{Roles: []string{RoleAdmin}, Via: ViaCredential, AllowedActions: []Action{}}, "instance:list") {
		t.Error("an empty, non-nil AllowedActions allows something")
	}
	err := Authorize(Principal{Roles: []string{RoleReader}, ProjectName: "dev"}, "instance:create")
	wantKind(t, "Authorize(reader, instance:create)", err, fault.Forbidden, ErrForbidden)
	if err != nil && !strings.Contains(err.Error(), "instance:create") {
		t.Errorf("message %q does not name the action", err)
	}
	if err := Authorize(admin, "instance:create"); err != nil {
		t.Errorf("Authorize(admin) = %v", err)
	}
}
