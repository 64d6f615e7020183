//go:build linux

package ring

import (
	"os"
	"sync"
	"testing"
	"time"
)

// Detect is documented safe from any goroutine: concurrent calls agree.
func TestDetectConcurrent(t *testing.T) {
	want, err := detected()
	if err != nil {
		t.Skip(err)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, err := Detect()
			if err != nil || f.Caps != want.Caps || f.SetupFlags != want.SetupFlags {
				errs <- f.String() + " vs " + want.String()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// Detect leaves no fd behind.
func TestDetectNoFdLeak(t *testing.T) {
	count := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Skip(err)
		}
		return len(ents)
	}
	if _, err := Detect(); err != nil {
		t.Skip(err)
	}
	before := count()
	for range 5 {
		Detect()
	}
	time.Sleep(100 * time.Millisecond)
	if after := count(); after != before {
		t.Fatalf("fds %d -> %d after 5 Detect calls", before, after)
	}
}
