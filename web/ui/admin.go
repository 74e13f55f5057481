package ui

// registerAdmin registers the admin pages' routes.
func (s *Server) registerAdmin() {}
