package identity

import (
	"slices"
)

// Action names something a principal does to a kind of resource: "<resource>:<verb>", such as
// "instance:create" or "volume:list". The policy table below lists every action cloudlet knows;
// an action not in it is refused to everyone.
type Action string

// Scope says which targets of an action a principal without the admin role may touch. Admins may
// touch any. The web layer enforces the scope when it looks the target up.
type Scope string

const (
	// ScopeProject: resources owned by the principal's project (and the project itself, its quota).
	ScopeProject Scope = "project"
	// ScopeUser: the principal's own user and what it owns: tokens, credentials, keypairs.
	ScopeUser Scope = "user"
	// ScopeCloud: resources of the whole cloud (flavors, pools, the host, every project and user).
	ScopeCloud Scope = "cloud"
)

// Rule is one row of the policy table: who may do Action, on which targets.
type Rule struct {
	Action Action
	Scope  Scope
	// Roles are the roles that allow the action. The admin role is in every row.
	Roles []string
	// Delegable says whether an application credential may be used for it. Actions that make
	// login secrets (tokens, credentials, passwords) or grant roles are not, so a leaked API key
	// cannot make itself a successor or a way in that outlives its revocation.
	Delegable bool
}

// The role sets of the table, and its delegation column.
var (
	readers = []string{RoleAdmin, RoleMember, RoleReader}
	members = []string{RoleAdmin, RoleMember}
	admins  = []string{RoleAdmin}
)

const (
	anyAuth   = true  // tokens and application credentials
	tokenOnly = false // tokens only
)

// policy is the table: every action, in one place. Members do everything to their project's
// resources, readers only read them (list, show, download), admins everything everywhere; cloud
// resources are the admins', except that everyone may read flavors, their own project and its
// quota, and their own user. Tokens are everyone's (logging in again grants nothing new).
var policy = []Rule{
	{"instance:list", ScopeProject, readers, anyAuth},
	{"instance:show", ScopeProject, readers, anyAuth},
	{"instance:create", ScopeProject, members, anyAuth},
	{"instance:update", ScopeProject, members, anyAuth},
	{"instance:delete", ScopeProject, members, anyAuth},
	{"instance:start", ScopeProject, members, anyAuth},
	{"instance:stop", ScopeProject, members, anyAuth},
	{"instance:reboot", ScopeProject, members, anyAuth},
	{"instance:pause", ScopeProject, members, anyAuth},
	{"instance:unpause", ScopeProject, members, anyAuth},
	{"instance:suspend", ScopeProject, members, anyAuth},
	{"instance:resume", ScopeProject, members, anyAuth},
	{"instance:eject", ScopeProject, members, anyAuth},       // empties the CD-ROM drives (an ISO install's last step)
	{"instance:console", ScopeProject, members, anyAuth},     // serial and VNC: a keyboard is a write
	{"instance:console_log", ScopeProject, members, anyAuth}, // may hold secrets the guest printed

	// Console tickets: readers take serial ones (view only there); a vnc ticket needs instance:console.
	{"instance:console_ticket", ScopeProject, readers, anyAuth},
	{"instance:screenshot", ScopeProject, members, anyAuth}, // the screen, like the console log, may show secrets
	// The live serial console, view only (issue 13): readers may watch, typing is instance:console.
	{"instance:console_view", ScopeProject, readers, anyAuth},
	{"instance:stats", ScopeProject, readers, anyAuth}, // usage history from the sampler's cache

	{"image:list", ScopeProject, readers, anyAuth},
	{"image:show", ScopeProject, readers, anyAuth},
	{"image:download", ScopeProject, readers, anyAuth},
	{"image:create", ScopeProject, members, anyAuth},
	{"image:update", ScopeProject, members, anyAuth},
	{"image:upload", ScopeProject, members, anyAuth},
	{"image:import", ScopeProject, members, anyAuth},
	{"image:delete", ScopeProject, members, anyAuth},
	{"image:member_add", ScopeProject, members, anyAuth},
	{"image:member_remove", ScopeProject, members, anyAuth},
	{"image:import_file", ScopeCloud, admins, anyAuth}, // reads a file of the host

	{"image:member_list", ScopeProject, readers, anyAuth},
	{"image:member_update", ScopeProject, members, anyAuth}, // the recipient accepts or rejects a share
	{"image:publicize", ScopeCloud, admins, anyAuth},        // a public image is in every project's list

	{"volume:list", ScopeProject, readers, anyAuth},
	{"volume:show", ScopeProject, readers, anyAuth},
	{"volume:create", ScopeProject, members, anyAuth},
	{"volume:update", ScopeProject, members, anyAuth},
	{"volume:delete", ScopeProject, members, anyAuth},
	{"volume:attach", ScopeProject, members, anyAuth},
	{"volume:detach", ScopeProject, members, anyAuth},
	{"volume:extend", ScopeProject, members, anyAuth},
	{"volume:revert", ScopeProject, members, anyAuth},
	{"volume:transfer", ScopeProject, members, anyAuth},
	{"volume:accept_transfer", ScopeProject, members, anyAuth},

	{"snapshot:list", ScopeProject, readers, anyAuth},
	{"snapshot:show", ScopeProject, readers, anyAuth},
	{"snapshot:create", ScopeProject, members, anyAuth},
	{"snapshot:update", ScopeProject, members, anyAuth},
	{"snapshot:delete", ScopeProject, members, anyAuth},

	{"network:list", ScopeProject, readers, anyAuth},
	{"network:show", ScopeProject, readers, anyAuth},
	{"network:create", ScopeProject, members, anyAuth},
	{"network:update", ScopeProject, members, anyAuth},
	{"network:delete", ScopeProject, members, anyAuth},
	{"subnet:list", ScopeProject, readers, anyAuth},
	{"subnet:show", ScopeProject, readers, anyAuth},
	{"subnet:create", ScopeProject, members, anyAuth},
	{"subnet:update", ScopeProject, members, anyAuth},
	{"subnet:delete", ScopeProject, members, anyAuth},
	{"port:list", ScopeProject, readers, anyAuth},
	{"port:show", ScopeProject, readers, anyAuth},
	{"port:create", ScopeProject, members, anyAuth},
	{"port:update", ScopeProject, members, anyAuth},
	{"port:delete", ScopeProject, members, anyAuth},
	{"security_group:list", ScopeProject, readers, anyAuth},
	{"security_group:show", ScopeProject, readers, anyAuth},
	{"security_group:create", ScopeProject, members, anyAuth},
	{"security_group:update", ScopeProject, members, anyAuth},
	{"security_group:delete", ScopeProject, members, anyAuth},
	{"security_group_rule:create", ScopeProject, members, anyAuth},
	{"security_group_rule:delete", ScopeProject, members, anyAuth},
	{"floating_ip:list", ScopeProject, readers, anyAuth},
	{"floating_ip:show", ScopeProject, readers, anyAuth},
	{"floating_ip:create", ScopeProject, members, anyAuth},
	{"floating_ip:update", ScopeProject, members, anyAuth},
	{"floating_ip:delete", ScopeProject, members, anyAuth},
	{"port_forward:list", ScopeProject, readers, anyAuth},
	{"port_forward:show", ScopeProject, readers, anyAuth},
	{"port_forward:create", ScopeProject, members, anyAuth},
	{"port_forward:update", ScopeProject, members, anyAuth},
	{"port_forward:delete", ScopeProject, members, anyAuth},
	// Admin-only parts of a network or port forward request, authorized from its body: a network
	// on the host's LAN or a host interface (Neutron's create_network:router:external, Incus's
	// restricted.networks.uplinks), sharing one with every project, a subnet outside the members'
	// ranges, and host ports outside the members' forward range.
	{"network:create_external", ScopeCloud, admins, anyAuth},
	{"network:create_bridged", ScopeCloud, admins, anyAuth},
	{"network:set_uplink", ScopeCloud, admins, anyAuth},
	{"network:share", ScopeCloud, admins, anyAuth},
	{"network:any_cidr", ScopeCloud, admins, anyAuth},
	{"port_forward:any_host_port", ScopeCloud, admins, anyAuth},

	{"event:list", ScopeProject, readers, anyAuth}, // the project's own events only
	// Webhooks: the project's own; the signing secret is shown once, to its creator.
	{"webhook:list", ScopeProject, readers, anyAuth},
	{"webhook:show", ScopeProject, readers, anyAuth}, // the webhook and its delivery log
	{"webhook:create", ScopeProject, members, anyAuth},
	{"webhook:delete", ScopeProject, members, anyAuth},
	{"quota:show", ScopeProject, readers, anyAuth}, // the project's own quota only
	{"quota:list", ScopeCloud, admins, anyAuth},
	{"quota:update", ScopeCloud, admins, anyAuth},

	{"keypair:list", ScopeUser, readers, anyAuth},
	{"keypair:show", ScopeUser, readers, anyAuth},
	{"keypair:create", ScopeUser, members, anyAuth},
	{"keypair:delete", ScopeUser, members, anyAuth},
	{"token:list", ScopeUser, readers, anyAuth},
	{"token:create", ScopeUser, readers, tokenOnly},
	{"token:delete", ScopeUser, readers, anyAuth},   // logging out
	{"token:projects", ScopeUser, readers, anyAuth}, // the projects a token may be rescoped to
	{"credential:list", ScopeUser, readers, anyAuth},
	{"credential:show", ScopeUser, readers, anyAuth},
	{"credential:create", ScopeUser, members, tokenOnly},
	{"credential:delete", ScopeUser, readers, anyAuth}, // revoking one's own key is always allowed

	{"flavor:list", ScopeCloud, readers, anyAuth},
	{"flavor:show", ScopeCloud, readers, anyAuth},
	{"flavor:create", ScopeCloud, admins, anyAuth},
	{"flavor:update", ScopeCloud, admins, anyAuth},
	{"flavor:delete", ScopeCloud, admins, anyAuth},
	{"pool:list", ScopeCloud, admins, anyAuth},
	{"pool:show", ScopeCloud, admins, anyAuth},
	{"pool:create", ScopeCloud, admins, anyAuth},
	{"pool:update", ScopeCloud, admins, anyAuth},
	{"pool:delete", ScopeCloud, admins, anyAuth},
	{"host:show", ScopeCloud, admins, anyAuth},
	{"host:backup", ScopeCloud, admins, anyAuth},
	{"host:stats", ScopeCloud, admins, anyAuth},  // the host's usage and its instances' sums
	{"host:doctor", ScopeCloud, admins, anyAuth}, // the doctor's checks, run by the daemon
	{"audit:list", ScopeCloud, admins, anyAuth},
	// /metrics in Prometheus format: the whole cloud's figures, for admins or an API key limited to it.
	{"metrics:read", ScopeCloud, admins, anyAuth},

	{"project:show", ScopeProject, readers, anyAuth}, // the principal's own project only
	{"project:list", ScopeCloud, admins, anyAuth},
	{"project:create", ScopeCloud, admins, anyAuth},
	{"project:update", ScopeCloud, admins, anyAuth},
	{"project:delete", ScopeCloud, admins, anyAuth},
	{"user:show", ScopeUser, readers, anyAuth}, // the principal's own user only
	{"user:list", ScopeCloud, admins, anyAuth},
	{"user:create", ScopeCloud, admins, tokenOnly},
	{"user:update", ScopeCloud, admins, tokenOnly},
	{"user:delete", ScopeCloud, admins, anyAuth},
	{"user:reset_password", ScopeCloud, admins, tokenOnly},
	{"user:unlock", ScopeCloud, admins, anyAuth}, // clears login lockouts
	{"role:list", ScopeCloud, admins, anyAuth},
	{"role:assign", ScopeCloud, admins, tokenOnly},
	{"role:unassign", ScopeCloud, admins, anyAuth},
}

// ruleOf finds an action's row; the table is small enough for a linear scan.
func ruleOf(a Action) (Rule, bool) {
	i := slices.IndexFunc(policy, func(r Rule) bool { return r.Action == a })
	if i < 0 {
		return Rule{}, false
	}
	return policy[i], true
}

// Policy returns a copy of the policy table, in its order: every action cloudlet knows.
func Policy() []Rule {
	out := make([]Rule, len(policy))
	for i, r := range policy {
		r.Roles = slices.Clone(r.Roles)
		out[i] = r
	}
	return out
}

// PolicyRule returns the row of action a, or false if a is not an action (the web layer checks
// its routes' actions with it when it starts).
func PolicyRule(a Action) (Rule, bool) {
	r, ok := ruleOf(a)
	r.Roles = slices.Clone(r.Roles)
	return r, ok
}

// Allowed reports whether p may do action a: one of p's roles is in a's row, an application
// credential is only used for delegable actions, and p's AllowedActions (if any) name a. Whether
// the target is within a's scope is the caller's check.
func Allowed(p Principal, a Action) bool {
	r, ok := ruleOf(a)
	switch {
	case !ok:
		return false
	case p.Via == ViaCredential && !r.Delegable:
		return false
	case p.AllowedActions != nil && !slices.Contains(p.AllowedActions, a):
		return false
	}
	return slices.ContainsFunc(p.Roles, func(role string) bool { return slices.Contains(r.Roles, role) })
}

// Authorize is Allowed as an error of kind forbidden naming the action, or nil.
func Authorize(p Principal, a Action) error {
	if Allowed(p, a) {
		return nil
	}
	if _, ok := ruleOf(a); !ok {
		return faultf(ErrForbidden, "unknown action %s", quoteShort(string(a)))
	}
	return faultf(ErrForbidden, "%s is not allowed with roles %v on project %s", a, p.Roles, p.ProjectName)
}
