package appliance_test

import (
	"bytes"
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

type goPackage struct {
	ImportPath string
	Doc        string
	Imports    []string // direct
	Deps       []string // transitive
}

// listPackages runs `go list -json ./...` over the whole module.
func listPackages(t *testing.T) []goPackage {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", "cloudlet/...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	var pkgs []goPackage
	for {
		var p goPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 5 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

func hasPrefixAny(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if s == p || strings.HasPrefix(s, p+"/") {
			return true
		}
	}
	return false
}

// TestDependencyRules enforces the import rules of DESIGN.md.
func TestDependencyRules(t *testing.T) {
	const (
		bbolt = "go.etcd.io/bbolt"
		echo  = "github.com/labstack/echo/v4"
	)
	for _, p := range listPackages(t) {
		path := p.ImportPath
		for _, imp := range p.Imports {
			if hasPrefixAny(path, "cloudlet/store", "cloudlet/appliance/qemu/qmp", "cloudlet/appliance/qemu/qga", "cloudlet/internal/netguard") && strings.HasPrefix(imp, "cloudlet/") {
				t.Errorf("%s imports %s: it must import nothing from the project", path, imp)
			}
			if imp == bbolt && path != "cloudlet/store" {
				t.Errorf("%s imports bbolt: only cloudlet/store may", path)
			}
			if hasPrefixAny(imp, echo) && !hasPrefixAny(path, "cloudlet/web") {
				t.Errorf("%s imports echo: only cloudlet/web may", path)
			}
			if hasPrefixAny(path, "cloudlet/web") && hasPrefixAny(imp, "cloudlet/store", "cloudlet/appliance/qemu", bbolt) {
				t.Errorf("%s imports %s: web calls services, never the catalog or QEMU", path, imp)
			}
		}
		isService := hasPrefixAny(path, "cloudlet/appliance", "cloudlet/images", "cloudlet/store") &&
			path != "cloudlet/appliance" && !hasPrefixAny(path, "cloudlet/appliance/e2e")
		for _, dep := range p.Deps {
			if isService && hasPrefixAny(dep, echo, "cloudlet/web") {
				t.Errorf("%s depends on %s: services never import the web layer", path, dep)
			}
		}
		if hasPrefixAny(path, "cloudlet/web/client") {
			for _, dep := range p.Deps {
				if strings.HasPrefix(dep, "cloudlet/") {
					t.Errorf("%s depends on %s: the API client stands alone", path, dep)
				}
			}
		}
	}
}

// services are the packages that own a part of the cloud. None imports another (its own subpackages
// are its internals): a call between two services goes through a small interface the caller
// declares, wired in appliance, and only downwards (web → compute → volume, network, images;
// volume → images; identity beside them all).
var services = []string{
	"cloudlet/appliance/compute",
	"cloudlet/appliance/network",
	"cloudlet/appliance/volume",
	"cloudlet/appliance/identity",
	"cloudlet/appliance/guest",
	"cloudlet/appliance/webhook",
	"cloudlet/appliance/metering",
	"cloudlet/images",
}

// serviceOf names the service a package belongs to, or "".
func serviceOf(path string) string {
	for _, s := range services {
		if hasPrefixAny(path, s) {
			return s
		}
	}
	return ""
}

// TestNoServiceImportsAnotherService: a service package (or one of its subpackages) never imports
// another service's packages, directly or through a third package.
func TestNoServiceImportsAnotherService(t *testing.T) {
	for _, p := range listPackages(t) {
		own := serviceOf(p.ImportPath)
		if own == "" || strings.HasSuffix(p.ImportPath, ".test") {
			continue
		}
		for _, dep := range p.Deps {
			if other := serviceOf(dep); other != "" && other != own {
				t.Errorf("%s depends on %s: services never import each other", p.ImportPath, dep)
			}
		}
	}
}

// TestEveryPackageHasADocComment: each package says what it owns and what it must not import.
func TestEveryPackageHasADocComment(t *testing.T) {
	for _, p := range listPackages(t) {
		if strings.TrimSpace(p.Doc) == "" {
			t.Errorf("package %s has no doc comment", p.ImportPath)
		}
	}
}
