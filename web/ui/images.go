package ui

// registerImages registers the images pages' routes.
func (s *Server) registerImages() {}
