package ui

// registerVolumes registers the volumes pages' routes.
func (s *Server) registerVolumes() {}
