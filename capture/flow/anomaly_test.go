package flow

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/miekg/dns"
	"github.com/vpce-verify/vpce-verify/capture"
)

// anomalyCount returns the count of the anomaly named name, 0 when absent.
func anomalyCount(list []Anomaly, name string) uint64 {
	for _, a := range list {
		if a.Name == name {
			return a.Count
		}
	}
	return 0
}

// analyzer runs the builder's frames through a new Analyzer and returns it.
func (b *frameBuilder) analyzer(opts Options) *Analyzer {
	b.t.Helper()
	a := NewAnalyzer(opts)
	for i := range b.frames {
		if err := a.Add(&b.frames[i]); err != nil {
			b.t.Fatalf("frame %d: %v", i+1, err)
		}
	}
	return a
}

// nested wraps an IP packet in levels of encapsulation, innermost first,
// as Traffic Mirroring (vxlan) and a Gateway Load Balancer (geneve) do.
func nested(b *frameBuilder, ip []byte, levels ...string) []byte {
	saved := b.tunnel
	defer func() { b.tunnel = saved }()
	for _, kind := range levels {
		b.tunnel = kind
		ip = b.encapsulate(ip)
	}
	return ip
}

// Tunnels are decoded 8 levels deep; a packet nested deeper is counted,
// never taken for the UDP packet that carries it.
func TestNestedTunnels(t *testing.T) {
	client, server := netip.MustParseAddr("10.0.1.25"), netip.MustParseAddr("52.219.64.10")
	syn := &layers.TCP{SrcPort: 43528, DstPort: 443, SYN: true, Seq: 1000, Window: 64240}
	synAck := &layers.TCP{SrcPort: 443, DstPort: 43528, SYN: true, ACK: true, Seq: 5000, Ack: 1001, Window: 64240}
	for _, tc := range []struct {
		name   string
		levels []string
		flows  int
	}{
		{"VXLAN in Geneve, 4 deep", []string{"vxlan", "geneve", "vxlan", "geneve"}, 1},
		{"8 deep", []string{"geneve", "vxlan", "geneve", "vxlan", "geneve", "vxlan", "geneve", "vxlan"}, 1},
		{"9 deep", []string{"vxlan", "geneve", "vxlan", "geneve", "vxlan", "geneve", "vxlan", "geneve", "vxlan"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBuilder(t, layers.LinkTypeEthernet)
			b.frame(nested(b, ipPacket(t, client, server, syn, nil), tc.levels...))
			b.frame(nested(b, ipPacket(t, server, client, synAck, nil), tc.levels...))
			a := b.analyzer(Options{})
			r := a.Result()
			if len(r.Flows) != tc.flows {
				t.Fatalf("%d connections, want %d", len(r.Flows), tc.flows)
			}
			too := anomalyCount(a.Anomalies(), AnomalyTunnelTooDeep)
			if tc.flows == 1 {
				if f := r.Flows[0]; f.ConnState() != "S1" || f.Tunnel == nil || r.Stats.Tunneled != 2 || too != 0 {
					t.Errorf("state %s tunnel %+v tunneled %d too deep %d, want S1 through a tunnel", f.ConnState(), f.Tunnel, r.Stats.Tunneled, too)
				}
				return
			}
			if too != 2 || r.Stats.UDP != 0 || r.Stats.Malformed != 2 {
				t.Errorf("too deep %d, UDP %d, malformed %d; want both packets counted too deep and not decoded", too, r.Stats.UDP, r.Stats.Malformed)
			}
		})
	}
}

// ipv6Chain builds an IPv6 packet whose payload follows n Destination
// Options headers and, when frag is set, a Fragment header (offset in
// bytes, more fragments, id 0x4242).
func ipv6Chain(t *testing.T, src, dst netip.Addr, n int, frag bool, offset int, more bool, next layers.IPProtocol, payload []byte) []byte {
	t.Helper()
	var ext []byte
	for i := range n {
		nh := byte(layers.IPProtocolIPv6Destination)
		if i == n-1 {
			nh = byte(next)
			if frag {
				nh = byte(layers.IPProtocolIPv6Fragment)
			}
		}
		ext = append(ext, nh, 0, 1, 4, 0, 0, 0, 0) // PadN
	}
	if frag {
		v := uint16(offset)
		if more {
			v |= 1
		}
		ext = append(ext, byte(next), 0, byte(v>>8), byte(v), 0, 0, 0x42, 0x42)
	}
	first := next
	switch {
	case n > 0:
		first = layers.IPProtocolIPv6Destination
	case frag:
		first = layers.IPProtocolIPv6Fragment
	}
	ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: first, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, ip, gopacket.Payload(append(ext, payload...))); err != nil {
		t.Fatal(err)
	}
	return slices.Clone(buf.Bytes())
}

// A Fragment header behind a long chain of extension headers is found up
// to 32 headers; beyond, the packet is counted and not decoded. A fragment
// is never read as a whole packet.
func TestIPv6FragmentBehindLongChain(t *testing.T) {
	resolver, host := netip.MustParseAddr("fd00:ec2::253"), netip.MustParseAddr("fd00:10:0:1::25")
	var answers [][3]string
	for i := range 60 {
		answers = append(answers, [3]string{"big.example", "A", netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)}).String()})
	}
	_, resp := dnsPair(t, 91, "big.example", dns.TypeA, answers...)
	udp := ipPacket(t, resolver, host, &layers.UDP{SrcPort: 53, DstPort: 40000}, resp)[40:]
	half := len(udp) / 2 &^ 7

	t.Run("9 headers, both fragments", func(t *testing.T) {
		b := newBuilder(t, layers.LinkTypeRaw)
		b.frame(ipv6Chain(t, resolver, host, 9, true, 0, true, layers.IPProtocolUDP, udp[:half]))
		b.frame(ipv6Chain(t, resolver, host, 9, true, half, false, layers.IPProtocolUDP, udp[half:]))
		r := b.analyze(Options{})
		if len(r.DNS) != 1 || len(r.DNS[0].Answers) != 60 {
			t.Fatalf("%d transactions, want the answer with its 60 records", len(r.DNS))
		}
	})
	t.Run("9 headers, first fragments of SYNs that never complete", func(t *testing.T) {
		b := newBuilder(t, layers.LinkTypeRaw)
		for i := range 1000 {
			syn := &layers.TCP{SrcPort: layers.TCPPort(40000 + i), DstPort: 443, SYN: true, Seq: 1, Window: 64240}
			seg := ipPacket(t, host, resolver, syn, nil)[40:]
			b.frame(ipv6Chain(t, host, resolver, 9, true, 0, true, layers.IPProtocolTCP, append(seg, make([]byte, 8-len(seg)%8)...)))
		}
		a := b.analyzer(Options{})
		r := a.Result()
		if len(r.Flows) != 0 || r.Stats.Fragments != 1000 {
			t.Errorf("%d connections, %d fragments; want none: each is the start of a datagram that never completed", len(r.Flows), r.Stats.Fragments)
		}
	})
	t.Run("33 headers", func(t *testing.T) {
		b := newBuilder(t, layers.LinkTypeRaw)
		b.frame(ipv6Chain(t, resolver, host, 33, true, 0, true, layers.IPProtocolUDP, udp[:half]))
		b.frame(ipv6Chain(t, resolver, host, 33, false, 0, false, layers.IPProtocolUDP, udp))
		a := b.analyzer(Options{})
		r := a.Result()
		if len(r.DNS) != 0 || anomalyCount(a.Anomalies(), AnomalyIPv6ChainTooLong) != 2 {
			t.Errorf("%d transactions, anomalies %+v; want both packets counted as too long, not decoded", len(r.DNS), a.Anomalies())
		}
	})
	t.Run("32 headers before the payload", func(t *testing.T) {
		b := newBuilder(t, layers.LinkTypeRaw)
		b.frame(ipv6Chain(t, resolver, host, 32, false, 0, false, layers.IPProtocolUDP, udp))
		a := b.analyzer(Options{})
		if r := a.Result(); len(r.DNS) != 1 || len(a.Anomalies()) != 0 {
			t.Errorf("%d transactions, anomalies %+v; want the answer read", len(r.DNS), a.Anomalies())
		}
	})
}

// ipv4Fragment writes a raw IPv4 fragment without gopacket: the hostile
// tests make hundreds of thousands.
func ipv4Fragment(b []byte, src, dst netip.Addr, id uint16, offset int, more bool, proto layers.IPProtocol, payload []byte) []byte {
	b = append(b[:0], 0x45, 0, 0, 0, 0, 0, 0, 0, 64, byte(proto), 0, 0)
	binary.BigEndian.PutUint16(b[2:], uint16(20+len(payload)))
	binary.BigEndian.PutUint16(b[4:], id)
	v := uint16(offset / 8)
	if more {
		v |= 0x2000
	}
	binary.BigEndian.PutUint16(b[6:], v)
	b = append(b, src.AsSlice()...)
	b = append(b, dst.AsSlice()...)
	return append(b, payload...)
}

// When the fragment table is full of datagrams that never complete, the
// oldest makes room: a genuine fragmented DNS answer that comes later is
// still read, and what was forgotten is counted.
func TestFragmentTableFull(t *testing.T) {
	resolver, host := netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.1.25")
	var answers [][3]string
	for i := range 80 {
		answers = append(answers, [3]string{"big.example", "A", netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)}).String()})
	}
	_, resp := dnsPair(t, 92, "big.example", dns.TypeA, answers...)
	udp := ipPacket(t, resolver, host, &layers.UDP{SrcPort: 53, DstPort: 40000}, resp)[20:]
	half := len(udp) / 2 &^ 7

	b := newBuilder(t, layers.LinkTypeRaw)
	for i := range fragMaxPending {
		src := netip.AddrFrom4([4]byte{198, 51, 100, byte(i % 200)})
		b.frame(ipv4Fragment(nil, src, host, uint16(i), 0, true, layers.IPProtocolUDP, make([]byte, 8)))
	}
	b.frame(ipv4Fragment(nil, resolver, host, 7, 0, true, layers.IPProtocolUDP, udp[:half]))
	b.frame(ipv4Fragment(nil, resolver, host, 7, half, false, layers.IPProtocolUDP, udp[half:]))
	a := b.analyzer(Options{})
	r := a.Result()
	if len(r.DNS) != 1 || len(r.DNS[0].Answers) != 80 {
		t.Fatalf("%d transactions: want the fragmented answer read", len(r.DNS))
	}
	if n := anomalyCount(a.Anomalies(), AnomalyFragmentTableFull); n != 1 {
		t.Errorf("fragment-table-full %d, want 1 (the oldest tiny datagram made room)", n)
	}
}

// A DNS message that miekg/dns rejects (a compression pointer loop) is
// counted as malformed, and the anomaly says so; in the answer section,
// the records before the loop are kept.
func TestDNSCompressionLoop(t *testing.T) {
	host, resolver := netip.MustParseAddrPort(hostAddr), netip.MustParseAddrPort(resolverAddr)
	// The question name is a pointer to itself.
	loopQuestion := []byte{0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1}
	_, good := dnsPair(t, 2, "loop.example", dns.TypeA, [3]string{"loop.example", "A", "192.0.2.1"})
	// A second answer record whose owner name points to itself.
	loopAnswer := slices.Clone(good)
	binary.BigEndian.PutUint16(loopAnswer[6:], 2)
	at := len(loopAnswer)
	loopAnswer = append(loopAnswer, 0xc0, 0, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 2)
	binary.BigEndian.PutUint16(loopAnswer[at:], 0xc000|uint16(at))

	b := newBuilder(t, layers.LinkTypeEthernet)
	const n = 10_000
	for i := range n {
		binary.BigEndian.PutUint16(loopQuestion, uint16(i))
		b.udp(resolver, host, loopQuestion)
	}
	b.udp(resolver, host, loopAnswer)
	a := b.analyzer(Options{})
	r := a.Result()
	if r.Stats.DNSMalformed != n+1 || anomalyCount(a.Anomalies(), AnomalyDNSMalformed) != n+1 {
		t.Errorf("malformed %d, anomalies %+v; want %d", r.Stats.DNSMalformed, a.Anomalies(), n+1)
	}
	if len(r.DNS) != 1 || len(r.DNS[0].Answers) != 1 || r.DNS[0].Answers[0].Addr.String() != "192.0.2.1" || !r.DNS[0].Incomplete {
		t.Errorf("transactions %+v; want the answer with the record before the loop, incomplete", r.DNS)
	}
	an := a.Anomalies()
	if len(an) != 1 || an[0].FirstPacket != 1 || !an[0].FirstTS.Equal(b.frames[0].TS) || !an[0].Hides() {
		t.Errorf("anomalies %+v; want dns-malformed first at packet 1, hiding evidence", an)
	}
}

// Anomalies are listed in the order they first occurred, each with its
// first packet.
func TestAnomaliesOrder(t *testing.T) {
	b := newBuilder(t, layers.LinkTypeEthernet)
	c := b.conv("10.0.1.25:43528", "52.219.64.10:443")
	c.handshake()
	b.snap = 60
	c.send(true, "PA", make([]byte, 100)) // packet 4, cut
	b.snap = 0
	b.frames = append(b.frames, b.frames[0])
	b.frames[len(b.frames)-1].Data = b.frames[0].Data[:30] // packet 5: cut inside the IP header, not by the snap length
	b.frames[len(b.frames)-1].WireLen = 30
	a := b.analyzer(Options{})
	want := []Anomaly{
		{Name: AnomalyPacketTruncated, Count: 1, FirstPacket: 4, FirstTS: b.frames[3].TS},
		{Name: AnomalyPacketMalformed, Count: 1, FirstPacket: 5, FirstTS: b.frames[4].TS},
	}
	if got := a.Anomalies(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("anomalies\n %+v\nwant\n %+v", got, want)
	}
}

// Every anomaly has a stable kebab-case name of its own.
func TestAnomalyNames(t *testing.T) {
	seen := map[string]bool{}
	for k, name := range anomalyNames {
		ok := name != "" && !seen[name]
		for _, r := range name {
			ok = ok && (r == '-' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
		}
		if !ok {
			t.Errorf("anomaly %d: name %q", k, name)
		}
		seen[name] = true
	}
}

// A frame of a link type the decoder does not know, and a DNS answer cut
// by the snap length, are counted among the anomalies too.
func TestAnomaliesLinkTypeAndDNSCut(t *testing.T) {
	a := NewAnalyzer(Options{})
	f := capture.Frame{Data: []byte{1, 2, 3}, WireLen: 3, LinkType: layers.LinkType(147)}
	if err := a.Add(&f); !errors.Is(err, ErrLinkType) {
		t.Fatalf("error %v, want ErrLinkType", err)
	}
	b := newBuilder(t, layers.LinkTypeEthernet)
	_, r := dnsPair(t, 3, "bucket.example", dns.TypeA, [3]string{"bucket.example", "A", "192.0.2.1"}, [3]string{"bucket.example", "A", "192.0.2.2"})
	b.snap = 14 + 20 + 8 + len(r) - 6 // the last record cut
	b.udp(netip.MustParseAddrPort(resolverAddr), netip.MustParseAddrPort(hostAddr), r)
	for i := range b.frames {
		_ = a.Add(&b.frames[i])
	}
	an := a.Anomalies()
	if anomalyCount(an, AnomalyLinkType) != 1 || anomalyCount(an, AnomalyDNSCut) != 1 || anomalyCount(an, AnomalyDNSMalformed) != 0 {
		t.Errorf("anomalies %+v; want link-type-unsupported and dns-cut once", an)
	}
	if res := a.Result(); len(res.DNS) != 1 || len(res.DNS[0].Answers) != 1 || !res.DNS[0].Incomplete {
		t.Errorf("transactions %+v; want the answer with the one whole record", res.DNS)
	}
}
