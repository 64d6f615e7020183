//go:build race

package httpx

// soakRace: the race detector is on. Its shadow memory grows with the heap
// and is not given back like the heap is, so the soak tests log RSS but
// assert it only without -race.
const soakRace = true
