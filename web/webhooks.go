package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"cloudlet/appliance/fault"
	"cloudlet/appliance/webhook"
)

// webhookRequest is POST /api/v1/webhooks.
type webhookRequest struct {
	Name   string   `json:"name"`
	URL    string   `json:"url"`
	Secret string   `json:"secret"` // "": generated; either way shown in this answer only
	Events []string `json:"events"`
}

// webhooksService is Options.Webhooks, or a 503 when the daemon runs without it.
func (s *Server) webhooksService() (*webhook.Service, error) {
	if s.opts.Webhooks == nil {
		return nil, fault.New(fault.Unavailable, "webhooks are not enabled")
	}
	return s.opts.Webhooks, nil
}

// createWebhook answers 201 with the webhook and its signing secret, shown this once.
func (s *Server) createWebhook(c echo.Context) error {
	var r webhookRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	svc, err := s.webhooksService()
	if err != nil {
		return err
	}
	w, err := svc.Create(c.Request().Context(), webhook.Spec{ProjectID: s.project(c), Name: r.Name, URL: r.URL,
		Secret: r.Secret, Events: r.Events})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, w)
}

func (s *Server) listWebhooks(c echo.Context) error {
	svc, err := s.webhooksService()
	if err != nil {
		return err
	}
	out, err := svc.List(c.Request().Context(), s.project(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) showWebhook(c echo.Context) error {
	svc, err := s.webhooksService()
	if err != nil {
		return err
	}
	w, err := svc.Get(c.Request().Context(), s.project(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, w)
}

func (s *Server) deleteWebhook(c echo.Context) error {
	svc, err := s.webhooksService()
	if err != nil {
		return err
	}
	if err := svc.Delete(c.Request().Context(), s.project(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// webhookDeliveries is the webhook's delivery log, oldest first.
func (s *Server) webhookDeliveries(c echo.Context) error {
	svc, err := s.webhooksService()
	if err != nil {
		return err
	}
	out, err := svc.Deliveries(c.Request().Context(), s.project(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}
