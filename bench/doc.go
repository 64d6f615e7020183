// Package bench is ringo's bench suite; see cmd/ringobench.
package bench
