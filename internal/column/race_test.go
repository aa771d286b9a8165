//go:build race

package column

const raceEnabled = true
