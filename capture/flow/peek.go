package flow

import (
	"net/netip"

	"github.com/gopacket/gopacket/layers"

	"github.com/vpce-verify/vpce-verify/capture"
)

// Peeker reads a frame's transport addresses and TCP flags as the analysis
// decodes them (every link type, VLAN, VXLAN and Geneve, IPv6 extension
// headers, IP fragments), without tracking any connection: an evidence
// bundle picks the packets of the connections the report judged by it.
// It allocates nothing per frame but for reassembled fragments.
type Peeker struct {
	d *decoder
	p packet
}

// Peeked is what Peek found in one frame.
type Peeked struct {
	Src, Dst netip.AddrPort
	// TCP says a TCP segment, else a UDP datagram.
	TCP           bool
	SYN, FIN, RST bool
	// Payload is the captured transport payload (valid until the next
	// Peek); PayloadLen its length on the wire.
	Payload    []byte
	PayloadLen int
}

// NewPeeker makes a Peeker; its fragment reassembly holds at most
// DefaultBufferBudget bytes.
func NewPeeker() *Peeker {
	return &Peeker{d: newDecoder(&shared{limit: DefaultBufferBudget})}
}

// Peek decodes f; false when it holds no TCP or UDP packet (or only an IP
// fragment of one that is not yet whole).
func (k *Peeker) Peek(f *capture.Frame) (Peeked, bool) {
	res, err := k.d.decode(f, &k.p)
	if err != nil || res != decodedTransport {
		return Peeked{}, false
	}
	p := &k.p
	return Peeked{
		Src: p.src, Dst: p.dst, TCP: p.proto == layers.IPProtocolTCP,
		SYN: p.flags&tcpSYN != 0, FIN: p.flags&tcpFIN != 0, RST: p.flags&tcpRST != 0,
		Payload: p.payload, PayloadLen: p.payloadLen,
	}, true
}
