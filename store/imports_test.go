package store

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports enforces DESIGN.md: store imports nothing from the project, and it is the package
// that documents itself in doc.go.
func TestImports(t *testing.T) {
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
			if path == "cloudlet" || strings.HasPrefix(path, "cloudlet/") {
				t.Errorf("%s imports %s: store must not import anything from the project", name, path)
			}
		}
		if name != "doc.go" && f.Doc != nil {
			t.Errorf("%s has a package comment; it belongs in doc.go", name)
		}
		if name == "doc.go" && (f.Doc == nil || !strings.Contains(strings.Join(strings.Fields(f.Doc.Text()), " "), "must not import anything from the project")) {
			t.Errorf("doc.go's package comment must say that store imports nothing from the project")
		}
	}
}
