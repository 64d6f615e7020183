package proc

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

func TestParseStatTrickyComm(t *testing.T) {
	// A comm with spaces and a ')' inside, as a process may name itself.
	line := "4242 (my) (weird proc) S 1 4242 4242 0 -1 4194560 100 0 0 0 " +
		"250 37 0 0 20 0 3 0 12345 10000000 1234 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
	s, err := ParseStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if s.PID != 4242 || s.Comm != "my) (weird proc" || s.State != 'S' {
		t.Fatalf("%+v", s)
	}
	if s.UTime != 2500*time.Millisecond || s.STime != 370*time.Millisecond || s.CPU() != 2870*time.Millisecond || s.RSS != 1234 {
		t.Fatalf("%+v", s)
	}
}

func TestParseStatErrors(t *testing.T) {
	for _, bad := range []string{
		"",
		"12 no parens S 1",
		"x (a) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22",
		"12 (a) S 1 2",
		"12 (a) S 1 2 3 4 5 6 7 8 9 10 x 12 13 14 15 16 17 18 19 20 21 22",
	} {
		if _, err := ParseStat([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestParseStatus(t *testing.T) {
	m, err := ParseStatus([]byte("Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t    1024 kB\nThreads:\t3\n"))
	if err != nil || m.RSS != 1<<20 || m.HWM != 2<<20 {
		t.Fatalf("%+v %v", m, err)
	}
	if _, err := ParseStatus([]byte("Name:\tkthreadd\n")); err == nil {
		t.Error("no VmRSS: no error")
	}
	if _, err := ParseStatus([]byte("VmRSS:\t12 MB\n")); err == nil {
		t.Error("bad unit: no error")
	}
}

// TestReadStatOfBusyChild spins a child on the CPU and checks that its
// utime+stime grows and that its resident memory is read.
func TestReadStatOfBusyChild(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	cmd := exec.Command(sh, "-c", "i=0; while [ $i -lt 100000000 ]; do i=$((i+1)); done")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	before, err := ReadStat(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	var after Stat
	for i := 0; i < 200; i++ { // up to 4s of wall time for 3 ticks of CPU
		time.Sleep(20 * time.Millisecond)
		if after, err = ReadStat(cmd.Process.Pid); err != nil {
			t.Fatal(err)
		}
		if after.CPU() >= before.CPU()+3*ClockTick {
			break
		}
	}
	if after.CPU() < before.CPU()+3*ClockTick || after.Comm != "sh" {
		t.Fatalf("busy child: before %+v after %+v", before, after)
	}
	m, err := ReadMem(cmd.Process.Pid)
	if err != nil || m.RSS <= 0 || m.HWM < m.RSS {
		t.Fatalf("%+v %v", m, err)
	}
	self, err := ReadStat(os.Getpid())
	if err != nil || self.PID != os.Getpid() {
		t.Fatalf("%+v %v", self, err)
	}
}

func TestParseCPUStat(t *testing.T) {
	stat := "cpu  10 0 10 100 0 0 0 0 0 0\ncpu0 1 2 3 40 5 6 7 8 0 0\ncpu1 10 0 20 300 0 0 1 0 0 0\nintr 1 2 3\nctxt 99\n"
	m, err := ParseCPUStat([]byte(stat))
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 2 || m[0].Task != 60*time.Millisecond || m[0].Idle != 450*time.Millisecond || m[0].IRQ != 130*time.Millisecond || m[0].Steal != 80*time.Millisecond {
		t.Fatalf("%+v", m)
	}
	after := map[int]CPUTime{0: {Task: m[0].Task + time.Second, Steal: m[0].Steal + time.Second}, 1: m[1]}
	if got := Busy(m, after, []int{0, 1}); got != 2*time.Second {
		t.Fatalf("busy %v", got)
	}
	for _, bad := range []string{"", "cpu0 1 2\n", "cpu0 1 2 3 x 5 6 7 8\n", "cpux 1 2 3 4 5 6 7 8\n"} {
		if _, err := ParseCPUStat([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	if live, err := ReadCPUStat(); err != nil || len(live) == 0 {
		t.Fatalf("%v %v", live, err)
	}
}
