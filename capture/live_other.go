//go:build !linux

package capture

import (
	"errors"
	"runtime"
)

// errLiveOS is what live capture says on systems without AF_PACKET.
var errLiveOS = errors.New("live: capture needs Linux (AF_PACKET); on " + runtime.GOOS + ", capture with tcpdump and use analyze")

// LiveSource captures packets from network interfaces. It is only
// implemented on Linux.
type LiveSource struct{}

// OpenLive fails: live capture needs Linux.
func OpenLive(opts LiveOptions) (*LiveSource, error) { return nil, errLiveOS }

// Interfaces returns nothing.
func (s *LiveSource) Interfaces() []Interface { return nil }

// Next returns ErrClosed.
func (s *LiveSource) Next(f *Frame) error { return ErrClosed }

// Stats returns zero counters.
func (s *LiveSource) Stats() LiveStats { return LiveStats{} }

// Close does nothing.
func (s *LiveSource) Close() error { return nil }

// DropPrivileges fails: it is only implemented on Linux, where a change of
// user applies to every thread.
func DropPrivileges(name string) error { return errLiveOS }
