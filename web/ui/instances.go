package ui

import (
	"context"
	"errors"
	"net/http"

	"cloudlet/appliance/compute"
	"cloudlet/images"
	"cloudlet/web/client"
)

// registerInstances registers the instances pages' routes: the live list and its rows, the actions,
// the launch wizard and the detail page. (The serial console and the screen are another file's.)
func (s *Server) registerInstances() {
	s.handle(http.MethodGet, "/instances", s.withSession(s.instanceList))
	s.handle(http.MethodGet, "/instances/table", s.withSession(s.instanceTable))
	s.handle(http.MethodGet, "/instances/new", s.withAction("instance:create", s.launchPage))
	s.handle(http.MethodPost, "/instances/new/validate", s.withAction("instance:create", s.launchValidate))
	s.handle(http.MethodPost, "/instances", s.withAction("instance:create", s.launch))
	s.handle(http.MethodGet, "/instances/{id}", s.withSession(s.instanceDetail))
	s.handle(http.MethodGet, "/instances/{id}/row", s.withSession(s.instanceRowFragment))
	s.handle(http.MethodGet, "/instances/{id}/status", s.withSession(s.instanceStatusFragment))
	s.handle(http.MethodGet, "/instances/{id}/tab", s.withSession(s.instanceTabFragment))
	s.handle(http.MethodGet, "/instances/{id}/screenshot", s.withSession(s.instanceScreenshot))
	s.handle(http.MethodGet, "/instances/{id}/confirm", s.withSession(s.instanceConfirm))
	for _, a := range instanceActions() {
		s.handle(http.MethodPost, "/instances/{id}/"+a.Name, s.withSession(s.instanceAction(a)))
	}
}

// getInstance reads one instance through the API.
func (s *Server) getInstance(ctx context.Context, sess *session, id string) (*compute.Instance, error) {
	var inst compute.Instance
	if err := s.api(sess).Do(ctx, http.MethodGet, "/api/v1/instances/"+id, nil, &inst); err != nil {
		return nil, err
	}
	return &inst, nil
}

// imageNames maps the IDs of the images the session sees to their names; a failure leaves it empty
// (the pages then show IDs).
func (s *Server) imageNames(ctx context.Context, sess *session) map[string]string {
	var list []images.Image
	names := map[string]string{}
	if err := s.api(sess).Do(ctx, http.MethodGet, "/api/v1/images", nil, &list); err != nil {
		return names
	}
	for _, img := range list {
		names[img.ID] = img.Name
	}
	return names
}

// isNotFound reports whether the API answered 404.
func isNotFound(err error) bool {
	var ae *client.Error
	return errors.As(err, &ae) && ae.Code == http.StatusNotFound
}

// isHTMX reports whether htmx sent the request (it swaps the answer into the page).
func isHTMX(r *http.Request) bool { return r.Header.Get("HX-Request") == "true" }
