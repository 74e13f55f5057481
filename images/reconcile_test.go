package images

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"cloudlet/store"
)

// A daemon killed in the middle of an import or a delete leaves records that never became active
// and directories without a record; the next New removes them and nothing else.
func TestNewCleansUpInterruptedWork(t *testing.T) {
	e := newEnv(t)
	active := e.importIn(projectA, "active", VisibilityPrivate)
	for _, status := range []string{StatusQueued, StatusSaving, StatusKilled, StatusDeleted} {
		e.setStatus(e.importIn(projectA, status, VisibilityPrivate), status)
	}
	orphan := filepath.Join(e.dir, store.NewID())
	if err := os.MkdirAll(orphan, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(orphan, ".disk-1.tmp"), []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, keep := range []string{"not-an-image", "catalog.db"} {
		if err := os.WriteFile(filepath.Join(e.dir, keep), []byte("keep"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(e.dir, "lost+found"), 0o700); err != nil {
		t.Fatal(err)
	}

	if _, err := New(e.db, Options{Dir: e.dir}); err != nil {
		t.Fatal(err)
	}

	want := []string{active.ID, filepath.Join(active.ID, "disk"), "catalog.db", "lost+found", "not-an-image"}
	slices.Sort(want)
	if diff := cmp.Diff(want, e.dirEntries()); diff != "" {
		t.Errorf("image dir after New (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"project-a/active"}, names(e.records())); diff != "" {
		t.Errorf("records after New (-want +got):\n%s", diff)
	}
}

// Uploads and URL imports: a queued upload keeps waiting, a killed one keeps its fault, and one
// interrupted while saving becomes killed; none keeps a file.
func TestNewKeepsUploadRecords(t *testing.T) {
	e := newEnv(t)
	waiting := e.create("waiting", FormatRaw)
	saving := e.create("saving", FormatRaw)
	e.setStatus(saving, StatusSaving)
	queuedURL := e.create("queued-url", FormatRaw)
	queuedURL.Source = SourceURL
	e.setStatus(queuedURL, StatusQueued)
	e.upload("killed", FormatQcow2, strings.NewReader("not a qcow2"))
	for _, img := range []*Image{waiting, saving, queuedURL} {
		if err := os.MkdirAll(filepath.Join(e.dir, img.ID), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(e.dir, img.ID, ".upload-1.tmp"), []byte("half"), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	if _, err := New(e.db, Options{Dir: e.dir}); err != nil {
		t.Fatal(err)
	}

	got := map[string]string{}
	for _, img := range e.records() {
		got[img.Name] = img.Status + ": " + img.Fault
	}
	want := map[string]string{
		"waiting":    "queued: ",
		"saving":     "killed: " + faultInterrupted,
		"queued-url": "killed: " + faultInterrupted,
		"killed":     "killed: " + e.byName("killed").Fault,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records after New (-want +got):\n%s", diff)
	}
	if ents := e.dirEntries(); len(ents) != 0 {
		t.Errorf("image dir after New: %v", ents)
	}
}
