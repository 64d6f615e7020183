//go:build linux

package ring

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// A fresh module that imports ring builds with a plain `go build`: no cgo,
// no ldflags, offline from the module cache.
func TestFreshModuleBuilds(t *testing.T) {
	gotool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go tool not found: %v", err)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	rootMod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil || !bytes.Contains(rootMod, []byte("module github.com/ringo-io/ringo\n")) {
		t.Fatalf("repository root %s has no ringo go.mod: %v", root, err)
	}
	sysVersion := regexp.MustCompile(`golang\.org/x/sys (v\S+)`).FindSubmatch(rootMod)
	if sysVersion == nil {
		t.Fatal("root go.mod does not require golang.org/x/sys")
	}
	rootSum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatalf("root go.sum: %v", err)
	}

	dir := t.TempDir()
	files := map[string]string{
		"go.mod": "module example.com/fresh\n\ngo 1.24\n\n" +
			"require (\n\tgithub.com/ringo-io/ringo v0.0.0\n\tgolang.org/x/sys " + string(sysVersion[1]) + "\n)\n\n" +
			"replace github.com/ringo-io/ringo => " + root + "\n",
		"go.sum": string(rootSum),
		"main.go": `package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/ringo-io/ringo/ring"
)

func main() {
	r, err := ring.New(ring.Config{Disable: ring.SetupSingleIssuer})
	if errors.Is(err, ring.ErrUnsupported) {
		fmt.Println("unsupported")
		return
	}
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Println("ok", r.SQEntries())
	r.Close()
}
`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "fresh")
	cmd := exec.Command(gotool, "build", "-o", bin, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOPROXY=off", "GOFLAGS=-mod=mod -buildvcs=false", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build of a fresh module: %v\n%s", err, out)
	}
	out, err := exec.Command(bin).CombinedOutput()
	if err != nil {
		t.Fatalf("fresh binary: %v\n%s", err, out)
	}
	// "unsupported" is a valid answer where io_uring is disabled; the point
	// here is that the module builds and runs.
	if got := strings.TrimSpace(string(out)); got != "ok 256" && got != "unsupported" {
		t.Fatalf("fresh binary printed %q, want \"ok 256\"", got)
	}
}
