package ui

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"cloudlet/appliance/compute"
	"cloudlet/appliance/identity"
	"cloudlet/appliance/network"
	"cloudlet/appliance/volume"
	"cloudlet/images"
)

// The launch wizard's steps, in the order its fieldsets come.
const (
	stepName = iota + 1
	stepSource
	stepFlavor
	stepNetworks
	stepGroups
	stepKeypair
	stepGuest
	stepReview
)

// launchForm is what the wizard's form holds. Errors maps a field's name to its error.
type launchForm struct {
	Name, Source, Image, Volume, Flavor string
	Networks, SecurityGroups            []string
	KeyName, UserData                   string
	Password, PasswordAgain             string
	Errors                              map[string]string
	FormError                           string
}

// launchChoices are what the wizard offers, each list read from the API as the session.
type launchChoices struct {
	Instances      []compute.Instance
	Images         []images.Image
	Volumes        []volume.Volume
	Flavors        []compute.Flavor
	Networks       []network.Network
	SecurityGroups []network.SecurityGroup
	Keypairs       []identity.Keypair
	Quota          *identity.QuotaReport
}

// launchPage is the wizard's data: the form, the choices, and the step a fragment renders.
type launchPage struct {
	Form    launchForm
	Choices launchChoices
	Step    int
}

func readLaunchForm(r *http.Request) launchForm {
	f := launchForm{Name: strings.TrimSpace(r.PostFormValue("name")), Source: r.PostFormValue("source"),
		Image: r.PostFormValue("image"), Volume: r.PostFormValue("volume"), Flavor: r.PostFormValue("flavor"),
		Networks: r.PostForm["networks"], SecurityGroups: r.PostForm["security_groups"],
		KeyName: r.PostFormValue("key_name"), UserData: r.PostFormValue("user_data"),
		Password: r.PostFormValue("password"), PasswordAgain: r.PostFormValue("password_again"),
		Errors: map[string]string{}}
	if f.Source == "" {
		f.Source = "image"
	}
	return f
}

// Err is the error of field, "" when it has none.
func (f launchForm) Err(field string) string { return f.Errors[field] }

// Picked reports whether value is chosen in the multi-valued field (networks, security_groups).
func (f launchForm) Picked(field, value string) bool {
	if field == "networks" {
		return slices.Contains(f.Networks, value)
	}
	return slices.Contains(f.SecurityGroups, value)
}

// loadChoices reads what the wizard offers. A list the session may not read stays empty.
func (s *Server) loadChoices(ctx context.Context, sess *session) launchChoices {
	var c launchChoices
	api := s.api(sess)
	get := func(path string, out any) { _ = api.Do(ctx, http.MethodGet, path, nil, out) }
	get("/api/v1/instances", &c.Instances)
	get("/api/v1/images", &c.Images)
	get("/api/v1/volumes", &c.Volumes)
	get("/api/v1/flavors", &c.Flavors)
	get("/api/v1/networks", &c.Networks)
	get("/api/v1/security-groups", &c.SecurityGroups)
	get("/api/v1/keypairs", &c.Keypairs)
	var q identity.QuotaReport
	if api.Do(ctx, http.MethodGet, "/api/v1/quotas", nil, &q) == nil {
		c.Quota = &q
	}
	return c
}

// BootImages are the images an instance can boot from now; BootVolumes likewise.
func (c launchChoices) BootImages() []images.Image {
	var out []images.Image
	for _, img := range c.Images {
		if img.Status == images.StatusActive {
			out = append(out, img)
		}
	}
	return out
}

func (c launchChoices) BootVolumes() []volume.Volume {
	var out []volume.Volume
	for _, v := range c.Volumes {
		if v.Bootable && v.Status == volume.StatusAvailable {
			out = append(out, v)
		}
	}
	return out
}

func (s *Server) launchPage(w http.ResponseWriter, r *http.Request, sess *session) {
	f := launchForm{Source: "image", Errors: map[string]string{}}
	s.render(w, r, http.StatusOK, "instance-new", sess, launchPage{Form: f, Choices: s.loadChoices(r.Context(), sess)})
}

// launchValidate serves POST /instances/new/validate?step=N: the step's fieldset again, with its
// field errors (422) or without (200). The review step checks every step.
func (s *Server) launchValidate(w http.ResponseWriter, r *http.Request, sess *session) {
	step, err := strconv.Atoi(r.URL.Query().Get("step"))
	if err != nil || step < stepName || step > stepReview {
		http.Error(w, "step must be 1 to 8", http.StatusBadRequest)
		return
	}
	p := launchPage{Form: readLaunchForm(r), Choices: s.loadChoices(r.Context(), sess), Step: step}
	if step == stepReview {
		for n := stepName; n < stepReview; n++ {
			p.check(n)
		}
	} else {
		p.check(step)
	}
	status := http.StatusOK
	if len(p.Form.Errors) > 0 {
		status = http.StatusUnprocessableEntity
	}
	s.renderBlock(w, r, status, "instance-new", fmt.Sprintf("launch-step-%d", step), sess, p)
}

// launch serves the wizard's one final POST: the whole form is checked, then the API creates the
// instance (its checks decide) and the browser goes to the new instance's page.
func (s *Server) launch(w http.ResponseWriter, r *http.Request, sess *session) {
	p := launchPage{Form: readLaunchForm(r), Choices: s.loadChoices(r.Context(), sess)}
	for n := stepName; n < stepReview; n++ {
		p.check(n)
	}
	if len(p.Form.Errors) > 0 {
		p.Form.FormError = "Some steps need attention: see the fields marked below."
		s.render(w, r, http.StatusUnprocessableEntity, "instance-new", sess, p)
		return
	}
	var inst compute.Instance
	if err := s.api(sess).Do(r.Context(), http.MethodPost, "/api/v1/instances", p.Form.request(), &inst); err != nil {
		p.Form.placeAPIError(err)
		s.render(w, r, statusOf(err), "instance-new", sess, p)
		return
	}
	http.Redirect(w, r, "/instances/"+inst.ID, http.StatusSeeOther)
}

// request is the API's create request for the form.
func (f launchForm) request() compute.CreateRequest {
	req := compute.CreateRequest{Name: f.Name, Flavor: f.Flavor, Networks: f.Networks,
		SecurityGroups: f.SecurityGroups, KeyName: f.KeyName, Password: f.Password}
	if f.Source == "volume" {
		req.BootVolume = f.Volume
	} else {
		req.Image = f.Image
	}
	if f.UserData != "" {
		req.UserData = base64.StdEncoding.EncodeToString([]byte(f.UserData))
	}
	return req
}

// apiErrorFields says which field an API error is about, by the words its message starts with.
func apiErrorFields() []struct{ prefix, field string } {
	return []struct{ prefix, field string }{
		{"instance name", "name"}, {"invalid name", "name"}, {"image", "image"}, {"boot_volume", "volume"},
		{"volume", "volume"}, {"flavor", "flavor"}, {"quota", "flavor"}, {"network", "networks"},
		{"security group", "security_groups"}, {"keypair", "key_name"}, {"key", "key_name"},
		{"user_data", "user_data"}, {"password", "password"},
	}
}

// placeAPIError puts the API's error next to the field it concerns, or at the top of the form.
func (f *launchForm) placeAPIError(err error) {
	msg := errorMessage(err)
	lower := strings.ToLower(msg)
	for _, m := range apiErrorFields() {
		if strings.HasPrefix(lower, m.prefix) {
			f.Errors[m.field] = msg
			break
		}
	}
	f.FormError = "The instance was not launched: " + msg
}

// nameShape is the shape of cloudlet's names (the API's validator is the authority; this lets the
// wizard say so at the first step).
var nameShape = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// check validates one step against what the API offers, recording field errors on the form.
func (p *launchPage) check(step int) {
	f, c := &p.Form, p.Choices
	switch step {
	case stepName:
		p.checkName()
	case stepSource:
		if f.Source == "volume" {
			if !slices.ContainsFunc(c.BootVolumes(), func(v volume.Volume) bool { return v.ID == f.Volume }) {
				f.Errors["volume"] = "Choose an available bootable volume."
			}
		} else if !slices.ContainsFunc(c.BootImages(), func(i images.Image) bool { return i.ID == f.Image }) {
			f.Errors["image"] = "Choose an active image."
		}
	case stepFlavor:
		p.checkFlavor()
	case stepNetworks:
		for _, n := range f.Networks {
			if !slices.ContainsFunc(c.Networks, func(x network.Network) bool { return x.ID == n }) {
				f.Errors["networks"] = fmt.Sprintf("There is no network %q.", n)
			}
		}
	case stepGroups:
		for _, g := range f.SecurityGroups {
			if !slices.ContainsFunc(c.SecurityGroups, func(x network.SecurityGroup) bool { return x.ID == g }) {
				f.Errors["security_groups"] = fmt.Sprintf("There is no security group %q.", g)
			}
		}
	case stepKeypair:
		if f.KeyName != "" && !slices.ContainsFunc(c.Keypairs, func(k identity.Keypair) bool { return k.Name == f.KeyName }) {
			f.Errors["key_name"] = fmt.Sprintf("You have no keypair %q.", f.KeyName)
		}
	case stepGuest:
		if len(f.UserData) > compute.MaxUserData {
			f.Errors["user_data"] = fmt.Sprintf("User data is %d bytes; at most %d.", len(f.UserData), compute.MaxUserData)
		}
		if f.Password != f.PasswordAgain {
			f.Errors["password_again"] = "The two passwords differ."
		}
	}
}

func (p *launchPage) checkName() {
	f := &p.Form
	switch {
	case f.Name == "":
		f.Errors["name"] = "Give the instance a name."
	case !nameShape.MatchString(f.Name) || strings.Contains(f.Name, "..") || strings.HasSuffix(f.Name, "."):
		f.Errors["name"] = "Use letters, digits, '-', '_' and '.', starting with a letter or digit, at most 63."
	case slices.ContainsFunc(p.Choices.Instances, func(i compute.Instance) bool { return i.Name == f.Name }):
		f.Errors["name"] = fmt.Sprintf("An instance named %q exists already.", f.Name)
	}
}

func (p *launchPage) checkFlavor() {
	fl, ok := p.Flavor()
	if !ok {
		p.Form.Errors["flavor"] = "Choose a flavor."
		return
	}
	for _, h := range p.quotaAfter(fl) {
		if h.Over {
			p.Form.Errors["flavor"] = "This flavor would exceed the project's quota: " + h.Text + "."
			return
		}
	}
}

// Flavor is the chosen flavor.
func (p launchPage) Flavor() (compute.Flavor, bool) {
	i := slices.IndexFunc(p.Choices.Flavors, func(f compute.Flavor) bool { return f.ID == p.Form.Flavor })
	if i < 0 {
		return compute.Flavor{}, false
	}
	return p.Choices.Flavors[i], true
}

// quotaHint is one line of "what the project uses after this launch".
type quotaHint struct {
	Text string
	Over bool
}

// QuotaHints are the quota lines the flavor step shows for the chosen flavor ("3 of 10 vCPUs after launch").
func (p launchPage) QuotaHints() []quotaHint {
	fl, ok := p.Flavor()
	if !ok {
		return nil
	}
	return p.quotaAfter(fl)
}

func (p launchPage) quotaAfter(fl compute.Flavor) []quotaHint {
	q := p.Choices.Quota
	if q == nil {
		return nil
	}
	var out []quotaHint
	for _, r := range []struct {
		res, unit string
		add       int64
	}{{identity.QuotaInstances, "instances", 1}, {identity.QuotaCores, "vCPUs", int64(fl.VCPUs)}, {identity.QuotaRAM, "MiB of RAM", int64(fl.RAMMiB)}} {
		u, ok := q.Quotas[r.res]
		if !ok {
			continue
		}
		after := u.InUse + r.add
		if u.Limit < 0 {
			out = append(out, quotaHint{Text: fmt.Sprintf("%d %s after launch (no limit)", after, r.unit)})
			continue
		}
		out = append(out, quotaHint{Text: fmt.Sprintf("%d of %d %s after launch", after, u.Limit, r.unit), Over: after > u.Limit})
	}
	return out
}

// summaryLine is one line of the review step.
type summaryLine struct{ Label, Value string }

// Summary is what the review step shows the launch will ask for, by name.
func (p launchPage) Summary() []summaryLine {
	f, c := p.Form, p.Choices
	source := "image " + nameOf(f.Image, c.Images, func(i images.Image) (string, string) { return i.ID, i.Name })
	if f.Source == "volume" {
		source = "volume " + nameOf(f.Volume, c.Volumes, func(v volume.Volume) (string, string) { return v.ID, v.Name })
	}
	flavor := nameOf(f.Flavor, c.Flavors, func(x compute.Flavor) (string, string) { return x.ID, x.Name })
	var nets, groups []string
	for _, n := range f.Networks {
		nets = append(nets, nameOf(n, c.Networks, func(x network.Network) (string, string) { return x.ID, x.Name }))
	}
	for _, g := range f.SecurityGroups {
		groups = append(groups, nameOf(g, c.SecurityGroups, func(x network.SecurityGroup) (string, string) { return x.ID, x.Name }))
	}
	return []summaryLine{{"Name", f.Name}, {"Boots from", source}, {"Flavor", flavor},
		{"Networks", orDefault(strings.Join(nets, ", "), "the project's default")},
		{"Security groups", orDefault(strings.Join(groups, ", "), network.DefaultGroup)},
		{"Keypair", orDefault(f.KeyName, "none")},
		{"User data", fmt.Sprintf("%d bytes", len(f.UserData))},
		{"Console password", map[bool]string{true: "set", false: "not set"}[f.Password != ""]}}
}

// nameOf is the name of the item with ID id in list, or id itself.
func nameOf[T any](id string, list []T, key func(T) (string, string)) string {
	for _, x := range list {
		if i, n := key(x); i == id {
			return n
		}
	}
	return id
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
