//go:build race

package clients

// raceEnabled: the test binary runs under the race detector, so the proxy is built with it too.
// That reuses the race-built packages go test already compiled (pg_query's cgo build alone takes
// about a minute), and real clients then drive a race-checked proxy.
const raceEnabled = true
