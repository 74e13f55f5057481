package images

import (
	"context"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"

	"cloudlet/appliance/fault"
)

func TestSharing(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	img := e.importIn(projectA, "golden", VisibilityPrivate)
	e.importIn(projectA, "other", VisibilityPrivate)

	shared, err := e.svc.AddMember(ctx, projectA, "golden", projectB)
	if err != nil {
		t.Fatal(err)
	}
	if shared.Visibility != VisibilityShared || !cmp.Equal(shared.Members, []Member{{projectB, MemberPending}}) {
		t.Errorf("after AddMember: %+v", *shared)
	}
	if _, err := e.svc.SetMemberStatus(ctx, projectB, img.ID, projectB, MemberAccepted); err != nil {
		t.Fatal(err)
	}
	if again, err := e.svc.AddMember(ctx, projectA, "golden", projectB); err != nil || again.Members[0].Status != MemberAccepted {
		t.Errorf("adding a member twice: %v, %v; want no error, its status kept", again, err)
	}

	t.Run("the member sees, boots and downloads it", func(t *testing.T) {
		list, err := e.svc.List(ctx, projectB)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"project-a/golden"}, names(list)); diff != "" {
			t.Errorf("List(B) (-want +got):\n%s", diff)
		}
		for _, ref := range []string{img.ID, "golden"} {
			if _, err := e.svc.BootFiles(ctx, projectB, ref); err != nil {
				t.Errorf("BootFiles(B, %s): %v", ref, err)
			}
		}
		f, got, err := e.svc.Download(ctx, projectB, "golden")
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(f)
		f.Close()
		if string(data) != "disk of golden" || got.ID != img.ID {
			t.Errorf("Download(B) = %q, %s", data, got.ID)
		}
	})
	t.Run("the member cannot change or delete it", func(t *testing.T) {
		checkErr(t, e.svc.Delete(ctx, projectB, "golden"), ErrNotOwner, fault.Forbidden)
		_, err := e.svc.AddMember(ctx, projectB, "golden", "project-c")
		checkErr(t, err, ErrNotOwner, fault.Forbidden)
		_, err = e.svc.RemoveMember(ctx, projectB, "golden", projectB)
		checkErr(t, err, ErrNotOwner, fault.Forbidden)
	})
	t.Run("other projects see nothing", func(t *testing.T) {
		_, err := e.svc.Get(ctx, "project-c", img.ID)
		checkErr(t, err, ErrNotFound, fault.NotFound)
		_, _, err = e.svc.Download(ctx, "project-c", img.ID)
		checkErr(t, err, ErrNotFound, fault.NotFound)
		list, _ := e.svc.List(ctx, "project-c")
		if len(list) != 0 {
			t.Errorf("List(C) = %v", names(list))
		}
		_, err = e.svc.Get(ctx, projectB, "other")
		checkErr(t, err, ErrNotFound, fault.NotFound)
	})
	t.Run("bad members", func(t *testing.T) {
		for _, m := range []string{"", "../x", "a,b", projectA} {
			_, err := e.svc.AddMember(ctx, projectA, "golden", m)
			checkErr(t, err, ErrInvalid, fault.Invalid)
		}
		_, err := e.svc.RemoveMember(ctx, projectA, "golden", "project-c")
		checkErr(t, err, ErrNotFound, fault.NotFound, "not shared with")
	})
	t.Run("unshared, the member sees it as missing", func(t *testing.T) {
		got, err := e.svc.RemoveMember(ctx, projectA, "golden", projectB)
		if err != nil || len(got.Members) != 0 {
			t.Fatalf("RemoveMember = %+v, %v", got, err)
		}
		_, err = e.svc.Get(ctx, projectB, img.ID)
		checkErr(t, err, ErrNotFound, fault.NotFound)
	})
	t.Run("a public image takes no members", func(t *testing.T) {
		e.importIn(projectA, "pub", VisibilityPublic)
		_, err := e.svc.AddMember(ctx, projectA, "pub", projectB)
		checkErr(t, err, ErrInvalidState, fault.Conflict, "public")
	})
}

func TestDownload(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	img := e.importIn(projectA, "dl", VisibilityPrivate)
	f, got, err := e.svc.Download(ctx, projectA, "dl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got.ID != img.ID || got.Checksum != img.Checksum {
		t.Errorf("Download image = %+v", *got)
	}
	e.create("empty", FormatRaw)
	_, _, err = e.svc.Download(ctx, projectA, "empty")
	checkErr(t, err, ErrNotActive, fault.Conflict, "queued")
}
