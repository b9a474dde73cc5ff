package afpacket

import (
	"errors"
	"time"

	"github.com/vpce-verify/vpce-verify/capture"
	"github.com/vpce-verify/vpce-verify/capture/bpf"
	netbpf "golang.org/x/net/bpf"
)

// ErrPermission is returned (wrapped) by Open when the process may not
// open packet sockets: live capture needs CAP_NET_RAW.
var ErrPermission = errors.New("live capture needs CAP_NET_RAW")

// BlockTimeout is how long the kernel may hold captured packets before
// handing them to Next. Close discards what it still holds: a caller that
// stops on a signal and wants the packets of that last moment keeps calling
// Next for this long before it calls Close.
const BlockTimeout = 20 * time.Millisecond

// Options say what a live capture listens to.
type Options struct {
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
	Filter bpf.Spec
	// Program, when not empty, is used instead of Filter: a program from
	// ParseTcpdumpDDD, compiled by tcpdump for the link type of the
	// interfaces, which must then all share one link type.
	Program []netbpf.RawInstruction
}

// Stats are the counters of a live capture: the sum over its
// interfaces, and each interface's own, in the order of
// Source.Interfaces.
type Stats struct {
	capture.Counts
	Interfaces []capture.Counts
}
