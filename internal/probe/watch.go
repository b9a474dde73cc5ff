package probe

import (
	"net/netip"
	"sync"

	"github.com/vpce-verify/vpce-verify/capture/flow"
)

// Watch tells the capture when the probe is over: each connection
// dialled and, when it connected, its close captured. A connection's client
// address is known from its connect on, before any packet of its close can
// reach the capture, so that the last packet of the probe is never read
// before the watch can recognise it. Until Start, the probe is not over:
// the capture runs while the name is resolved.
type Watch struct {
	mu      sync.Mutex
	port    uint16
	started bool
	servers []netip.AddrPort
	clients []netip.AddrPort // zero when the dial failed
	dialled []bool
	skip    []bool // not captured: nothing to wait for
}

// NewWatch watches the probe connections to port.
func NewWatch(port uint16) *Watch { return &Watch{port: port} }

// Start sets the probe's targets; captured says which of them the capture
// can see (nil: all).
func (w *Watch) Start(targets []netip.Addr, captured []bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.started = true
	w.clients, w.dialled, w.skip = make([]netip.AddrPort, len(targets)), make([]bool, len(targets)), make([]bool, len(targets))
	for i, t := range targets {
		w.servers = append(w.servers, netip.AddrPortFrom(t, w.port))
		w.skip[i] = captured != nil && !captured[i]
	}
}

// Connected records connection i's client address (zero: the dial failed).
func (w *Watch) Connected(i int, client netip.AddrPort) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.clients[i], w.dialled[i] = client, true
}

// Over reports whether a has seen every probe connection closed.
func (w *Watch) Over(a *flow.Analyzer) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.started {
		return false
	}
	for i, server := range w.servers {
		if !w.dialled[i] {
			return false
		}
		if !w.clients[i].IsValid() || w.skip[i] {
			continue
		}
		if f := a.Flow(w.clients[i], server); f == nil || !f.Closed() {
			return false
		}
	}
	return true
}
