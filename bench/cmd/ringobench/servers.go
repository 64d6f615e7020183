package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/ringo-io/ringo/bench/report"
)

// server is a server under test: which package to build and how to start it.
type server struct {
	report.Server
	pkg  string   // package to build
	bin  string   // binary name under bin/
	args []string // flags besides -addr

	checked bool // its HTTP response has been checked (Check holds the result)
}

// servers lists every server the bench knows, peers first. ringo's own are
// built from the root module through the replace directive; while they do
// not build, they are skipped with the reason.
func servers() []*server {
	const root = "github.com/ringo-io/ringo/"
	mk := func(key, name string, ringo bool, pkg, bin string, args ...string) *server {
		return &server{Server: report.Server{Key: key, Name: name, Ringo: ringo}, pkg: pkg, bin: bin, args: args}
	}
	return []*server{
		mk("nethttp", "net/http", false, "./servers/nethttp", "nethttp"),
		mk("fasthttp", "fasthttp", false, "./servers/fasthttp", "fasthttp"),
		mk("gnet", "gnet", false, "./servers/gnet", "gnet"),
		mk("ringo-uring", "ringo (io_uring)", true, root+"examples/hello", "ringo-hello", "-backend", "uring"),
		mk("ringo-epoll", "ringo (epoll)", true, root+"examples/hello", "ringo-hello", "-backend", "epoll"),
		mk("ringo-nethttp", "ringo FromHTTP (net/http handler; default backend: parked epoll loops)", true, "./servers/ringonethttp", "ringo-nethttp", "-backend", "auto"),
		mk("netecho", "net (goroutine per connection)", false, "./servers/netecho", "netecho"),
		mk("gnetecho", "gnet echo", false, "./servers/gnetecho", "gnetecho"),
		mk("ringo-echo-uring", "ringo echo (io_uring)", true, root+"examples/echo", "ringo-echo", "-backend", "uring"),
		mk("ringo-echo-epoll", "ringo echo (epoll)", true, root+"examples/echo", "ringo-echo", "-backend", "epoll"),
	}
}

// buildAll builds the load generator and every server binary into binDir,
// two builds at a time. A server that fails to build is marked skipped with
// the compiler's first lines; the load generator failing is fatal.
func buildAll(ctx context.Context, goBin, binDir string, srvs []*server) error {
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return err
	}
	if out, err := goBuild(ctx, goBin, filepath.Join(binDir, "loadgen"), "./cmd/loadgen"); err != nil {
		return fmt.Errorf("building the load generator: %v\n%s", err, out)
	}
	type target struct {
		pkg   string
		users []*server
	}
	byBin := map[string]*target{}
	for _, s := range srvs {
		t, ok := byBin[s.bin]
		if !ok {
			t = &target{pkg: s.pkg}
			byBin[s.bin] = t
		}
		t.users = append(t.users, s)
	}
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	for bin, t := range byBin {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			out, err := goBuild(ctx, goBin, filepath.Join(binDir, bin), t.pkg)
			if err != nil {
				why := "does not build yet: " + buildError(out)
				if strings.TrimSpace(out) == "" {
					why = "does not build yet: " + err.Error()
				}
				for _, s := range t.users {
					s.Skipped = why
				}
			}
		}()
	}
	wg.Wait()
	return nil
}

func goBuild(ctx context.Context, goBin, out, pkg string) (string, error) {
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", out, pkg)
	b, err := cmd.CombinedOutput()
	return string(b), err
}

// firstLines returns up to n non-empty lines of s, joined by " / ".
func firstLines(s string, n int) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			keep = append(keep, l)
			if len(keep) == n {
				break
			}
		}
	}
	return strings.Join(keep, " / ")
}

// buildError condenses go build's output to its first two error lines,
// without the "# package" headers and "go get" advice.
func buildError(out string) string {
	var keep []string
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, "go get ") {
			continue
		}
		keep = append(keep, strings.TrimSuffix(l, "; to add it:"))
		if len(keep) == 2 {
			break
		}
	}
	return strings.Join(keep, " / ")
}
