package tcpdumptext

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/vpce-verify/vpce-verify/capture"
)

const (
	ipv4Header  = 20
	ipv6Header  = 40
	tcpHeader   = 20
	udpHeader   = 8
	tunnelBytes = 8  // a VXLAN header, or a Geneve header without options
	ethHeader   = 14 // the Ethernet header VXLAN carries
	maxIPLength = 0xffff

	protoTCP = 6
	protoUDP = 17
)

// frame builds the packet the line just parsed describes into f: raw IP,
// inside its VXLAN or Geneve encapsulation when the line had one. A TCP
// segment's payload is not in the text: it is counted on the wire
// (WireLen) and not captured, as the snap length cuts a packet; but for
// a DNS message tcpdump decoded, which is built. A DNS
// message cut in the capture ([|domain]) is given one byte short of its
// length on the wire, so that it reads as cut.
func (p *parser) frame(f *capture.Frame, k kind) error {
	var payload []byte // transport payload captured
	missing := 0       // payload bytes on the wire, not captured
	thLen := tcpHeader
	proto := byte(protoTCP)
	if k == kindDNS {
		b, err := p.msg.PackBuffer(p.msgBuf[:cap(p.msgBuf)])
		if err != nil {
			return fmt.Errorf("the DNS message cannot be built: %v", err)
		}
		p.msgBuf = b[:0]
		payload, thLen, proto = b, udpHeader, protoUDP
		if p.dnsCut {
			missing = 1
		}
	} else {
		missing = p.tcp.length
		if p.tcpDNS {
			if b, ok := p.tcpDNSPayload(); ok {
				payload, missing = b, 0
			}
		}
	}
	ipLen := ipv4Header
	if p.src.Addr().Is6() {
		ipLen = ipv6Header
	}
	inner := ipLen + thLen + len(payload) + missing // the inner IP packet on the wire
	outerLen, outerIP := 0, 0
	if p.tun.kind != tunnelNone {
		outerIP = ipv4Header
		if p.tun.src.Addr().Is6() {
			outerIP = ipv6Header
		}
		outerLen = outerIP + udpHeader + tunnelBytes
		if p.tun.kind == tunnelVXLAN {
			outerLen += ethHeader
		}
	}
	if outerLen+inner > maxIPLength {
		return fmt.Errorf("a %d-byte payload is more than an IP packet holds", len(payload)+missing)
	}

	b := p.buf[:0]
	if p.tun.kind != tunnelNone {
		t := &p.tun
		b = putIP(b, t.src.Addr(), t.dst.Addr(), protoUDP, outerLen+inner-outerIP)
		b = binary.BigEndian.AppendUint16(b, t.src.Port())
		b = binary.BigEndian.AppendUint16(b, t.dst.Port())
		b = binary.BigEndian.AppendUint16(b, uint16(outerLen+inner-outerIP))
		// No outer UDP checksum: none is allowed over IPv4 (RFC 768) and
		// for tunnels over IPv6 (RFC 6935), and the analysis reads none.
		b = append(b, 0, 0)
		switch t.kind {
		case tunnelVXLAN:
			// RFC 7348: the I flag, the VNI, then an Ethernet frame.
			b = append(b, 0x08, 0, 0, 0, byte(t.vni>>16), byte(t.vni>>8), byte(t.vni), 0)
			b = append(b, make([]byte, 12)...) // MAC addresses: not printed without -e
			b = binary.BigEndian.AppendUint16(b, etherType(p.src.Addr()))
		case tunnelGeneve:
			// RFC 8926: no options, the inner protocol, the VNI.
			b = append(b, 0, 0)
			b = binary.BigEndian.AppendUint16(b, etherType(p.src.Addr()))
			b = append(b, byte(t.vni>>16), byte(t.vni>>8), byte(t.vni), 0)
		}
	}
	b = putIP(b, p.src.Addr(), p.dst.Addr(), proto, inner-ipLen)
	th := len(b)
	b = binary.BigEndian.AppendUint16(b, p.src.Port())
	b = binary.BigEndian.AppendUint16(b, p.dst.Port())
	if k == kindDNS {
		b = binary.BigEndian.AppendUint16(b, uint16(udpHeader+len(payload)+missing))
		b = append(b, 0, 0)
		b = append(b, payload...)
	} else {
		t := &p.tcp
		b = binary.BigEndian.AppendUint32(b, t.seq)
		ack := t.ack
		if t.flags&flagACK == 0 {
			ack = 0
		}
		b = binary.BigEndian.AppendUint32(b, ack)
		off := byte(tcpHeader / 4 << 4)
		if t.ae {
			off |= 1
		}
		b = append(b, off, t.flags)
		b = binary.BigEndian.AppendUint16(b, uint16(t.win))
		b = append(b, 0, 0)
		urg := t.urg
		if t.flags&flagURG == 0 {
			urg = 0
		}
		b = binary.BigEndian.AppendUint16(b, urg)
		b = append(b, payload...)
	}
	// The checksum of what the text implies: the payload not captured is
	// taken as zeros, which add nothing to the sum.
	sum := pseudoSum(p.src.Addr(), p.dst.Addr(), proto, inner-ipLen) + onesSum(b[th:])
	c := ^fold(sum)
	if c == 0 && proto == protoUDP {
		c = 0xffff
	}
	csum := th + 16
	if proto == protoUDP {
		csum = th + 6
	}
	binary.BigEndian.PutUint16(b[csum:], c)
	p.buf = b
	f.Data = b
	f.WireLen = len(b) + missing
	f.LinkType = LinkType
	f.Interface = 0
	return nil
}

// tcpDNSPayload builds the payload of a TCP segment that carried one whole
// DNS message: its two-byte length and the message, as long as the
// segment. The message is built from what tcpdump printed, which lacks
// some sections: the rest of the segment is zeros, which a DNS reader
// leaves after the counted records. ok is false when the message does not
// fit the segment.
func (p *parser) tcpDNSPayload() (b []byte, ok bool) {
	n := p.tcp.length
	if n-2 > 0xffff {
		return nil, false
	}
	p.msg.Compress = true
	msg, err := p.msg.PackBuffer(p.msgBuf[:cap(p.msgBuf)])
	if err != nil {
		return nil, false
	}
	p.msgBuf = msg[:0]
	if len(msg) > n-2 {
		return nil, false
	}
	if cap(p.tcpBuf) < n {
		p.tcpBuf = make([]byte, n)
	}
	b = p.tcpBuf[:n]
	binary.BigEndian.PutUint16(b, uint16(n-2))
	clear(b[2+copy(b[2:], msg):])
	return b, true
}

func etherType(a netip.Addr) uint16 {
	if a.Is6() {
		return 0x86dd
	}
	return 0x0800
}

// putIP appends an IPv4 or IPv6 header for a payload of n bytes.
func putIP(b []byte, src, dst netip.Addr, proto byte, n int) []byte {
	if src.Is4() {
		h := len(b)
		b = append(b, 0x45, 0)
		b = binary.BigEndian.AppendUint16(b, uint16(ipv4Header+n))
		b = append(b, 0, 0, 0x40, 0, 64, proto, 0, 0) // ID 0, DF, TTL 64
		s, d := src.As4(), dst.As4()
		b = append(b, s[:]...)
		b = append(b, d[:]...)
		binary.BigEndian.PutUint16(b[h+10:], ^fold(onesSum(b[h:])))
		return b
	}
	b = append(b, 0x60, 0, 0, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(n))
	b = append(b, proto, 64)
	s, d := src.As16(), dst.As16()
	b = append(b, s[:]...)
	return append(b, d[:]...)
}

// pseudoSum is the one's complement sum of the TCP/UDP pseudo-header.
func pseudoSum(src, dst netip.Addr, proto byte, n int) uint32 {
	var sum uint32
	if src.Is4() {
		s, d := src.As4(), dst.As4()
		sum = onesSum(s[:]) + onesSum(d[:])
	} else {
		s, d := src.As16(), dst.As16()
		sum = onesSum(s[:]) + onesSum(d[:])
	}
	return sum + uint32(proto) + uint32(n>>16) + uint32(n&0xffff)
}

func onesSum(b []byte) uint32 {
	var sum uint32
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	return sum
}

func fold(sum uint32) uint16 {
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return uint16(sum)
}
