//go:build !linux

package afpacket

import (
	"errors"
	"net/netip"
	"runtime"

	"github.com/vpce-verify/vpce-verify/capture"
)

// errLiveOS is what live capture says on systems without AF_PACKET.
var errLiveOS = errors.New("live: capture needs Linux (AF_PACKET); on " + runtime.GOOS + ", capture with tcpdump and use analyze")

// Source captures packets from network interfaces. It is only
// implemented on Linux.
type Source struct{}

// Open fails: live capture needs Linux.
func Open(opts Options) (*Source, error) { return nil, errLiveOS }

// Interfaces returns nothing.
func (s *Source) Interfaces() []capture.Interface { return nil }

// Inputs describes nothing: there is no live capture here.
func (s *Source) Inputs() []capture.Input { return nil }

// Next returns capture.ErrClosed.
func (s *Source) Next(f *capture.Frame) error { return capture.ErrClosed }

// Stats returns zero counters.
func (s *Source) Stats() Stats { return Stats{} }

// Close does nothing.
func (s *Source) Close() error { return nil }

// SYNWatch reports TCP SYNs; only implemented on Linux.
type SYNWatch struct{}

// WatchSYNs fails: live capture needs Linux.
func WatchSYNs(interfaces []string, ports []uint16, each func(src, dst netip.AddrPort)) (*SYNWatch, error) {
	return nil, errLiveOS
}

// Close does nothing.
func (w *SYNWatch) Close() error { return nil }
