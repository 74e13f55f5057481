package images

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports enforces DESIGN.md for this package: from the project it imports only store,
// appliance/fault and the shared address guard (internal/netguard) (never web, never echo), its tests also the shared test support (internal/testkit),
// and only doc.go carries the package comment.
func TestImports(t *testing.T) {
	allowed := map[string]bool{"cloudlet/store": true, "cloudlet/appliance/fault": true, "cloudlet/internal/netguard": true}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if path == "cloudlet/internal/testkit" && strings.HasSuffix(name, "_test.go") {
				continue
			}
			if strings.HasPrefix(path, "cloudlet/") && !allowed[path] || strings.Contains(path, "labstack/echo") {
				t.Errorf("%s imports %s: images may import only store, appliance/fault and internal/netguard from the project", name, path)
			}
		}
		if name != "doc.go" && f.Doc != nil {
			t.Errorf("%s has a package comment; it belongs in doc.go", name)
		}
		if name == "doc.go" && (f.Doc == nil || !strings.Contains(f.Doc.Text(), "never web, never echo")) {
			t.Errorf("doc.go's package comment must say what images must not import")
		}
	}
}
