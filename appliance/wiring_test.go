package appliance_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// serviceFields are the Appliance fields holding the services, by the package each belongs to.
var serviceFields = map[string]string{
	"compute": "compute", "network": "network", "volumes": "volume", "images": "images", "identity": "identity",
}

// mayUse is the one-way service graph: what each service may be handed (a function, an adapter or
// the service itself) when appliance wires it. Nothing is handed a service above it.
var mayUse = map[string][]string{
	"compute":  {"volume", "network", "images", "identity"},
	"volume":   {"images", "identity"},
	"network":  {"identity"},
	"images":   {"identity"},
	"identity": {},
}

// TestServicesAreWiredOneWay reads appliance's wiring (its own source, not a test double): every
// service's Options literal, and every call that hands a service something after it is built
// (a late binding such as a.network.OnLease(a.compute.X)), may reach only the services below it in
// mayUse, directly (a.volumes), through an adapter literal (computeVolumes{a.volumes}) or through an
// Appliance method whose body reaches them (a.imageFile → a.images).
func TestServicesAreWiredOneWay(t *testing.T) {
	w := parseWiring(t, ".")
	if len(w.options) < len(mayUse) {
		t.Fatalf("found the Options literals of %v only: the wiring moved, update this test", w.optionNames())
	}
	for svc, exprs := range w.options {
		for _, e := range exprs {
			w.checkUses(t, svc, "its Options", e)
		}
	}
	for _, call := range w.lateBindings {
		for _, arg := range call.args {
			w.checkUses(t, call.svc, "a call after it is built", arg)
		}
	}
}

type lateBinding struct {
	svc  string
	args []ast.Expr
}

type wiring struct {
	methods      map[string]*ast.FuncDecl // Appliance's methods by name
	options      map[string][]ast.Expr    // service package → the values of its Options fields
	lateBindings []lateBinding
}

func parseWiring(t *testing.T, dir string) *wiring {
	t.Helper()
	w := &wiring{methods: map[string]*ast.FuncDecl{}, options: map[string][]ast.Expr{}}
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		w.collect(f)
	}
	return w
}

// collect notes Appliance's methods, the services' Options literals and calls on built services.
func (w *wiring) collect(f *ast.File) {
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv != nil && receiverIs(fd, "Appliance") {
			w.methods[fd.Name.Name] = fd
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CompositeLit:
			if sel, ok := n.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "Options" {
				if pkg, ok := sel.X.(*ast.Ident); ok && mayUse[pkg.Name] != nil {
					for _, el := range n.Elts {
						if kv, ok := el.(*ast.KeyValueExpr); ok {
							w.options[pkg.Name] = append(w.options[pkg.Name], kv.Value)
						}
					}
				}
			}
		case *ast.CallExpr:
			if sel, ok := n.Fun.(*ast.SelectorExpr); ok {
				if svc := serviceOfExpr(sel.X); svc != "" && len(n.Args) > 0 {
					w.lateBindings = append(w.lateBindings, lateBinding{svc, n.Args})
				}
			}
		}
		return true
	})
}

// checkUses fails when e reaches a service svc may not use.
func (w *wiring) checkUses(t *testing.T, svc, where string, e ast.Expr) {
	t.Helper()
	for _, used := range w.reaches(e, map[string]bool{}) {
		if used == "*" {
			t.Errorf("%s is handed the whole Appliance in %s: hand it the one service it may use", svc, where)
		} else if !slices.Contains(mayUse[svc], used) {
			t.Errorf("%s is handed something that reaches %s in %s: the graph must stay one-way (%s may use %v)",
				svc, used, where, svc, mayUse[svc])
		}
	}
}

// reaches lists the services an expression reaches: a.<service>, a.<method> whose body reaches
// one, or "*" for the bare receiver a.
func (w *wiring) reaches(e ast.Node, seen map[string]bool) []string {
	found := map[string]bool{}
	ast.Inspect(e, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			if svc := serviceOfExpr(n); svc != "" {
				found[svc] = true
				return false
			}
			if isReceiver(n.X) {
				if m, ok := w.methods[n.Sel.Name]; ok && !seen[n.Sel.Name] {
					seen[n.Sel.Name] = true
					for _, s := range w.reaches(m.Body, seen) {
						found[s] = true
					}
				}
				return false
			}
		case *ast.Ident:
			if n.Name == "a" {
				found["*"] = true
			}
		}
		return true
	})
	out := make([]string, 0, len(found))
	for s := range found {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// serviceOfExpr is the service package of a.<field> when field holds a service.
func serviceOfExpr(e ast.Expr) string {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok || !isReceiver(sel.X) {
		return ""
	}
	return serviceFields[sel.Sel.Name]
}

func isReceiver(e ast.Expr) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == "a"
}

func receiverIs(fd *ast.FuncDecl, typ string) bool {
	r := fd.Recv.List[0].Type
	if star, ok := r.(*ast.StarExpr); ok {
		r = star.X
	}
	id, ok := r.(*ast.Ident)
	return ok && id.Name == typ
}

func (w *wiring) optionNames() []string {
	var out []string
	for k := range w.options {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
