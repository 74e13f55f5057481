package guest

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kdomanski/iso9660"
)

// readISO reads every file of an image back with kdomanski/iso9660's reader (which follows Rock Ridge
// names), by path.
func readISO(t *testing.T, img []byte) (label string, files map[string]string) {
	t.Helper()
	im, err := iso9660.OpenImage(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	if label, err = im.Label(); err != nil {
		t.Fatal(err)
	}
	root, err := im.RootDir()
	if err != nil {
		t.Fatal(err)
	}
	files = map[string]string{}
	var walk func(dir *iso9660.File, prefix string)
	walk = func(dir *iso9660.File, prefix string) {
		kids, err := dir.GetChildren()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range kids {
			if k.IsDir() {
				walk(k, prefix+k.Name()+"/")
				continue
			}
			b, err := io.ReadAll(k.Reader())
			if err != nil {
				t.Fatal(err)
			}
			files[prefix+k.Name()] = string(b)
		}
	}
	walk(root, "")
	return label, files
}

func seedFilesAsStrings(t *testing.T, kind string, inst Instance) (string, map[string]string) {
	t.Helper()
	label, files, err := SeedFiles(kind, inst)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for p, b := range files {
		want[p] = string(b)
	}
	return label, want
}

func TestNoCloudSeedHoldsTheFourFilesUnderTheirOwnNamesLabelledCidata(t *testing.T) {
	img, err := buildISOForKind(SeedNoCloud, testInstance())
	if err != nil {
		t.Fatal(err)
	}
	label, got := readISO(t, img)
	wantLabel, want := seedFilesAsStrings(t, SeedNoCloud, testInstance())
	if label != "cidata" || wantLabel != "cidata" {
		t.Errorf("label %q; want cidata", label)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	for _, name := range []string{"meta-data", "user-data", "vendor-data", "network-config"} {
		if _, ok := got[name]; !ok {
			t.Errorf("no %s on the seed", name)
		}
	}
}

func TestConfigDriveHoldsLatestAndADatedVersionLabelledConfig2(t *testing.T) {
	img, err := buildISOForKind(SeedConfigDrive, testInstance())
	if err != nil {
		t.Fatal(err)
	}
	label, got := readISO(t, img)
	_, want := seedFilesAsStrings(t, SeedConfigDrive, testInstance())
	if label != "config-2" {
		t.Errorf("label %q; want config-2", label)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	for _, p := range []string{"openstack/latest/meta_data.json", "openstack/latest/user_data",
		"openstack/latest/network_data.json", "openstack/latest/vendor_data.json", "openstack/latest/vendor_data2.json",
		"openstack/2018-08-27/meta_data.json"} {
		if _, ok := got[p]; !ok {
			t.Errorf("no %s on the config drive", p)
		}
	}
}

func TestAnEmptyUserDataIsStillAFileOnTheNoCloudSeed(t *testing.T) {
	inst := testInstance()
	inst.UserData = nil
	img, err := buildISOForKind(SeedNoCloud, inst)
	if err != nil {
		t.Fatal(err)
	}
	// cloud-init's NoCloud requires user-data and meta-data to exist.
	if _, got := readISO(t, img); got["user-data"] != "" || len(got) != 4 {
		t.Errorf("files %v; want four with an empty user-data", got)
	}
}

// isoinfo (genisoimage, written elsewhere) lists the image with its Rock Ridge names and extracts each
// file, and blkid reads the label: the names keep their hyphens and the contents are whole, as cloud-init
// in a guest sees them. (A loop mount is not possible in this sandbox's kernel; the e2e test's guest
// mounts the seed with its own isofs.)
func TestAReaderWrittenElsewhereSeesTheSeedsExactNamesAndLabel(t *testing.T) {
	for _, kind := range []string{SeedNoCloud, SeedConfigDrive} {
		t.Run(kind, func(t *testing.T) {
			iso := filepath.Join(t.TempDir(), "seed.iso")
			if err := WriteSeed(iso, kind, testInstance(), -1, -1); err != nil {
				t.Fatal(err)
			}
			label, files := seedFilesAsStrings(t, kind, testInstance())
			var want []string
			for p := range files {
				want = append(want, "/"+p)
			}
			paths := strings.Fields(run(t, "isoinfo", "-R", "-f", "-i", iso))
			var got []string
			for _, p := range paths {
				if _, ok := files[strings.TrimPrefix(p, "/")]; ok || !strings.HasPrefix(p, "/openstack") {
					got = append(got, p)
				}
			}
			if diff := cmp.Diff(sortStrings(want), sortStrings(got)); diff != "" {
				t.Errorf("isoinfo -R -f (-want +got):\n%s", diff)
			}
			for p, body := range files {
				if got := run(t, "isoinfo", "-R", "-i", iso, "-x", "/"+p); got != body {
					t.Errorf("%s reads %q; want %q", p, got, body)
				}
			}
			if got := strings.TrimSpace(run(t, "blkid", "-o", "value", "-s", "LABEL", iso)); got != label {
				t.Errorf("blkid label %q; want %q", got, label)
			}
		})
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		t.Fatalf("%s %v: %v (install it with packaging/deps.sh test)", name, args, err)
	}
	return string(out)
}

func TestWriteSeedLeavesOnlyTheSeedMode0600OwnedAsAsked(t *testing.T) {
	dir := t.TempDir()
	iso := filepath.Join(dir, "seed.iso")
	if err := os.WriteFile(iso, []byte("an older seed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteSeed(iso, SeedNoCloud, testInstance(), 4242, 4343); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(iso)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if fi.Mode().Perm() != 0o600 || st.Uid != 4242 || st.Gid != 4343 {
		t.Errorf("seed mode %v owner %d:%d; want 0600 4242:4343", fi.Mode().Perm(), st.Uid, st.Gid)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the state dir holds %d files; want only the seed", len(entries))
	}
	if err := WriteSeed(iso, "floppy", testInstance(), -1, -1); err == nil {
		t.Error("an unknown seed kind was written")
	}
}

// A directory whose records fill more than one sector keeps every entry (no record crosses a sector),
// and names that share their ISO 9660 form get distinct ones, their Rock Ridge names intact. Read back with
// isoinfo: kdomanski's reader loses Rock Ridge names in such a directory.
func TestADirectoryLargerThanASectorKeepsEveryFile(t *testing.T) {
	files := map[string][]byte{}
	var want []string
	for i := range 120 {
		p := fmt.Sprintf("dir/file-with-a-long-name-%03d", i)
		files[p], want = []byte(fmt.Sprint(i)), append(want, "/"+p)
	}
	img, err := buildISO("many", files, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	iso := filepath.Join(t.TempDir(), "many.iso")
	if err := os.WriteFile(iso, img, 0o600); err != nil {
		t.Fatal(err)
	}
	got := strings.Fields(run(t, "isoinfo", "-R", "-f", "-i", iso))
	if diff := cmp.Diff(sortStrings(append(want, "/dir")), sortStrings(got)); diff != "" {
		t.Errorf("isoinfo -R -f (-want +got):\n%s", diff)
	}
	if got := run(t, "isoinfo", "-R", "-i", iso, "-x", "/dir/file-with-a-long-name-117"); got != "117" {
		t.Errorf("file 117 reads %q", got)
	}
}
