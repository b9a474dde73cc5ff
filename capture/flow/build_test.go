package flow

import (
	"cmp"
	"encoding/binary"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/vpce-verify/vpce-verify/capture"
)

// frameBuilder writes the frames of a test capture: each case states the
// packets it contains, and the frames are serialized by gopacket (and, for
// the Linux cooked headers, by hand) independently of our decoder.
type frameBuilder struct {
	t       testing.TB
	link    layers.LinkType
	vlans   []uint16 // 802.1Q tags (two = QinQ) on Ethernet frames
	tunnel  string   // "vxlan", "vxlan8472" (Linux's port), "geneve" or "gre": wrap every frame
	snap    int      // cut frames to this many bytes when > 0
	iface   int      // interface number stamped on the frames
	ifindex uint32   // interface index in LINUX_SLL2 headers (2 when 0)
	v6      bool     // scenario over IPv6 (DNS to the IPv6 VPC resolver)
	ts      time.Time
	frames  []capture.Frame
}

func newBuilder(t testing.TB, link layers.LinkType) *frameBuilder {
	return &frameBuilder{t: t, link: link, ts: time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)}
}

var (
	macClient = []byte{0x02, 0, 0, 0, 0, 0x25}
	macServer = []byte{0x02, 0, 0, 0, 0, 0x50}
)

// ipPacket serializes an IP packet carrying the transport layer and payload.
func ipPacket(t testing.TB, src, dst netip.Addr, transport gopacket.SerializableLayer, payload []byte, ext ...gopacket.SerializableLayer) []byte {
	t.Helper()
	var net gopacket.NetworkLayer
	var ip gopacket.SerializableLayer
	proto := layers.IPProtocolTCP
	if _, ok := transport.(*layers.UDP); ok {
		proto = layers.IPProtocolUDP
	}
	if src.Is4() {
		l := &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
		net, ip = l, l
	} else {
		l := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
		if len(ext) > 0 {
			l.NextHeader = layers.IPProtocolIPv6Destination
		}
		net, ip = l, l
	}
	switch l := transport.(type) {
	case *layers.TCP:
		if err := l.SetNetworkLayerForChecksum(net); err != nil {
			t.Fatal(err)
		}
	case *layers.UDP:
		if err := l.SetNetworkLayerForChecksum(net); err != nil {
			t.Fatal(err)
		}
	}
	buf := gopacket.NewSerializeBuffer()
	ls := []gopacket.SerializableLayer{ip}
	ls = append(ls, ext...)
	ls = append(ls, transport, gopacket.Payload(payload))
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return slices.Clone(buf.Bytes())
}

func etherType(ip []byte) layers.EthernetType {
	if ip[0]>>4 == 6 {
		return layers.EthernetTypeIPv6
	}
	return layers.EthernetTypeIPv4
}

// ethernet wraps an IP packet in an Ethernet frame with the builder's VLAN
// tags.
func ethernet(ip []byte, vlans []uint16) []byte {
	b := slices.Concat(macServer, macClient)
	for i, v := range vlans {
		tpid := uint16(0x8100)
		if len(vlans) == 2 && i == 0 {
			tpid = 0x88a8 // QinQ service tag
		}
		b = binary.BigEndian.AppendUint16(b, tpid)
		b = binary.BigEndian.AppendUint16(b, v&0x0fff)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(etherType(ip)))
	return append(b, ip...)
}

// frame wraps an IP packet in the builder's link layer and tunnel, and
// records it.
func (b *frameBuilder) frame(ip []byte) {
	b.t.Helper()
	link := b.link
	if b.tunnel != "" {
		ip = b.encapsulate(ip)
	}
	var data []byte
	switch link {
	case layers.LinkTypeEthernet:
		data = ethernet(ip, b.vlans)
	case layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6:
		data = ip
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		// BSD loopback: address family in host order (NULL, little endian
		// here) or network order (LOOP); 2 = IPv4, 30 = IPv6 (macOS).
		af := uint32(2)
		if ip[0]>>4 == 6 {
			af = 30
		}
		h := binary.LittleEndian.AppendUint32(nil, af)
		if link == layers.LinkTypeLoop {
			h = binary.BigEndian.AppendUint32(nil, af)
		}
		data = append(h, ip...)
	case layers.LinkTypeLinuxSLL:
		// packet type, ARPHRD, address length, address (8), protocol.
		h := binary.BigEndian.AppendUint16(nil, 4) // sent by us
		h = binary.BigEndian.AppendUint16(h, 1)
		h = binary.BigEndian.AppendUint16(h, 6)
		h = append(h, macClient...)
		h = append(h, 0, 0)
		h = binary.BigEndian.AppendUint16(h, uint16(etherType(ip)))
		data = append(h, ip...)
	case layers.LinkTypeLinuxSLL2:
		// protocol, reserved, interface index, ARPHRD, packet type,
		// address length, address (8).
		h := binary.BigEndian.AppendUint16(nil, uint16(etherType(ip)))
		h = append(h, 0, 0)
		h = binary.BigEndian.AppendUint32(h, cmp.Or(b.ifindex, 2))
		h = binary.BigEndian.AppendUint16(h, 1)
		h = append(h, 4, 6)
		h = append(h, macClient...)
		h = append(h, 0, 0)
		data = append(h, ip...)
	default:
		data = ip
	}
	wire := len(data)
	if b.snap > 0 && len(data) > b.snap {
		data = data[:b.snap]
	}
	b.frames = append(b.frames, capture.Frame{TS: b.ts, Data: data, WireLen: wire, LinkType: link, Interface: b.iface})
	b.ts = b.ts.Add(time.Millisecond)
}

// encapsulate wraps an inner IP packet as VPC Traffic Mirroring (VXLAN) or a
// Gateway Load Balancer (Geneve) would deliver it.
func (b *frameBuilder) encapsulate(inner []byte) []byte {
	b.t.Helper()
	outerSrc, outerDst := netip.MustParseAddr("172.31.0.238"), netip.MustParseAddr("172.31.17.188")
	var hdr []byte
	port := layers.UDPPort(capture.VXLANPort)
	switch b.tunnel {
	case "gre":
		// A GRE tunnel (RFC 2784), as Transit Gateway Connect uses: the
		// inner IP packet right after the 4-byte header.
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
			&layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolGRE, SrcIP: outerSrc.AsSlice(), DstIP: outerDst.AsSlice()},
			&layers.GRE{Protocol: etherType(inner)}, gopacket.Payload(inner)); err != nil {
			b.t.Fatal(err)
		}
		return slices.Clone(buf.Bytes())
	case "vxlan", "vxlan8472":
		hdr = []byte{0x08, 0, 0, 0, 0, 0x12, 0x34, 0}
		hdr = append(hdr, ethernet(inner, nil)...)
		if b.tunnel == "vxlan8472" {
			port = capture.VXLANLinuxPort
		}
	case "geneve":
		port = capture.GenevePort
		// One 8-byte option (length 2 words, as GWLB sends).
		hdr = []byte{0x02, 0, 0, 0, 0, 0x12, 0x34, 0}
		binary.BigEndian.PutUint16(hdr[2:], uint16(etherType(inner)))
		hdr = append(hdr, 0x01, 0x08, 0x01, 0x01, 0, 0, 0, 1)
		hdr = append(hdr, inner...)
	}
	udp := &layers.UDP{SrcPort: 40000, DstPort: port}
	return ipPacket(b.t, outerSrc, outerDst, udp, hdr)
}

// udp records one UDP datagram.
func (b *frameBuilder) udp(src, dst netip.AddrPort, payload []byte) {
	b.t.Helper()
	b.frame(ipPacket(b.t, src.Addr(), dst.Addr(), &layers.UDP{SrcPort: layers.UDPPort(src.Port()), DstPort: layers.UDPPort(dst.Port())}, payload))
}

// conv writes the packets of one TCP connection.
type conv struct {
	b          *frameBuilder
	c, s       netip.AddrPort
	cseq, sseq uint32
}

func (b *frameBuilder) conv(client, server string) *conv {
	return &conv{b: b, c: netip.MustParseAddrPort(client), s: netip.MustParseAddrPort(server), cseq: 1000, sseq: 5000}
}

// send writes a segment from the client (or the server) with the flags
// given as letters (S, A, F, R, P) and advances that side's sequence number.
func (c *conv) send(fromClient bool, flags string, payload []byte) {
	seq := &c.sseq
	if fromClient {
		seq = &c.cseq
	}
	c.at(fromClient, flags, *seq, payload)
	*seq += uint32(len(payload))
	for _, f := range flags {
		if f == 'S' || f == 'F' {
			*seq++
		}
	}
}

// at writes a segment with an explicit sequence number (reordering,
// retransmission); it does not advance the sequence numbers.
func (c *conv) at(fromClient bool, flags string, seq uint32, payload []byte) {
	c.b.t.Helper()
	src, dst, ack := c.c, c.s, c.sseq
	if !fromClient {
		src, dst, ack = c.s, c.c, c.cseq
	}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(src.Port()), DstPort: layers.TCPPort(dst.Port()), Seq: seq, Window: 64240}
	for _, f := range flags {
		switch f {
		case 'S':
			tcp.SYN = true
		case 'A':
			tcp.ACK = true
			tcp.Ack = ack
		case 'F':
			tcp.FIN = true
		case 'R':
			tcp.RST = true
		case 'P':
			tcp.PSH = true
		}
	}
	c.b.frame(ipPacket(c.b.t, src.Addr(), dst.Addr(), tcp, payload))
}

// handshake writes SYN, SYN-ACK, ACK.
func (c *conv) handshake() {
	c.send(true, "S", nil)
	c.send(false, "SA", nil)
	c.send(true, "A", nil)
}

// close writes FIN from the client, FIN from the server, last ACK.
func (c *conv) close() {
	c.send(true, "FA", nil)
	c.send(false, "FA", nil)
	c.send(true, "A", nil)
}

// analyze runs the builder's frames through a new Analyzer.
func (b *frameBuilder) analyze(opts Options) *Result {
	b.t.Helper()
	a := NewAnalyzer(opts)
	for i := range b.frames {
		if err := a.Add(&b.frames[i]); err != nil {
			b.t.Fatalf("frame %d: %v", i+1, err)
		}
	}
	return a.Result()
}
