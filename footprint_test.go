package webchatid_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"

	"github.com/webchatid/webchatid/internal/testpeer"
)

// footprintVersion is the version under which the test publishes the
// checkout to its throwaway proxy. A prerelease of v0.0.0 cannot collide
// with a real release, and being the only version listed, it is what
// "@latest" resolves to.
const footprintVersion = "v0.0.0-footprint"

// browserModules are the module path prefixes of browser automation, which
// only this module's end-to-end tests use: no consumer may ever inherit them.
var browserModules = []string{"github.com/chromedp/", "github.com/gobwas/"}

// TestConsumerGoSumFootprint checks what a consumer of this module finds in
// its go.sum, the list that people auditing a security library read.
//
// It publishes the checkout, as a module zip built by golang.org/x/mod/zip,
// to a throwaway file:// GOPROXY in the proxy protocol's layout, so that
// consumers resolve it with a real "go get" (no replace directive), then
// tidies fresh consumer modules against it:
//
//   - one importing identity, claims and cookie may list only jwx's family
//     and gofrs/uuid (what a consumer importing the same jwx and uuid
//     packages directly lists), golang.org/x modules and this module: no
//     database driver, whatever identity's own tests import;
//   - one per store package (each package that imports a database driver)
//     gets its driver's family on top;
//   - none of them ever lists browser automation (chromedp and its family).
//
// The families are computed, not hand-listed: a twin consumer imports, at
// this module's versions, exactly the third-party packages that the
// non-test code of the imported packages imports. A module beyond the
// twin's go.sum arrives because of this module (its tests, its examples, a
// requirement nobody needs) and is a failure.
//
// The consumers share a module cache in a temp dir. Modules come from the
// machine's module cache when it has them (a second file:// proxy) and from
// the machine's GOPROXY otherwise; checksums are verified against GOSUMDB as
// for any consumer, except for this module's unpublished version.
func TestConsumerGoSumFootprint(t *testing.T) {
	if testing.Short() {
		t.Skip("tidies several consumer modules; skipped with -short")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		testpeer.Missing(t, "the go command is not on PATH")
	}

	gomod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	mf, err := modfile.ParseLax("go.mod", gomod, nil)
	if err != nil {
		t.Fatal(err)
	}
	self := mf.Module.Mod.Path
	goVersion := mf.Go.Version
	core := []string{self + "/identity", self + "/claims", self + "/cookie"}
	stores := storePackages(t, goTool, self)
	if len(stores) == 0 {
		t.Fatal("found no store package (a package of this module importing a database driver); did go list ./... change?")
	}

	tmp := t.TempDir()
	proxyDir := filepath.Join(tmp, "proxy")
	publish(t, proxyDir, self, gomod)

	parent := goEnv(t, goTool, "GOMODCACHE", "GOPROXY")
	proxies := []string{fileURL(proxyDir)}
	if parent["GOMODCACHE"] != "" {
		proxies = append(proxies, fileURL(filepath.Join(parent["GOMODCACHE"], "cache", "download")))
	}
	if p := parent["GOPROXY"]; p != "" {
		proxies = append(proxies, p)
	}
	env := consumerEnv(map[string]string{
		"GOPROXY":     strings.Join(proxies, ","),
		"GOMODCACHE":  filepath.Join(tmp, "modcache"),
		"GOFLAGS":     "-modcacherw -mod=mod",
		"GONOSUMDB":   self,
		"GONOPROXY":   "",
		"GOPRIVATE":   "",
		"GOWORK":      "off",
		"GOTOOLCHAIN": "local",
	})
	run := func(t *testing.T, dir string, args ...string) string {
		t.Helper()
		cmd := exec.Command(goTool, args...)
		cmd.Dir = dir
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			if proxyUnreachable(out) {
				testpeer.Missing(t, "the Go module proxy or checksum database is unreachable (go %s: %s); this test needs them to resolve jwx and the drivers",
					strings.Join(args, " "), lastLine(out))
			}
			t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
		}
		return string(out)
	}

	// family tidies a twin consumer that imports the third-party frontier
	// of pkgs directly and returns the modules of its go.sum.
	family := func(t *testing.T, name string, pkgs []string) (map[string]bool, []modPkg) {
		t.Helper()
		frontier := thirdPartyFrontier(t, goTool, self, pkgs)
		var req strings.Builder
		seen := map[string]bool{}
		var imports []string
		for _, p := range frontier {
			imports = append(imports, p.ImportPath)
			if !seen[p.Module.Path] {
				seen[p.Module.Path] = true
				fmt.Fprintf(&req, "require %s %s\n", p.Module.Path, p.Module.Version)
			}
		}
		dir := filepath.Join(tmp, name+"-twin")
		writeConsumer(t, dir, "example.com/footprint/"+name+"-twin", goVersion, req.String(), imports)
		run(t, dir, "mod", "tidy")
		return goSumModules(t, dir), frontier
	}

	// consume tidies a consumer importing pkgs, with this module resolved
	// through the proxy, and returns its directory and the modules of its
	// go.sum. It fails the test on browser automation.
	consume := func(t *testing.T, name string, pkgs []string) (string, map[string]bool) {
		t.Helper()
		dir := filepath.Join(tmp, name)
		writeConsumer(t, dir, "example.com/footprint/"+name, goVersion, "", pkgs)
		run(t, dir, "get", self+"@latest")
		run(t, dir, "mod", "tidy")
		got := goSumModules(t, dir)
		if v := strings.TrimSpace(run(t, dir, "list", "-m", "-f", "{{.Version}}{{with .Replace}} replaced by {{.Path}}{{end}}", self)); v != footprintVersion || !got[self] {
			t.Fatalf("consumer %s resolved %s at %q (in go.sum: %v), want %s from the throwaway proxy", name, self, v, got[self], footprintVersion)
		}
		for _, mod := range sortedKeys(got) {
			for _, b := range browserModules {
				if strings.HasPrefix(mod, b) {
					t.Errorf("a consumer importing %s gets browser automation %s in go.sum; go mod why -m:\n%s",
						strings.Join(pkgs, ", "), mod, run(t, dir, "mod", "why", "-m", mod))
				}
			}
		}
		return dir, got
	}

	// beyond lists the modules of got that are not in allowed, this module
	// or golang.org/x.
	beyond := func(got, allowed map[string]bool) []string {
		var extra []string
		for _, mod := range sortedKeys(got) {
			if mod != self && !strings.HasPrefix(mod, "golang.org/x/") && !allowed[mod] {
				extra = append(extra, mod)
			}
		}
		return extra
	}

	t.Run("identity, claims and cookie bring only jwx, uuid and golang.org/x", func(t *testing.T) {
		allowed, frontier := family(t, "core", core)
		for _, p := range frontier {
			if p.Module.Path != "github.com/lestrrat-go/jwx/v2" && p.Module.Path != "github.com/gofrs/uuid/v5" {
				t.Errorf("%s is imported by the non-test code of %s; DESIGN.md allows only jwx and gofrs/uuid there", p.ImportPath, strings.Join(core, ", "))
			}
		}
		dir, got := consume(t, "core", core)
		for _, mod := range beyond(got, allowed) {
			t.Errorf("a consumer importing identity, claims and cookie gets %s in go.sum, outside jwx's family (%s); go mod why -m:\n%s",
				mod, strings.Join(sortedKeys(allowed), " "), run(t, dir, "mod", "why", "-m", mod))
		}
		for _, want := range []string{"github.com/lestrrat-go/jwx/v2", "github.com/gofrs/uuid/v5"} {
			if !got[want] {
				t.Errorf("go.sum of the core consumer does not list %s; the check is vacuous", want)
			}
		}
	})

	// A store's consumer may also get another store's driver through the
	// tests of a package both import (today identity/sqlstore's example
	// opens SQLite, so a PostgreSQL consumer's go.sum lists modernc.org):
	// logged, not failed, since it is still a driver of ours and never a
	// browser. Anything outside every store's family fails.
	families := map[string]map[string]bool{}
	anyStore := map[string]bool{}
	for _, store := range stores {
		name := strings.ReplaceAll(strings.TrimPrefix(store, self+"/"), "/", "-")
		f, _ := family(t, name, []string{store})
		families[store] = f
		for mod := range f {
			anyStore[mod] = true
		}
	}
	for _, store := range stores {
		t.Run(strings.TrimPrefix(store, self+"/")+" brings its driver and never a browser", func(t *testing.T) {
			name := strings.ReplaceAll(strings.TrimPrefix(store, self+"/"), "/", "-")
			frontier := thirdPartyFrontier(t, goTool, self, []string{store})
			dir, got := consume(t, name, []string{store})
			for _, p := range frontier {
				if !got[p.Module.Path] {
					t.Errorf("go.sum of a consumer importing %s does not list %s, the module of %s that it imports", store, p.Module.Path, p.ImportPath)
				}
			}
			var others []string
			for _, mod := range beyond(got, families[store]) {
				if anyStore[mod] {
					others = append(others, mod)
					continue
				}
				t.Errorf("a consumer importing %s gets %s in go.sum, outside its driver's and jwx's family (%s); go mod why -m:\n%s",
					store, mod, strings.Join(sortedKeys(families[store]), " "), run(t, dir, "mod", "why", "-m", mod))
			}
			if len(others) > 0 {
				t.Errorf("a consumer importing %s also gets another store's driver family (%s); go mod why -m %s:\n%s",
					store, strings.Join(others, " "), others[0], run(t, dir, "mod", "why", "-m", others[0]))
			}
		})
	}
}

type modPkg struct {
	ImportPath string
	Name       string
	Standard   bool
	Imports    []string
	Module     *struct{ Path, Version string }
}

// listPackages runs go list -json with args in the checkout.
func listPackages(t *testing.T, goTool string, args ...string) []modPkg {
	t.Helper()
	cmd := exec.Command(goTool, append([]string{"list", "-json"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	var pkgs []modPkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p modPkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			return pkgs
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
}

// storePackages returns the module's importable packages (not internal,
// not examples or commands) whose non-test code imports a database driver
// directly.
func storePackages(t *testing.T, goTool, self string) []string {
	t.Helper()
	var stores []string
	for _, p := range listPackages(t, goTool, "./...") {
		rel := strings.TrimPrefix(p.ImportPath, self)
		if p.Name == "main" || strings.HasPrefix(rel, "/examples/") || strings.HasSuffix(rel, "/internal") || strings.Contains(rel, "/internal/") {
			continue
		}
		if slices.ContainsFunc(p.Imports, isDriver) {
			stores = append(stores, p.ImportPath)
		}
	}
	return stores
}

// isDriver reports whether the import path belongs to a database driver
// module this module's stores use.
func isDriver(imp string) bool {
	return strings.HasPrefix(imp, "modernc.org/sqlite") || strings.HasPrefix(imp, "github.com/jackc/pgx/")
}

// thirdPartyFrontier returns the packages outside this module and the
// standard library that the non-test code of pkgs (and of the module's
// packages they import) imports directly.
func thirdPartyFrontier(t *testing.T, goTool, self string, pkgs []string) []modPkg {
	t.Helper()
	all := listPackages(t, goTool, append([]string{"-deps"}, pkgs...)...)
	byPath := map[string]modPkg{}
	for _, p := range all {
		byPath[p.ImportPath] = p
	}
	seen := map[string]bool{}
	var frontier []modPkg
	for _, p := range all {
		if p.Module == nil || p.Module.Path != self {
			continue
		}
		for _, imp := range p.Imports {
			d, ok := byPath[imp]
			if !ok || d.Standard || d.Module == nil || d.Module.Path == self || seen[imp] {
				continue
			}
			seen[imp] = true
			frontier = append(frontier, d)
		}
	}
	slices.SortFunc(frontier, func(a, b modPkg) int { return strings.Compare(a.ImportPath, b.ImportPath) })
	return frontier
}

// publish writes the checkout as version footprintVersion of module self to
// dir in the GOPROXY protocol's layout.
func publish(t *testing.T, dir, self string, gomod []byte) {
	t.Helper()
	esc, err := module.EscapePath(self)
	if err != nil {
		t.Fatal(err)
	}
	vdir := filepath.Join(dir, filepath.FromSlash(esc), "@v")
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		t.Fatal(err)
	}
	var files []modzip.File
	err = filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// .git is a directory in a clone and a file in a worktree;
		// node_modules is the interop tier's npm install, not source.
		if d.Name() == ".git" || d.Name() == "node_modules" {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		files = append(files, checkoutFile{path: path, info: info})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var zipBuf bytes.Buffer
	if err := modzip.Create(&zipBuf, module.Version{Path: self, Version: footprintVersion}, files); err != nil {
		t.Fatalf("building the module zip: %v", err)
	}
	info := fmt.Sprintf(`{"Version":%q,"Time":"2026-01-01T00:00:00Z"}`, footprintVersion)
	for name, data := range map[string][]byte{
		"list":                     []byte(footprintVersion + "\n"),
		footprintVersion + ".info": []byte(info),
		footprintVersion + ".mod":  gomod,
		footprintVersion + ".zip":  zipBuf.Bytes(),
	} {
		if err := os.WriteFile(filepath.Join(vdir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// checkoutFile is a file of the checkout for golang.org/x/mod/zip.Create,
// which checks it against the module zip rules and skips what does not
// belong in a zip (symbolic links, nested modules).
type checkoutFile struct {
	path string
	info fs.FileInfo
}

func (f checkoutFile) Path() string                 { return filepath.ToSlash(f.path) }
func (f checkoutFile) Lstat() (fs.FileInfo, error)  { return f.info, nil }
func (f checkoutFile) Open() (io.ReadCloser, error) { return os.Open(f.path) }

// writeConsumer writes a consumer module at dir whose main package
// blank-imports imports.
func writeConsumer(t *testing.T, dir, path, goVersion, require string, imports []string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	gomod := fmt.Sprintf("module %s\n\ngo %s\n\n%s", path, goVersion, require)
	var src strings.Builder
	src.WriteString("package main\n\nimport (\n")
	for _, imp := range imports {
		fmt.Fprintf(&src, "\t_ %q\n", imp)
	}
	src.WriteString(")\n\nfunc main() {}\n")
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// goSumModules returns the module paths listed in dir/go.sum.
func goSumModules(t *testing.T, dir string) map[string]bool {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mods := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) == 3 {
			mods[fields[0]] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return mods
}

func goEnv(t *testing.T, goTool string, names ...string) map[string]string {
	t.Helper()
	out, err := exec.Command(goTool, append([]string{"env", "-json"}, names...)...).Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	env := map[string]string{}
	if err := json.Unmarshal(out, &env); err != nil {
		t.Fatal(err)
	}
	return env
}

// consumerEnv is the process environment with the Go settings in set
// replacing the caller's own.
func consumerEnv(set map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if _, ok := set[name]; !ok {
			env = append(env, kv)
		}
	}
	for name, v := range set {
		env = append(env, name+"="+v)
	}
	return env
}

func fileURL(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	return "file://" + filepath.ToSlash(abs)
}

// proxyUnreachable reports whether go command output says that the module
// proxy (or checksum database) could not be reached, as on a machine
// without network, rather than that resolution failed.
func proxyUnreachable(out []byte) bool {
	for _, s := range []string{"dial tcp", "no such host", "connection refused", "network is unreachable", "i/o timeout", "GOPROXY=off", "module lookup disabled", "TLS handshake timeout"} {
		if bytes.Contains(out, []byte(s)) {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func lastLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
