//go:build !linux

package load

import "time"

// pacer falls back to time.Sleep where there is no timerfd.
type pacer struct{}

func newPacer() *pacer { return nil }

func (p *pacer) sleep(d time.Duration) { time.Sleep(d) }

func (p *pacer) close() {}
