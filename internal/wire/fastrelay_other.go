//go:build !linux

package wire

import "errors"

// The fast relay needs epoll; elsewhere every session uses the goroutine relay.

type fastLoops struct{}

func (fastLoops) serving(int) {}

var errNoFastRelay = errors.New("fast relay unavailable")

func (s *session) fastRelayable() bool { return false }

func (s *session) fastRelay() error { return errNoFastRelay }
