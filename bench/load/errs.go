package load

import (
	"sync"
	"sync/atomic"
)

// errorLog counts errors and keeps the first few distinct messages.
type errorLog struct {
	n    atomic.Int64
	mu   sync.Mutex // guards msgs
	msgs []string
}

const maxErrMsgs = 5

func (e *errorLog) add(err error, count int64) {
	e.n.Add(count)
	msg := err.Error()
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.msgs) >= maxErrMsgs {
		return
	}
	for _, m := range e.msgs {
		if m == msg {
			return
		}
	}
	e.msgs = append(e.msgs, msg)
}

func (e *errorLog) list() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.msgs...)
}
