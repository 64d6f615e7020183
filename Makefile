# ringo Makefile. Every target works on a fresh Debian machine with Go installed;
# whatever a target needs beyond Go it installs itself (as root) or the test skips
# with the reason.

GO        ?= go
PKGS      := ./...
FUZZTIME  ?= 30s
ADDR      ?= 127.0.0.1:8080
QUICK     ?=
# giouring (bench peer only) reaches into the runtime with go:linkname.
BENCH_LDFLAGS := -ldflags=-checklinkname=0

.PHONY: all test test-unit test-serial test-bench cross bench run fuzz lint tools soak

all: lint test

## test: vet, unit tests with the race detector on both backends, the serial
## sysctl step, and the bench module's own tests.
test: tools test-unit test-serial test-bench cross

test-unit:
	$(GO) vet $(PKGS)
	$(GO) test -race -count=1 -timeout 25m $(PKGS)

# Tests that flip kernel.io_uring_disabled affect every process on the machine,
# so they run alone, one package at a time, after everything else.
test-serial:
	RINGO_SYSCTL_TESTS=1 $(GO) test -count=1 -p 1 -timeout 10m -run 'IOUringDisabled' ./ring/ ./reactor/ ./httpx/
	# More than 2 GiB queued on one conn: about 2.5 GB of memory, without -race.
	RINGO_HUGE=1 $(GO) test -count=1 -timeout 5m -run 'QueueOver2GiB/(epoll|uring)$$' ./reactor/

test-bench:
	cd bench && $(GO) vet ./... && $(GO) test -count=1 -timeout 15m $(BENCH_LDFLAGS) ./...

# Elsewhere than Linux the packages build (the reactor reports
# ErrBackendUnavailable), so that programs importing ringo build everywhere.
cross:
	GOOS=darwin $(GO) build ./...
	GOOS=windows $(GO) build ./...

## tools: install what tests and benchmarks need (Debian, as root); never fails
## the build when it cannot, the tests that need a tool skip with the reason.
tools:
	@command -v python3 >/dev/null || { [ "$$(id -u)" = 0 ] && (apt-get update -qq && apt-get install -y -qq python3 >/dev/null) || echo "python3 missing: conformance test will skip"; }
	@command -v "$$($(GO) env CC)" >/dev/null || { [ "$$(id -u)" = 0 ] && (apt-get update -qq && apt-get install -y -qq gcc libc6-dev >/dev/null) || echo "no C compiler: go test -race needs cgo"; }
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && (apt-get update -qq && apt-get install -y -qq wrk >/dev/null) || echo "wrk missing: bench uses the built-in load generator"; }

## bench: the whole bench suite (QUICK=1 for a short run); results in bench/results/<date>/.
bench: tools
	cd bench && $(GO) run $(BENCH_LDFLAGS) ./cmd/ringobench $(if $(filter 1 yes true,$(QUICK)),-quick,)

## soak: the reliability suite at full size (20k conns, 5k slowloris, ...), about 5 minutes.
## `make test` runs the same tests at a small size.
soak:
	RINGO_SOAK=1 $(GO) test -count=1 -run Soak -timeout 15m ./reactor/ ./httpx/

## run: the HTTP hello server (the benchmark server).
run:
	$(GO) run ./examples/hello -addr $(ADDR)

## fuzz: every fuzz target for a bounded time each.
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  list=$$($(GO) test -list '^Fuzz' $$pkg) || { echo "fuzz: cannot list the targets of $$pkg"; exit 1; }; \
	  for f in $$(echo "$$list" | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

## lint: formatting, vet, and the project's own rules.
lint: cross
	@out=$$(gofmt -l . ); [ -z "$$out" ] || { echo "gofmt: $$out"; exit 1; }
	$(GO) vet $(PKGS)
	@! grep -rn --include='*.go' -e 'go:linkname' -e 'import "C"' --exclude-dir=bench . || { echo "no cgo or go:linkname in the root module"; exit 1; }
	@bad=$$(grep -rln --include='*.go' '"unsafe"' . | grep -v -e '^./ring/' -e '^./netpoll/' -e '^./bench/' || true); [ -z "$$bad" ] || { echo "unsafe outside ring/ and netpoll/: $$bad"; exit 1; }
