//go:build linux && !race

package reactor

// soakRace: the race detector is off (see soak_race_test.go).
const soakRace = false
