package ui

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"cloudlet/images"
)

// registerImages registers the images pages' routes: the list with its upload and import forms,
// a row (polled while an image is saving), the detail page that edits an image, and delete with a
// confirmation page. The upload's data goes through PUT ImageUploadPattern (images_upload.go).
func (s *Server) registerImages() {
	s.handle(http.MethodGet, "/images", s.withSession(s.imagesPage))
	s.handle(http.MethodPost, "/images", s.withSession(s.createImage))
	s.handle(http.MethodPost, "/images/import", s.withSession(s.importImage))
	s.handle(http.MethodGet, "/images/{id}", s.withSession(s.imagePage))
	s.handle(http.MethodPost, "/images/{id}", s.withSession(s.updateImage))
	s.handle(http.MethodGet, "/images/{id}/row", s.withSession(s.imageRowFragment))
	s.handle(http.MethodGet, "/images/{id}/delete", s.withAction("image:delete", s.imageDeletePage))
	s.handle(http.MethodPost, "/images/{id}/delete", s.withSession(s.deleteImage))
	s.handle(http.MethodPut, ImageUploadPattern, s.withSession(s.uploadImageFile))
}

// imageRow is one image in the list, with the session that decides which actions it shows.
type imageRow struct {
	Image   images.Image
	Session *session
}

// Mine reports whether the image belongs to the session's project: only then may it be changed.
func (r imageRow) Mine() bool { return r.Image.ProjectID == r.Session.principal.ProjectID }

// Settling reports whether the image is on its way to active or killed without this page's help:
// saving, or an import from a URL waiting to start. Its row polls. A record queued for an upload
// waits for its file, which the upload island sends and whose answer replaces the row.
func (r imageRow) Settling() bool {
	return r.Image.Status == images.StatusSaving || (r.Image.Status == images.StatusQueued && r.Image.Source == images.SourceURL)
}

// imageForm is the upload or import form's values and errors: Errors by field name ("name",
// "disk_format", "visibility", "url", "checksum"), Error for the rest.
type imageForm struct {
	Name, DiskFormat, Visibility, URL, Checksum string
	Errors                                      map[string]string
	Error                                       string
}

// imagesView is the images page's data.
type imagesView struct {
	Rows           []imageRow
	Upload, Import imageForm
	session        *session
}

// imageFields is what the forms' shared fields render: the ids' prefix, the form, the session.
type imageFields struct {
	Prefix  string
	Form    imageForm
	Formats []string
	Session *session
}

func (v imagesView) UploadFields() imageFields {
	return imageFields{Prefix: "upload", Form: v.Upload, Formats: diskFormats(), Session: v.session}
}

func (v imagesView) ImportFields() imageFields {
	return imageFields{Prefix: "import", Form: v.Import, Formats: diskFormats(), Session: v.session}
}

// diskFormats are the formats the forms offer: what the image service takes (vmdk, vhdx and vdi it
// converts to qcow2).
func diskFormats() []string {
	return []string{images.FormatQcow2, images.FormatRaw, images.FormatISO, images.FormatVMDK, images.FormatVHDX, images.FormatVDI}
}

func (s *Server) imagesPage(w http.ResponseWriter, r *http.Request, sess *session) {
	s.renderImages(w, r, http.StatusOK, sess, imagesView{Upload: newImageForm(), Import: newImageForm()})
}

func newImageForm() imageForm {
	return imageForm{DiskFormat: images.FormatQcow2, Visibility: images.VisibilityPrivate}
}

// renderImages lists the project's images into v and renders the page.
func (s *Server) renderImages(w http.ResponseWriter, r *http.Request, status int, sess *session, v imagesView) {
	var list []images.Image
	if err := s.api(sess).Do(r.Context(), http.MethodGet, "/api/v1/images", nil, &list); err != nil {
		http.Error(w, errorMessage(err), statusOf(err))
		return
	}
	for _, img := range list {
		v.Rows = append(v.Rows, imageRow{Image: img, Session: sess})
	}
	v.session = sess
	s.render(w, r, status, "images", sess, v)
}

// readImageForm reads the upload or import form.
func readImageForm(r *http.Request) imageForm {
	return imageForm{Name: strings.TrimSpace(r.PostFormValue("name")), DiskFormat: r.PostFormValue("disk_format"),
		Visibility: r.PostFormValue("visibility"), URL: strings.TrimSpace(r.PostFormValue("url")),
		Checksum: strings.TrimSpace(r.PostFormValue("checksum"))}
}

// withError puts the API's refusal next to the field it concerns, or on the form.
func (f imageForm) withError(err error) imageForm {
	msg := errorMessage(err)
	f.Errors = map[string]string{}
	if field := imageErrorField(msg); field != "" {
		f.Errors[field] = msg
	} else {
		f.Error = msg
	}
	return f
}

// imageErrorField is the form field an API message about an image is about, or "".
func imageErrorField(msg string) string {
	m := strings.ToLower(msg)
	for _, c := range []struct{ word, field string }{
		{"checksum", "checksum"}, {"url", "url"}, {"http", "url"}, {"format", "disk_format"},
		{"visibility", "visibility"}, {"public", "visibility"}, {"name", "name"},
	} {
		if strings.Contains(m, c.word) {
			return c.field
		}
	}
	return ""
}

// createImage creates a queued image record through the API. The upload island asks for JSON
// (Accept: application/json) and then sends the file; a plain form returns to the list.
func (s *Server) createImage(w http.ResponseWriter, r *http.Request, sess *session) {
	f := readImageForm(r)
	var img images.Image
	err := s.api(sess).Do(r.Context(), http.MethodPost, "/api/v1/images",
		map[string]string{"name": f.Name, "disk_format": f.DiskFormat, "visibility": f.Visibility}, &img)
	wantsJSON := strings.Contains(r.Header.Get("Accept"), "application/json")
	switch {
	case err != nil && wantsJSON:
		f = f.withError(err)
		writeJSON(w, statusOf(err), map[string]any{"error": errorMessage(err), "fields": f.Errors})
	case err != nil:
		s.renderImages(w, r, formStatus(err), sess, imagesView{Upload: f.withError(err), Import: newImageForm()})
	case wantsJSON:
		writeJSON(w, http.StatusCreated, img)
	default:
		http.Redirect(w, r, "/images", http.StatusSeeOther)
	}
}

// importImage has the API download an image from a URL; the list's row shows how it goes.
func (s *Server) importImage(w http.ResponseWriter, r *http.Request, sess *session) {
	f := readImageForm(r)
	body := map[string]string{"name": f.Name, "disk_format": f.DiskFormat, "visibility": f.Visibility, "url": f.URL}
	if f.Checksum != "" {
		body["checksum"] = f.Checksum
	}
	if err := s.api(sess).Do(r.Context(), http.MethodPost, "/api/v1/images/import", body, nil); err != nil {
		s.renderImages(w, r, formStatus(err), sess, imagesView{Upload: newImageForm(), Import: f.withError(err)})
		return
	}
	http.Redirect(w, r, "/images", http.StatusSeeOther)
}

// getImage reads the image in the path through the API.
func (s *Server) getImage(r *http.Request, sess *session) (images.Image, error) {
	var img images.Image
	err := s.api(sess).Do(r.Context(), http.MethodGet, "/api/v1/images/"+url.PathEscape(r.PathValue("id")), nil, &img)
	return img, err
}

// imageRowFragment answers one row of the list: what its polling swaps in.
func (s *Server) imageRowFragment(w http.ResponseWriter, r *http.Request, sess *session) {
	img, err := s.getImage(r, sess)
	if err != nil {
		http.Error(w, errorMessage(err), statusOf(err))
		return
	}
	s.renderBlock(w, r, http.StatusOK, "images", "image-row-fragment", sess, imageRow{Image: img, Session: sess})
}

// imageEdit is the detail page's data: the image and the edit form's error.
type imageEdit struct {
	Row   imageRow
	Error string
	Saved bool
}

// VisibilityField is the edit form's visibility select, set to the image's.
func (e imageEdit) VisibilityField() imageFields {
	return imageFields{Prefix: "edit", Form: imageForm{Visibility: e.Row.Image.Visibility}, Session: e.Row.Session}
}

func (s *Server) imagePage(w http.ResponseWriter, r *http.Request, sess *session) {
	img, err := s.getImage(r, sess)
	if err != nil {
		http.Error(w, errorMessage(err), statusOf(err))
		return
	}
	s.render(w, r, http.StatusOK, "images_edit", sess, imageEdit{Row: imageRow{Image: img, Session: sess},
		Saved: r.URL.Query().Get("saved") == "1"})
}

// updateImage patches the image's visibility, minimums and protection through the API.
func (s *Server) updateImage(w http.ResponseWriter, r *http.Request, sess *session) {
	id := r.PathValue("id")
	patch := map[string]any{"visibility": r.PostFormValue("visibility"), "protected": r.PostFormValue("protected") == "on"}
	for _, field := range []string{"min_disk_gib", "min_ram_mib"} {
		n, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue(field)))
		if err != nil || n < 0 {
			s.imageEditFailed(w, r, sess, http.StatusUnprocessableEntity, field+" must be a whole number, 0 or more")
			return
		}
		patch[field] = n
	}
	if err := s.api(sess).Do(r.Context(), http.MethodPatch, "/api/v1/images/"+url.PathEscape(id), patch, nil); err != nil {
		s.imageEditFailed(w, r, sess, formStatus(err), errorMessage(err))
		return
	}
	http.Redirect(w, r, "/images/"+url.PathEscape(id)+"?saved=1", http.StatusSeeOther)
}

// imageEditFailed re-renders the detail page with the edit's error.
func (s *Server) imageEditFailed(w http.ResponseWriter, r *http.Request, sess *session, status int, msg string) {
	img, err := s.getImage(r, sess)
	if err != nil {
		http.Error(w, errorMessage(err), statusOf(err))
		return
	}
	s.render(w, r, status, "images_edit", sess, imageEdit{Row: imageRow{Image: img, Session: sess}, Error: msg})
}

// imageDeletePage asks to confirm a delete (the list's delete link comes here without JS).
func (s *Server) imageDeletePage(w http.ResponseWriter, r *http.Request, sess *session) {
	img, err := s.getImage(r, sess)
	if err != nil {
		http.Error(w, errorMessage(err), statusOf(err))
		return
	}
	s.render(w, r, http.StatusOK, "images_delete", sess, imageEdit{Row: imageRow{Image: img, Session: sess}})
}

// deleteImage deletes through the API; a refusal (protected, in use) shows on the confirm page.
func (s *Server) deleteImage(w http.ResponseWriter, r *http.Request, sess *session) {
	id := r.PathValue("id")
	if err := s.api(sess).Do(r.Context(), http.MethodDelete, "/api/v1/images/"+url.PathEscape(id), nil, nil); err != nil {
		img, gerr := s.getImage(r, sess)
		if gerr != nil {
			http.Error(w, errorMessage(err), statusOf(err))
			return
		}
		s.render(w, r, formStatus(err), "images_delete", sess, imageEdit{Row: imageRow{Image: img, Session: sess}, Error: errorMessage(err)})
		return
	}
	http.Redirect(w, r, "/images", http.StatusSeeOther)
}
