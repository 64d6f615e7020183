//go:build !unix

package main

// lingerZero does nothing where the reactor does not run (it reports
// ErrBackendUnavailable there).
func lingerZero(fd int) {}
