package capture

import (
	"errors"
	"time"

	"golang.org/x/net/bpf"
)

// ErrPermission is returned (wrapped) by OpenLive when the process may not
// open packet sockets: live capture needs CAP_NET_RAW.
var ErrPermission = errors.New("live capture needs CAP_NET_RAW")

// ErrClosed is returned by LiveSource.Next once the source is closed.
var ErrClosed = errors.New("live capture closed")

// LiveBlockTimeout is how long the kernel may hold captured packets before
// handing them to Next. Close discards what it still holds: a caller that
// stops on a signal and wants the packets of that last moment keeps calling
// Next for this long before it calls Close.
const LiveBlockTimeout = 20 * time.Millisecond

// LiveOptions say what a live capture listens to.
type LiveOptions struct {
	// Interfaces are interface names; "any" stands for every interface that
	// is up when the capture opens. Each packet is tagged with the
	// interface it was seen on.
	Interfaces []string
	// SnapLen is how many bytes of each packet are kept (default and
	// maximum 262144).
	SnapLen int
	// Promisc puts the interfaces in promiscuous mode for the capture.
	Promisc bool
	// BufferSize is the kernel ring of each interface in bytes (tcpdump's
	// -B, in bytes rather than KiB); 0 shares 64 MiB among the interfaces,
	// 4 to 32 MiB each. The ring is memory the kernel pins for the whole
	// capture; a larger one rides out longer stalls without drops.
	BufferSize int
	// Filter is the kernel filter, built for each interface's link type.
	Filter FilterSpec
	// Program, when not empty, is used instead of Filter: a program from
	// ParseTcpdumpDDD, compiled by tcpdump for the link type of the
	// interfaces, which must then all share one link type.
	Program []bpf.RawInstruction
}

// LiveCounts are the kernel's counters for packet sockets.
type LiveCounts struct {
	// Received counts the packets the kernel filter accepted, including
	// those then dropped (tcpdump's "packets received by filter").
	Received uint64
	// Dropped counts the accepted packets lost because the capture did not
	// keep up (tcpdump's "packets dropped by kernel"). When it is not zero
	// the capture is incomplete.
	Dropped uint64
}

// LiveStats are the counters of a live capture: the sum over its
// interfaces, and each interface's own, in the order of
// LiveSource.Interfaces.
type LiveStats struct {
	LiveCounts
	Interfaces []LiveCounts
}
