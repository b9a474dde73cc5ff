package flow

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/vpce-verify/vpce-verify/capture"
)

// maxTunnelDepth is how many levels of VXLAN or Geneve are decoded.
// Traffic Mirroring of a Gateway Load Balancer's traffic is two; deeper is
// counted (AnomalyTunnelTooDeep), so that a crafted packet cannot make the
// decoder loop and no packet is dropped in silence.
const maxTunnelDepth = 8

// maxIPv6Headers is how many IPv6 extension headers are walked looking for
// a Fragment header; a longer chain is counted (AnomalyIPv6ChainTooLong)
// and not decoded. Real packets carry two or three.
const maxIPv6Headers = 32

// errNoted says a frame was not decoded for a reason already counted as an
// anomaly of its own.
var errNoted = errors.New("anomaly noted")

// ErrLinkType is ErrLinkType: frames whose link type the decoder
// does not support. Callers must not skip such input silently.
var ErrLinkType = capture.ErrLinkType

// firstLayer is the gopacket layer a frame of link type lt begins with; the
// link types it knows are SupportedLinkType's (a test keeps the two
// in step).
func firstLayer(lt layers.LinkType) (gopacket.LayerType, bool) {
	switch lt {
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		return layers.LayerTypeLoopback, true
	case layers.LinkTypeEthernet:
		return layers.LayerTypeEthernet, true
	case layers.LinkTypeRaw, 12, 14: // DLT_RAW differs between platforms
		return layerTypeRawIP, true
	case layers.LinkTypeIPv4:
		return layers.LayerTypeIPv4, true
	case layers.LinkTypeIPv6:
		return layers.LayerTypeIPv6, true
	case layers.LinkTypeLinuxSLL:
		return layers.LayerTypeLinuxSLL, true
	case layers.LinkTypeLinuxSLL2:
		return layers.LayerTypeLinuxSLL2, true
	}
	return 0, false
}

// layerTypeRawIP is a pseudo layer for raw IP link types: the version nibble
// says whether IPv4 or IPv6 follows.
var layerTypeRawIP = gopacket.RegisterLayerType(14001, gopacket.LayerTypeMetadata{Name: "RawIP"})

type rawIP struct {
	next    gopacket.LayerType
	payload []byte
}

func (r *rawIP) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) == 0 {
		return errors.New("raw ip: empty packet")
	}
	switch data[0] >> 4 {
	case 4:
		r.next = layers.LayerTypeIPv4
	case 6:
		r.next = layers.LayerTypeIPv6
	default:
		return fmt.Errorf("raw ip: version %d", data[0]>>4)
	}
	r.payload = data
	return nil
}
func (r *rawIP) CanDecode() gopacket.LayerClass    { return layerTypeRawIP }
func (r *rawIP) NextLayerType() gopacket.LayerType { return r.next }
func (r *rawIP) LayerPayload() []byte              { return r.payload }

// packet is what the decoder learned from one frame. It is reused for every
// frame: the decoder allocates nothing per packet.
type packet struct {
	src, dst netip.AddrPort
	proto    layers.IPProtocol // TCP or UDP
	// TCP header fields.
	seq, ack uint32
	flags    uint8 // tcpFIN | tcpSYN | ...
	window   uint16
	// payload holds the captured transport payload; payloadLen is its length
	// on the wire, larger when the frame was cut by the snap length.
	payload    []byte
	payloadLen int
	truncated  bool // the frame was cut by the snap length
	tunnel     tunnelInfo
	// ifIndex is the interface index a LINUX_SLL2 header carries (tcpdump
	// -i any); 0 for other link types.
	ifIndex int
	// frag describes an IP fragment (decodedFragment): which datagram, where
	// it goes, and its bytes.
	frag struct {
		key     fragKey
		offset  int
		more    bool
		payload []byte
	}
}

// tunnelInfo says how a packet was encapsulated when it was decapsulated
// from VXLAN or Geneve.
type tunnelInfo struct {
	kind     uint8 // tunnelNone, tunnelVXLAN, tunnelGeneve
	vni      uint32
	src, dst netip.Addr // outer addresses
}

const (
	tunnelNone uint8 = iota
	tunnelVXLAN
	tunnelGeneve
)

// TCP flag bits, as in the header's 13th byte.
const (
	tcpFIN = 1 << iota
	tcpSYN
	tcpRST
	tcpPSH
	tcpACK
	tcpURG
)

// decodeResult says why a frame yielded no TCP or UDP packet.
type decodeResult uint8

const (
	decodedTransport decodeResult = iota // p holds a TCP or UDP packet
	decodedOther                         // not TCP/UDP over IP (ARP, ICMP, ...)
	decodedFragment                      // an IP fragment, to be reassembled
	decodedError                         // malformed or cut before the transport header
)

// layerSet is one set of preallocated layers and the parsers that fill them.
type layerSet struct {
	eth    layers.Ethernet
	dot1q  layers.Dot1Q
	sll    layers.LinuxSLL
	sll2   layers.LinuxSLL2
	loop   layers.Loopback
	raw    rawIP
	ip4    layers.IPv4
	ip6    layers.IPv6
	ip6ext layers.IPv6ExtensionSkipper
	// gre lets the parser go on into a GRE tunnel's inner IP packet (as it
	// does into IP-in-IP): its addresses are the connection's.
	gre layers.GRE
	tcp layers.TCP
	udp layers.UDP
	// parsers holds one parser per first layer seen (a few link types at
	// most): a slice, not a map, so the per-packet lookup is a short scan.
	parsers []firstParser
	decoded []gopacket.LayerType
}

type firstParser struct {
	first gopacket.LayerType
	p     *gopacket.DecodingLayerParser
}

func newLayerSet() *layerSet {
	s := &layerSet{decoded: make([]gopacket.LayerType, 0, 16)}
	// Options and payload slices are reused between packets; give the
	// slices their capacity now so the steady path does not grow them.
	s.tcp.Options = make([]layers.TCPOption, 0, 8)
	s.ip4.Options = make([]layers.IPv4Option, 0, 4)
	return s
}

func (s *layerSet) parser(first gopacket.LayerType) *gopacket.DecodingLayerParser {
	for _, fp := range s.parsers {
		if fp.first == first {
			return fp.p
		}
	}
	// The layers sit in an array indexed by layer type rather than the
	// parser's default map: one map lookup per layer per packet was an
	// eighth of the decoding time. (Not DecodingLayerSparse: rawIP's
	// layer type number would size it to 14000 entries.)
	var dlc gopacket.DecodingLayerContainer = gopacket.DecodingLayerArray(nil)
	for _, l := range []gopacket.DecodingLayer{&s.eth, &s.dot1q, &s.sll, &s.sll2, &s.loop, &s.raw,
		&s.ip4, &s.ip6, &s.ip6ext, &s.gre, &s.tcp, &s.udp} {
		dlc = dlc.Put(l)
	}
	p := gopacket.NewDecodingLayerParser(first)
	p.SetDecodingLayerContainer(dlc)
	// TCP and UDP are terminal for us: their payloads (TLS, DNS) are
	// parsed by the flow tracker, not by gopacket. Stopping there is how
	// DecodingLayerParser reports "next layer unknown".
	p.IgnoreUnsupported = true
	s.parsers = append(s.parsers, firstParser{first, p})
	return p
}

// decoder turns frames into packets. The outer layers and the layers of a
// decapsulated inner packet live in separate sets: one parser has one object
// per layer type, so the inner IPv4 header would otherwise overwrite the
// outer one.
type decoder struct {
	outer, inner *layerSet
	defrag       defragmenter
	sh           *shared
}

func newDecoder(sh *shared) *decoder {
	return &decoder{outer: newLayerSet(), inner: newLayerSet(), defrag: defragmenter{sh: sh}, sh: sh}
}

// decode fills p from frame f.
func (d *decoder) decode(f *capture.Frame, p *packet) (decodeResult, error) {
	first, ok := firstLayer(f.LinkType)
	if !ok {
		return decodedError, fmt.Errorf("%w %s (supported: %s)", capture.ErrLinkType, capture.LinkTypeName(f.LinkType), capture.SupportedLinkTypes)
	}
	p.tunnel = tunnelInfo{}
	p.ifIndex = 0
	p.truncated = f.WireLen > len(f.Data)
	missing := 0
	if p.truncated {
		missing = f.WireLen - len(f.Data)
	}
	set := d.outer
	data := f.Data
	for depth := 0; ; depth++ {
		res, err := set.decodeTransport(first, data, p)
		if err == errNoted {
			d.sh.note(anIPv6ChainTooLong)
		}
		if res == decodedFragment && !p.truncated {
			whole := d.defrag.add(f.TS, p.frag.key, p.frag.offset, p.frag.more, p.frag.payload)
			if whole == nil {
				return res, nil
			}
			k := p.frag.key
			res, err = set.decodeL4(k.proto.LayerType(), whole, k.src, k.dst, p)
		}
		if res != decodedTransport {
			return res, err
		}
		p.payloadLen = len(p.payload) + missing
		if p.proto != layers.IPProtocolUDP {
			return res, nil
		}
		inner, kind, vni, ok := decapsulate(p)
		if !ok {
			return res, nil
		}
		if depth == maxTunnelDepth {
			d.sh.note(anTunnelTooDeep)
			return decodedError, errNoted
		}
		outerSrc, outerDst := p.src.Addr(), p.dst.Addr()
		if p.tunnel.kind != tunnelNone {
			// Nested tunnels: report the outermost addresses.
			outerSrc, outerDst = p.tunnel.src, p.tunnel.dst
		}
		p.tunnel = tunnelInfo{kind: kind, vni: vni, src: outerSrc, dst: outerDst}
		first, data, set = inner, p.payload, d.inner
	}
}

// decodeTransport runs the parser for one level of encapsulation.
func (s *layerSet) decodeTransport(first gopacket.LayerType, data []byte, p *packet) (decodeResult, error) {
	err := s.parser(first).DecodeLayers(data, &s.decoded)
	var ip, transport gopacket.LayerType
	for _, t := range s.decoded {
		switch t {
		case layers.LayerTypeIPv4, layers.LayerTypeIPv6:
			ip = t
		case layers.LayerTypeTCP, layers.LayerTypeUDP:
			transport = t
		case layers.LayerTypeLinuxSLL2:
			p.ifIndex = int(s.sll2.InterfaceIndex)
		}
	}
	if ip == 0 {
		if err != nil {
			return decodedError, err
		}
		return decodedOther, nil
	}
	var src, dst netip.Addr
	switch ip {
	case layers.LayerTypeIPv4:
		src = netip.AddrFrom4([4]byte(s.ip4.SrcIP.To4()))
		dst = netip.AddrFrom4([4]byte(s.ip4.DstIP.To4()))
		if s.ip4.Flags&layers.IPv4MoreFragments != 0 || s.ip4.FragOffset != 0 {
			f := &p.frag
			f.key = fragKey{src: src, dst: dst, id: uint32(s.ip4.Id), proto: s.ip4.Protocol}
			f.offset, f.more, f.payload = int(s.ip4.FragOffset)*8, s.ip4.Flags&layers.IPv4MoreFragments != 0, s.ip4.Payload
			return decodedFragment, nil
		}
	case layers.LayerTypeIPv6:
		src = netip.AddrFrom16([16]byte(s.ip6.SrcIP.To16()))
		dst = netip.AddrFrom16([16]byte(s.ip6.DstIP.To16()))
		switch ipv6Fragment(&s.ip6, p) {
		case ipv6Fragmented:
			p.frag.key.src, p.frag.key.dst = src, dst
			return decodedFragment, nil
		case ipv6TooLong:
			return decodedError, errNoted
		}
	}
	if transport == 0 {
		if err != nil {
			return decodedError, err
		}
		return decodedOther, nil
	}
	if err != nil {
		return decodedError, err
	}
	s.transport(transport, src, dst, p)
	return decodedTransport, nil
}

// decodeL4 decodes a reassembled datagram's transport header and payload.
func (s *layerSet) decodeL4(first gopacket.LayerType, data []byte, src, dst netip.Addr, p *packet) (decodeResult, error) {
	if first != layers.LayerTypeTCP && first != layers.LayerTypeUDP {
		return decodedOther, nil
	}
	if err := s.parser(first).DecodeLayers(data, &s.decoded); err != nil || len(s.decoded) == 0 {
		return decodedError, err
	}
	s.transport(first, src, dst, p)
	return decodedTransport, nil
}

// transport copies the decoded TCP or UDP header into p.
func (s *layerSet) transport(t gopacket.LayerType, src, dst netip.Addr, p *packet) {
	switch t {
	case layers.LayerTypeTCP:
		h := &s.tcp
		p.proto = layers.IPProtocolTCP
		p.src = netip.AddrPortFrom(src, uint16(h.SrcPort))
		p.dst = netip.AddrPortFrom(dst, uint16(h.DstPort))
		p.seq, p.ack, p.window = h.Seq, h.Ack, h.Window
		p.flags = tcpFlags(h)
		p.payload = h.Payload
	case layers.LayerTypeUDP:
		u := &s.udp
		p.proto = layers.IPProtocolUDP
		p.src = netip.AddrPortFrom(src, uint16(u.SrcPort))
		p.dst = netip.AddrPortFrom(dst, uint16(u.DstPort))
		p.seq, p.ack, p.window, p.flags = 0, 0, 0, 0
		p.payload = u.Payload
	}
}

func tcpFlags(t *layers.TCP) uint8 {
	var f uint8
	if t.FIN {
		f |= tcpFIN
	}
	if t.SYN {
		f |= tcpSYN
	}
	if t.RST {
		f |= tcpRST
	}
	if t.PSH {
		f |= tcpPSH
	}
	if t.ACK {
		f |= tcpACK
	}
	if t.URG {
		f |= tcpURG
	}
	return f
}

// What ipv6Fragment found.
const (
	ipv6Whole      = iota // no Fragment header: a whole packet
	ipv6Fragmented        // p.frag describes the fragment
	ipv6TooLong           // more than maxIPv6Headers extension headers
)

// ipv6Fragment walks the extension headers (the skipper in the parser does
// not say which ones it skipped) and, when one is a Fragment header, fills
// p.frag with what follows it. A chain it cannot walk to its end is too
// long rather than whole: a fragment behind it would otherwise be read as
// a packet.
func ipv6Fragment(ip6 *layers.IPv6, p *packet) int {
	next := ip6.NextHeader
	b := ip6.Payload
	if ip6.HopByHop != nil {
		next = ip6.HopByHop.NextHeader
		if len(ip6.HopByHop.Contents) <= len(b) {
			b = b[len(ip6.HopByHop.Contents):]
		}
	}
	for range maxIPv6Headers {
		switch next {
		case layers.IPProtocolIPv6Fragment:
			if len(b) < 8 {
				return ipv6Whole
			}
			f := &p.frag
			off := binary.BigEndian.Uint16(b[2:4])
			f.key = fragKey{id: binary.BigEndian.Uint32(b[4:8]), proto: layers.IPProtocol(b[0])}
			f.offset, f.more, f.payload = int(off&^7), off&1 != 0, b[8:]
			return ipv6Fragmented
		case layers.IPProtocolIPv6Routing, layers.IPProtocolIPv6Destination, layers.IPProtocolIPv6HopByHop, layers.IPProtocolAH:
			if len(b) < 8 {
				return ipv6Whole
			}
			n := int(b[1])*8 + 8 // in 8-byte units, not counting the first 8
			if next == layers.IPProtocolAH {
				n = int(b[1])*4 + 8 // AH counts 4-byte units, minus 2
			}
			if n > len(b) {
				return ipv6Whole
			}
			next, b = layers.IPProtocol(b[0]), b[n:]
		default:
			return ipv6Whole
		}
	}
	switch next {
	case layers.IPProtocolIPv6Fragment, layers.IPProtocolIPv6Routing, layers.IPProtocolIPv6Destination, layers.IPProtocolIPv6HopByHop, layers.IPProtocolAH:
		return ipv6TooLong
	}
	return ipv6Whole
}

// decapsulate recognises VXLAN and Geneve in a UDP packet and returns the
// inner packet's first layer and bytes.
func decapsulate(p *packet) (gopacket.LayerType, uint8, uint32, bool) {
	b := p.payload
	switch {
	case p.dst.Port() == capture.VXLANPort || p.dst.Port() == capture.VXLANLinuxPort:
		// RFC 7348: flags (I bit 0x08 must be set), 24 reserved bits,
		// 24-bit VNI, 8 reserved bits, then an Ethernet frame.
		if len(b) < 8 || b[0]&0x08 == 0 {
			return 0, 0, 0, false
		}
		vni := uint32(b[4])<<16 | uint32(b[5])<<8 | uint32(b[6])
		p.payload = b[8:]
		return layers.LayerTypeEthernet, tunnelVXLAN, vni, true
	case p.dst.Port() == capture.GenevePort:
		// RFC 8926: version (2 bits) and option length in 4-byte words,
		// flags, protocol type, 24-bit VNI, reserved, options.
		if len(b) < 8 || b[0]>>6 != 0 {
			return 0, 0, 0, false
		}
		hdr := 8 + int(b[0]&0x3f)*4
		if hdr > len(b) {
			return 0, 0, 0, false
		}
		vni := uint32(b[4])<<16 | uint32(b[5])<<8 | uint32(b[6])
		var first gopacket.LayerType
		switch layers.EthernetType(binary.BigEndian.Uint16(b[2:4])) {
		case 0x6558: // transparent Ethernet bridging
			first = layers.LayerTypeEthernet
		case layers.EthernetTypeIPv4:
			first = layers.LayerTypeIPv4
		case layers.EthernetTypeIPv6:
			first = layers.LayerTypeIPv6
		default:
			return 0, 0, 0, false
		}
		p.payload = b[hdr:]
		return first, tunnelGeneve, vni, true
	}
	return 0, 0, 0, false
}
