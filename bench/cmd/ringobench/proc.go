package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
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

// freeAddr returns a loopback address with a port nothing is bound to now,
// below the kernel's ephemeral range. A port the kernel picked for bind(0)
// lies inside that range, and between the check and the server's bind any
// connect(2) on the machine could take it as its source port (a full run
// lost a round to "bind: address already in use"); connect never picks a
// port outside the range.
func freeAddr() (string, error) {
	lo := ephemeralLow()
	for i := 0; i < 64; i++ {
		port := 10000 + rand.IntN(max(lo-10000, 1))
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		ln.Close()
		return addr, nil
	}
	return "", errors.New("no free loopback port below the ephemeral range")
}

// ephemeralLow is the low end of the kernel's ephemeral port range (32768
// by default), never below 10001.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 32768
	}
	lo, err := strconv.Atoi(f[0])
	if err != nil || lo <= 10000 {
		return 32768
	}
	return lo
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
