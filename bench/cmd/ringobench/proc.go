package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// pinned returns the command that runs name pinned to cpus (when pinning is
// on), with GOMAXPROCS matching the set, its output to log.
func (o options) pinned(ctx context.Context, cpus string, log *os.File, name string, args ...string) *exec.Cmd {
	var cmd *exec.Cmd
	if o.pin {
		cmd = exec.CommandContext(ctx, o.taskset, append([]string{"-c", cpus, name}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, name, args...)
	}
	cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(cpuCount(cpus)))
	if log != nil {
		cmd.Stdout, cmd.Stderr = log, log
	}
	cmd.WaitDelay = 2 * time.Second
	return cmd
}

// running is a started server process.
type running struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has been reaped
	err    error         // Wait's error, valid after exited
}

func start(cmd *exec.Cmd) (*running, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	r := &running{cmd: cmd, exited: make(chan struct{})}
	go func() { r.err = cmd.Wait(); close(r.exited) }()
	return r, nil
}

func (r *running) pid() int { return r.cmd.Process.Pid }

// stop sends SIGTERM, then SIGKILL after two seconds, and waits.
func (r *running) stop() {
	select {
	case <-r.exited:
		return
	default:
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(2 * time.Second):
		r.cmd.Process.Kill()
		<-r.exited
	}
}

// waitPort dials addr until it accepts, the process exits, or 10s pass.
func (r *running) waitPort(addr string) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-r.exited:
			return fmt.Errorf("server exited before listening: %v", r.err)
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return errors.New("server did not accept on " + addr + " within 10s")
}

// freeAddr returns a loopback address with a port nothing listens on now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// tail returns the last n bytes of a file, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(bytes.TrimSpace(b))
}
