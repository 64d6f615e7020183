package main

import (
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ringo-io/ringo/bench/proc"
	"github.com/ringo-io/ringo/bench/report"
)

// pinSelf pins every thread of this process to cpu (threads created later
// inherit it) and returns a func that restores the previous set.
func pinSelf(t *testing.T, cpu int) func() {
	t.Helper()
	var old, set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		t.Skip(err)
	}
	set.Set(cpu)
	tids, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Skip(err)
	}
	for _, e := range tids {
		tid, _ := strconv.Atoi(e.Name())
		unix.SchedSetaffinity(tid, &set)
	}
	return func() {
		tids, _ := os.ReadDir("/proc/self/task")
		for _, e := range tids {
			tid, _ := strconv.Atoi(e.Name())
			unix.SchedSetaffinity(tid, &old)
		}
	}
}

// The ⚑ flag (Round.OtherServer) is busy time of the server's CPUs from
// /proc/stat minus the server's own utime+stime. On a kernel without
// CONFIG_IRQ_TIME_ACCOUNTING (this machine's), the softirq work a network
// server does in its own context (on loopback: the receive side of every
// segment it sends) is in its utime+stime but filed under softirq in
// /proc/stat, which Busy leaves out: the server's own softirq share hides
// as much work of other processes. Here the "server" is this process
// (loopback ping-pong) and a shell loop spins on the same CPU: the flag must
// show at least what the spinner took.
func TestReview21OtherWorkNotHiddenBySoftirq(t *testing.T) {
	if !kernelConfigReadable() {
		t.Skip("neither /proc/config.gz nor /boot/config-RELEASE is readable: whether the kernel counts irq time in task times (CONFIG_IRQ_TIME_ACCOUNTING) is unknown")
	}
	if n := runtimeCPUs(); n < 2 {
		t.Skip("needs 2 CPUs")
	}
	const cpu = 1
	defer pinSelf(t, cpu)()

	spin := exec.Command("sh", "-c", "while :; do :; done") // inherits the pinning
	if err := spin.Start(); err != nil {
		t.Skip(err)
	}
	defer func() { spin.Process.Kill(); spin.Wait() }()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		b := make([]byte, 4096)
		for {
			n, err := c.Read(b)
			if err != nil {
				return
			}
			if _, err := c.Write(b[:n]); err != nil {
				return
			}
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	time.Sleep(100 * time.Millisecond) // let the spinner settle
	s0 := sampleCPU(os.Getpid())
	p0, err := proc.ReadStat(spin.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	out, in := make([]byte, 64), make([]byte, 64)
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write(out); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, in); err != nil {
			t.Fatal(err)
		}
	}
	s1 := sampleCPU(os.Getpid())
	p1, err := proc.ReadStat(spin.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if s0.cpus == nil || s1.cpus == nil {
		t.Skip("no /proc/stat")
	}
	o := options{serverCPUs: strconv.Itoa(cpu), loadCPUs: "0", pin: true}
	rd := report.Round{Requests: 1}
	if err := o.figures(&rd, s0, s1); err != nil {
		t.Fatal(err)
	}
	wall := s1.at.Sub(s0.at).Seconds()
	spinShare := (p1.CPU() - p0.CPU()).Seconds() / wall
	irq := (s1.cpus[cpu].IRQ - s0.cpus[cpu].IRQ).Seconds() / wall
	t.Logf("server util %.2f, spinner %.2f, softirq on the CPU %.2f, reported other work %.2f", rd.ServerUtil, spinShare, irq, rd.OtherServer)
	if rd.OtherServer < spinShare-0.05 {
		t.Errorf("another process took %.0f%% of the server's CPU; the round reports %.0f%% other work", 100*spinShare, 100*rd.OtherServer)
	}
}

func runtimeCPUs() int {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return 0
	}
	return set.Count()
}

// kernelConfigReadable reports whether proc.IRQInTasks can read the kernel's build configuration.
func kernelConfigReadable() bool {
	if _, err := os.Stat("/proc/config.gz"); err == nil {
		return true
	}
	rel, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return false
	}
	_, err = os.Stat("/boot/config-" + strings.TrimSpace(string(rel)))
	return err == nil
}
