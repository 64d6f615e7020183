package httpx

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/ringo-io/ringo/reactor"
)

type ctxKey struct{}

func TestReqCtx(t *testing.T) {
	parent := context.WithValue(context.Background(), ctxKey{}, "v")
	var c reqCtx
	c.init(parent)
	if c.Value(ctxKey{}) != "v" {
		t.Fatal("values do not come from the parent")
	}
	if _, ok := c.Deadline(); ok {
		t.Fatal("a deadline without one in the parent")
	}
	if c.Err() != nil {
		t.Fatal("Err before cancel")
	}
	done := c.Done()
	if c.Done() != done {
		t.Fatal("Done returned two channels")
	}
	select {
	case <-done:
		t.Fatal("done before cancel")
	default:
	}

	// Derived contexts are cancelled through AfterFunc, without a goroutine each.
	before := runtime.NumGoroutine()
	kids := make([]context.Context, 100)
	for i := range kids {
		var cancel context.CancelFunc
		kids[i], cancel = context.WithTimeout(&c, time.Hour)
		defer cancel()
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("derived contexts started %d goroutines", n-before)
	}
	ran := make(chan struct{})
	context.AfterFunc(&c, func() { close(ran) })
	stopped := make(chan struct{})
	stop := context.AfterFunc(&c, func() { close(stopped) })
	if !stop() {
		t.Fatal("stop before cancel reported false")
	}

	c.cancel(nil)
	c.cancel(errors.New("second cancel is ignored"))
	<-done
	if !errors.Is(c.Err(), context.Canceled) {
		t.Fatalf("Err = %v", c.Err())
	}
	for _, k := range kids {
		waitCanceled(t, k, "derived context")
	}
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("AfterFunc did not run")
	}
	select {
	case <-stopped:
		t.Fatal("a stopped AfterFunc ran")
	case <-time.After(20 * time.Millisecond):
	}
	if stop() {
		t.Fatal("stop after cancel reported true")
	}

	// After cancellation: Done of a fresh context is closed at once, AfterFunc runs at once.
	var d reqCtx
	d.init(context.Background())
	d.cancel(nil)
	<-d.Done()
	late := make(chan struct{})
	context.AfterFunc(&d, func() { close(late) })
	<-late
}

// A cancellable base context (Server BaseContext) cancels the request's context.
func TestReqCtxParentCancel(t *testing.T) {
	parent, cancel := context.WithCancelCause(context.Background())
	var c reqCtx
	c.init(parent)
	cause := errors.New("server stopping")
	cancel(cause)
	waitCanceled(t, &c, "request context after its parent's cancellation")
}

// waitCanceled waits (bounded) for ctx to be done and checks that it reports Canceled.
func waitCanceled(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatalf("%s not cancelled", what)
	}
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Fatalf("%s: Err = %v", what, ctx.Err())
	}
}

// Over a real connection: the handler's Context is cancelled after the handler returns, and a
// context derived from it inside the handler follows.
func TestFromHTTPContextCancelledAfterReturn(t *testing.T) {
	kids := make(chan context.Context, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k, cancel := context.WithTimeout(r.Context(), time.Hour)
		t.Cleanup(cancel) // the test checks that the request's end cancels k first
		kids <- k
		w.Write([]byte("ok"))
	})
	forEachBackend(t, func(t *testing.T, b reactor.Backend) {
		{
			addr := startServer(t, b, &Server{Handler: FromHTTP(h)})
			resp, err := newClient(t).Get("http://" + addr + "/")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			k := <-kids
			select {
			case <-k.Done():
			case <-time.After(5 * time.Second):
				t.Fatal("context not cancelled after the handler returned")
			}
		}
	})
}
