package ui

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"cloudlet/appliance/compute"
)

func (s *Server) registerAdminFlavors() {
	s.handle(http.MethodGet, "/admin/flavors", s.withSession(func(w http.ResponseWriter, r *http.Request, sess *session) {
		s.flavorsPage(w, r, sess, http.StatusOK, &flavorsData{})
	}))
	s.handle(http.MethodPost, "/admin/flavors", s.withSession(s.createFlavor))
	s.handle(http.MethodPost, "/admin/flavors/{id}/delete", s.withSession(s.deleteFlavor))
}

// flavorsData is the flavors page: the sizes instances come in, and the create form.
type flavorsData struct {
	pageErrors
	Flavors []compute.Flavor
	Create  *formState
}

func (s *Server) flavorsPage(w http.ResponseWriter, r *http.Request, sess *session, status int, d *flavorsData) {
	err := s.callAs(r, sess, http.MethodGet, "/api/v1/flavors", nil, &d.Flavors)
	s.renderPage(w, r, sess, "admin_flavors", status, err, &d.pageErrors, d)
}

func (s *Server) createFlavor(w http.ResponseWriter, r *http.Request, sess *session) {
	f, err := flavorFromForm(r)
	if err == nil {
		err = s.callAs(r, sess, http.MethodPost, "/api/v1/flavors", f, nil)
	}
	if err != nil {
		s.flavorsPage(w, r, sess, formStatus(err), &flavorsData{Create: refused(r, err,
			[2]string{"vcpus", "vcpu"}, [2]string{"ram_mib", "ram"}, [2]string{"disk_gib", "disk"},
			[2]string{"ephemeral_gib", "ephemeral"}, [2]string{"swap_mib", "swap"}, [2]string{"name", "name"}, [2]string{"name", "flavor"})})
		return
	}
	redirectDone(w, r, "/admin/flavors")
}

// flavorFromForm reads the create form's sizes; an empty one is 0 (the API says what it needs).
func flavorFromForm(r *http.Request) (compute.Flavor, error) {
	f := compute.Flavor{Public: r.PostFormValue("public") == "true"}
	f.Name = r.PostFormValue("name")
	for _, n := range []struct {
		field string
		to    *int
	}{{"vcpus", &f.VCPUs}, {"ram_mib", &f.RAMMiB}, {"disk_gib", &f.DiskGiB}, {"ephemeral_gib", &f.EphemeralGiB}, {"swap_mib", &f.SwapMiB}} {
		v := r.PostFormValue(n.field)
		if v == "" {
			continue
		}
		i, err := strconv.Atoi(v)
		if err != nil {
			return f, &formInputError{msg: fmt.Sprintf("%s must be a whole number, not %q", n.field, v)}
		}
		*n.to = i
	}
	return f, nil
}

func (s *Server) deleteFlavor(w http.ResponseWriter, r *http.Request, sess *session) {
	if err := s.callAs(r, sess, http.MethodDelete, "/api/v1/flavors/"+url.PathEscape(r.PathValue("id")), nil, nil); err != nil {
		s.flavorsPage(w, r, sess, formStatus(err), &flavorsData{pageErrors: actionFailed(err)})
		return
	}
	redirectDone(w, r, "/admin/flavors")
}
