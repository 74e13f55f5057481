package openstack

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cloudlet/images"
	"cloudlet/web/client"
)

// TestOpenStackCLIImageLifecycle: the real openstack CLI makes an image from a qcow2 file through
// Glance v2 (create, then the file streamed in), lists, shows, changes it with JSON patches
// (properties, min disk, tags, protection), saves the same bytes back, shares it with another
// project that accepts it, and deletes it; cloudlet's own API shows each step.
func TestOpenStackCLIImageLifecycle(t *testing.T) {
	s := newSite(t)
	member := s.as("member")
	disk := glanceQcow2(t)
	data, err := os.ReadFile(disk)
	if err != nil {
		t.Fatal(err)
	}
	var created struct{ ID, Status string }
	glanceCLIJSON(t, s, &created, "member", "image", "create", "--file", disk, "--disk-format", "qcow2",
		"--container-format", "bare", "--private", "img1")
	sum := sha256.Sum256(data)
	img := glanceNative(t, member, "img1")
	if img.ID != created.ID || img.Status != images.StatusActive || img.Size != int64(len(data)) ||
		img.Checksum != hex.EncodeToString(sum[:]) || img.Visibility != images.VisibilityPrivate {
		t.Fatalf("/api/v1 has %+v after image create, want %s active, %d bytes, sha256 %x, private",
			img, created.ID, len(data), sum)
	}
	var list []struct{ ID, Name string }
	glanceCLIJSON(t, s, &list, "member", "image", "list")
	if !glanceListHas(list, img.ID, "img1") {
		t.Errorf("image list = %+v, want img1", list)
	}
	s.cli("member", "image", "set", "--property", "a=b", "--min-disk", "1", "img1")
	img = glanceNative(t, member, "img1")
	if img.Properties["a"] != "b" || img.MinDiskGiB != 1 {
		t.Errorf("/api/v1 has %+v after image set, want property a=b and min disk 1", img)
	}
	var shown struct {
		ID         string         `json:"id"`
		MinDisk    int            `json:"min_disk"`
		Properties map[string]any `json:"properties"`
	}
	glanceCLIJSON(t, s, &shown, "member", "image", "show", "img1")
	if shown.ID != img.ID || shown.MinDisk != 1 || shown.Properties["a"] != "b" {
		t.Errorf("image show = %v, want img1 with min_disk 1 and property a", shown)
	}
	saved := filepath.Join(t.TempDir(), "saved.qcow2")
	s.cli("member", "image", "save", "--file", saved, "img1")
	if back, err := os.ReadFile(saved); err != nil || !bytes.Equal(back, data) {
		t.Errorf("image save gave %d bytes (%v), want the %d uploaded", len(back), err, len(data))
	}
	checkCLITagsAndProtectsImage(t, s, img.ID)
	checkCLISharesImage(t, s, img.ID)
	s.cli("member", "image", "delete", "img1")
	var ae *client.Error
	if err := member.Do(context.Background(), "GET", "/api/v1/images/"+img.ID, nil, &img); !errorAs(err, &ae) || ae.Code != 404 {
		t.Errorf("/api/v1 after image delete: %v, want 404", err)
	}
}

// TestOpenStackCLIImageCreateRefusesDataThatIsNotItsFormat: a text file as --disk-format qcow2 is
// refused with cloudlet's reason (its inspection, 400, kills the image), and the CLI deletes the
// image it could not fill, so cloudlet's API has none left.
func TestOpenStackCLIImageCreateRefusesDataThatIsNotItsFormat(t *testing.T) {
	s := newSite(t)
	fake := filepath.Join(t.TempDir(), "fake.qcow2")
	if err := os.WriteFile(fake, bytes.Repeat([]byte("not a disk image\n"), 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, err := s.tryCLI("member", "image", "create", "--file", fake, "--disk-format", "qcow2",
		"--container-format", "bare", "fake")
	if err == nil || !strings.Contains(stderr, "not a qcow2 image") {
		t.Errorf("image create of a text file as qcow2: %v, stderr %q; want cloudlet's refusal, not a qcow2 image", err, stderr)
	}
	var ae *client.Error
	var img images.Image
	if err := s.as("member").Do(context.Background(), "GET", "/api/v1/images/fake", nil, &img); !errorAs(err, &ae) || ae.Code != 404 {
		t.Errorf("/api/v1 after the refused create: %+v, %v; want 404 (the CLI deletes the killed image)", img, err)
	}
}

// checkCLITagsAndProtectsImage: `image set --tag`, `image unset --property` and `image set
// --protected` show in cloudlet's API; a protected image's delete is refused (Glance's 403) and
// it stays until `--unprotected`.
func checkCLITagsAndProtectsImage(t *testing.T, s *site, id string) {
	t.Helper()
	member := s.as("member")
	s.cli("member", "image", "set", "--tag", "t1", "--protected", "img1")
	s.cli("member", "image", "unset", "--property", "a", "img1")
	img := glanceNative(t, member, id)
	if len(img.Tags) != 1 || img.Tags[0] != "t1" || !img.Protected || img.Properties["a"] != "" {
		t.Errorf("/api/v1 has %+v after set --tag --protected and unset --property, want tag t1, protected, no a", img)
	}
	if _, stderr, err := s.tryCLI("member", "image", "delete", "img1"); err == nil || !strings.Contains(stderr, "protected") {
		t.Errorf("image delete of a protected image: %v, stderr %q; want a refusal saying it is protected", err, stderr)
	}
	s.cli("member", "image", "set", "--unprotected", "img1")
	if img := glanceNative(t, member, id); img.Protected {
		t.Errorf("/api/v1 has %+v after set --unprotected", img)
	}
}

// checkCLISharesImage: the member shares the image with project admin by its id (`image add
// project`; Keystone lets a member read no other project, so the CLI takes the id as given), it is
// pending there, the admin accepts it (`image set --accept`), and cloudlet's API shows it accepted.
func checkCLISharesImage(t *testing.T, s *site, id string) {
	t.Helper()
	var admin struct{ ID string }
	s.root("GET", "/api/v1/projects/admin", nil, &admin)
	s.cli("member", "image", "add", "project", "img1", admin.ID)
	member := s.as("member")
	img := glanceNative(t, member, id)
	if img.Visibility != images.VisibilityShared || len(img.Members) != 1 || img.Members[0].Status != images.MemberPending {
		t.Fatalf("/api/v1 has %+v after image add project, want shared, one pending member", img)
	}
	s.cli("admin", "image", "set", "--accept", id)
	if img = glanceNative(t, member, id); len(img.Members) != 1 || img.Members[0].Status != images.MemberAccepted {
		t.Errorf("/api/v1 members after image set --accept = %+v, want accepted", img.Members)
	}
}

// glanceQcow2 is a 4 MiB qcow2 with a few written clusters, made by qemu-img in the test's dir.
func glanceQcow2(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	raw, disk := filepath.Join(dir, "disk.raw"), filepath.Join(dir, "disk.qcow2")
	if err := os.WriteFile(raw, bytes.Repeat([]byte("cloudlet image data\n"), 100_000), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, disk).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img convert: %v: %s", err, out)
	}
	return disk
}

// glanceCLIJSON runs the CLI as user with -f json and decodes its answer into out.
func glanceCLIJSON(t *testing.T, s *site, out any, user string, args ...string) {
	t.Helper()
	stdout := s.cli(user, append(args, "-f", "json")...)
	if err := json.Unmarshal([]byte(stdout), out); err != nil {
		t.Fatalf("openstack %s: %v in %q", strings.Join(args, " "), err, stdout)
	}
}

// glanceNative reads an image through /api/v1 as the client's user.
func glanceNative(t *testing.T, api *client.Client, idOrName string) images.Image {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var img images.Image
	if err := api.Do(ctx, "GET", "/api/v1/images/"+idOrName, nil, &img); err != nil {
		t.Fatalf("GET /api/v1/images/%s: %v", idOrName, err)
	}
	return img
}

func glanceListHas(list []struct{ ID, Name string }, id, name string) bool {
	for _, i := range list {
		if i.ID == id && i.Name == name {
			return true
		}
	}
	return false
}
