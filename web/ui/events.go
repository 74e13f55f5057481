package ui

// registerEvents registers the events pages' routes.
func (s *Server) registerEvents() {}
