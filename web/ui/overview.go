package ui

import "net/http"

// registerOverview registers the overview page.
func (s *Server) registerOverview() {
	s.handle(http.MethodGet, "/overview", s.withSession(s.overview))
}

func (s *Server) overview(w http.ResponseWriter, r *http.Request, sess *session) {
	s.render(w, r, http.StatusOK, "overview", sess, nil)
}
