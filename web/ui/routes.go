package ui

import "net/http"

// register is the table of the dashboard's routes. Pages live at the root and answer a whole page,
// or their main area to htmx; the dashboard's machinery lives under /ui/. Each area registers its
// own routes in its file.
func (s *Server) register() {
	s.handle(http.MethodGet, staticPrefix+"{path...}", s.assets.serveStatic)
	s.handle(http.MethodGet, "/{$}", s.withSession(func(w http.ResponseWriter, r *http.Request, _ *session) {
		http.Redirect(w, r, "/overview", http.StatusSeeOther)
	}))
	s.registerSession()
	s.registerOverview()
	s.registerInstances()
	s.registerConsoles()
	s.registerImages()
	s.registerVolumes()
	s.registerNetwork()
	s.registerAccess()
	s.registerAdmin()
	s.registerEvents()
}
