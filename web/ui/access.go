package ui

// registerAccess registers the access pages' routes.
func (s *Server) registerAccess() {}
