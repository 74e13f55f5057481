package qmp_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports enforces DESIGN.md: qmp and qmptest import nothing from the project (their tests may
// use qmp and qmptest), and each documents itself in doc.go only.
func TestImports(t *testing.T) {
	for _, dir := range []string{".", "qmptest"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Fatalf("no Go files in %s", dir)
		}
		for _, name := range files {
			checkImports(t, name)
		}
	}
}

func checkImports(t *testing.T, name string) {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly|parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	isTest := strings.HasSuffix(name, "_test.go")
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		own := path == "cloudlet/appliance/qemu/qmp" || path == "cloudlet/appliance/qemu/qmp/qmptest"
		if (path == "cloudlet" || strings.HasPrefix(path, "cloudlet/")) && !(isTest && own) {
			t.Errorf("%s imports %s: it must not import anything from the project", name, path)
		}
		if path == "github.com/digitalocean/go-qemu" || strings.HasPrefix(path, "github.com/digitalocean/go-qemu/") {
			t.Errorf("%s imports %s: see doc.go for why qmp does not use go-qemu", name, path)
		}
	}
	isDoc := filepath.Base(name) == "doc.go"
	if !isDoc && f.Doc != nil {
		t.Errorf("%s has a package comment; it belongs in doc.go", name)
	}
	if isDoc && (f.Doc == nil || !strings.Contains(strings.Join(strings.Fields(f.Doc.Text()), " "), "must not import anything from the project")) {
		t.Errorf("%s: the package comment must say the package imports nothing from the project", name)
	}
}
