package flow

import (
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/vpce-verify/vpce-verify/capture"
	"github.com/vpce-verify/vpce-verify/internal/testenv"
)

// Every supported link type carries the same connection; the analysis must
// not depend on how the frame began.
func TestLinkTypes(t *testing.T) {
	tests := []struct {
		name   string
		link   layers.LinkType
		vlans  []uint16
		tunnel string
		v6     bool
	}{
		{"ethernet", layers.LinkTypeEthernet, nil, "", false},
		{"ethernet 802.1Q", layers.LinkTypeEthernet, []uint16{100}, "", false},
		{"ethernet QinQ", layers.LinkTypeEthernet, []uint16{10, 100}, "", false},
		{"ethernet IPv6", layers.LinkTypeEthernet, nil, "", true},
		{"linux SLL", layers.LinkTypeLinuxSLL, nil, "", false},
		{"linux SLL2 (tcpdump -i any)", layers.LinkTypeLinuxSLL2, nil, "", false},
		{"linux SLL2 IPv6", layers.LinkTypeLinuxSLL2, nil, "", true},
		{"raw IPv4", layers.LinkTypeRaw, nil, "", false},
		{"raw IPv6", layers.LinkTypeRaw, nil, "", true},
		{"LINKTYPE_IPV4", layers.LinkTypeIPv4, nil, "", false},
		{"LINKTYPE_IPV6", layers.LinkTypeIPv6, nil, "", true},
		{"BSD NULL", layers.LinkTypeNull, nil, "", false},
		{"BSD NULL IPv6", layers.LinkTypeNull, nil, "", true},
		{"OpenBSD LOOP", layers.LinkTypeLoop, nil, "", false},
		{"VXLAN (traffic mirroring)", layers.LinkTypeEthernet, nil, "vxlan", false},
		{"VXLAN IPv6 inner", layers.LinkTypeEthernet, nil, "vxlan", true},
		{"Geneve (GWLB)", layers.LinkTypeEthernet, nil, "geneve", false},
		{"Geneve IPv6 inner", layers.LinkTypeEthernet, nil, "geneve", true},
		{"VXLAN in SLL2", layers.LinkTypeLinuxSLL2, nil, "vxlan", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBuilder(t, tc.link)
			b.vlans, b.tunnel = tc.vlans, tc.tunnel
			client, server := "10.0.1.25:43528", "10.0.2.50:443"
			if tc.v6 {
				client, server = "[fd00:10:0:1::25]:43528", "[2406:da60:a000::10]:443"
			}
			c := b.conv(client, server)
			c.handshake()
			c.send(true, "PA", []byte("hello"))
			c.close()
			r := b.analyze(Options{})
			if len(r.Flows) != 1 {
				t.Fatalf("got %d flows, want 1 (stats %+v)", len(r.Flows), r.Stats)
			}
			f := r.Flows[0]
			if f.Client.String() != client || f.Server.String() != server {
				t.Errorf("flow %s -> %s, want %s -> %s", f.Client, f.Server, client, server)
			}
			if f.ConnState() != "SF" || f.Bytes() != [2]uint64{5, 0} {
				t.Errorf("conn_state %s bytes %v, want SF [5 0]", f.ConnState(), f.Bytes())
			}
			if tc.tunnel != "" {
				if f.Tunnel == nil || f.Tunnel.Type != tc.tunnel || f.Tunnel.VNI != 0x1234 || f.Tunnel.OuterSrc.String() != "172.31.0.238" {
					t.Errorf("tunnel = %+v, want %s VNI 0x1234 from 172.31.0.238", f.Tunnel, tc.tunnel)
				}
				if r.Stats.Tunneled != r.Stats.Packets {
					t.Errorf("tunneled %d of %d packets", r.Stats.Tunneled, r.Stats.Packets)
				}
			} else if f.Tunnel != nil {
				t.Errorf("tunnel = %+v, want none", f.Tunnel)
			}
		})
	}
}

func TestUnsupportedLinkType(t *testing.T) {
	a := NewAnalyzer(Options{})
	err := a.Add(&capture.Frame{Data: make([]byte, 60), WireLen: 60, LinkType: layers.LinkTypeIEEE802_11})
	if !errors.Is(err, capture.ErrLinkType) {
		t.Fatalf("err = %v, want capture.ErrLinkType", err)
	}
	if capture.SupportedLinkType(layers.LinkTypeIEEE802_11) || !capture.SupportedLinkType(layers.LinkTypeLinuxSLL2) {
		t.Error("capture.SupportedLinkType disagrees with Add")
	}
}

func TestIPv6Extensions(t *testing.T) {
	src, dst := netip.MustParseAddr("fd00:10:0:1::25"), netip.MustParseAddr("fd00:10:0:2::50")
	tcp := func() *layers.TCP {
		return &layers.TCP{SrcPort: 43528, DstPort: 443, SYN: true, Seq: 1, Window: 1000}
	}
	t.Run("destination options before TCP", func(t *testing.T) {
		b := newBuilder(t, layers.LinkTypeEthernet)
		opts := &layers.IPv6Destination{}
		opts.NextHeader = layers.IPProtocolTCP
		opts.Options = []*layers.IPv6DestinationOption{{OptionType: 1, OptionLength: 4, OptionData: []byte{0, 0, 0, 0}}}
		b.frame(ipPacket(t, src, dst, tcp(), nil, opts))
		r := b.analyze(Options{})
		if len(r.Flows) != 1 || r.Flows[0].ConnState() != "S0" || r.Flows[0].Server.Port() != 443 {
			t.Fatalf("flows %d stats %+v", len(r.Flows), r.Stats)
		}
	})
	t.Run("later fragment is not read as TCP", func(t *testing.T) {
		// A fragment header with a non-zero offset: its payload starts in the
		// middle of the TCP segment.
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolIPv6Fragment, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
		frag := []byte{byte(layers.IPProtocolTCP), 0, 0x05, 0x00, 0, 0, 0, 1} // offset 160 bytes
		payload := append(frag, make([]byte, 40)...)
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, ip, gopacket.Payload(payload)); err != nil {
			t.Fatal(err)
		}
		b := newBuilder(t, layers.LinkTypeRaw)
		b.frame(buf.Bytes())
		r := b.analyze(Options{})
		if len(r.Flows) != 0 || r.Stats.Fragments != 1 {
			t.Fatalf("flows %d fragments %d, want 0 and 1", len(r.Flows), r.Stats.Fragments)
		}
	})
}

func TestSnapLength(t *testing.T) {
	b := newBuilder(t, layers.LinkTypeEthernet)
	c := b.conv("10.0.1.25:43528", "52.219.64.10:443")
	c.handshake()
	b.snap = 96 // like tcpdump -s 96: headers and 42 payload bytes
	c.send(true, "PA", make([]byte, 1000))
	c.send(false, "A", nil)
	r := b.analyze(Options{})
	f := r.Flows[0]
	if r.Stats.Truncated != 1 || f.Truncated != 1 {
		t.Errorf("truncated: stats %d flow %d, want 1", r.Stats.Truncated, f.Truncated)
	}
	if f.Bytes()[0] != 1000 {
		t.Errorf("client bytes = %d, want 1000 (the wire length, not the captured part)", f.Bytes()[0])
	}
}

// fragments splits an IP packet's payload into fragments of size bytes
// (a multiple of 8) and returns each as a whole IP packet.
func fragments(t *testing.T, src, dst netip.Addr, proto layers.IPProtocol, payload []byte, size int) [][]byte {
	t.Helper()
	var out [][]byte
	for off := 0; off < len(payload); off += size {
		end := min(off+size, len(payload))
		more := end < len(payload)
		buf := gopacket.NewSerializeBuffer()
		var err error
		if src.Is4() {
			ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: proto, Id: 0x4242, FragOffset: uint16(off / 8), SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
			if more {
				ip.Flags = layers.IPv4MoreFragments
			}
			err = gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ip, gopacket.Payload(payload[off:end]))
		} else {
			ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolIPv6Fragment, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
			hdr := []byte{byte(proto), 0, 0, 0, 0, 0, 0x42, 0x42}
			v := uint16(off)
			if more {
				v |= 1
			}
			hdr[2], hdr[3] = byte(v>>8), byte(v)
			err = gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, ip, gopacket.Payload(append(hdr, payload[off:end]...)))
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, slices.Clone(buf.Bytes()))
	}
	return out
}

// A large DNS answer (DNSSEC, EDNS 4096) arrives in IP fragments, in any
// order: the answer must still be read, as tshark does.
func TestFragmentedDNSAnswer(t *testing.T) {
	var answers [][3]string
	for i := range 120 {
		answers = append(answers, [3]string{"big.example", "A", netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)}).String()})
	}
	for _, v6 := range []bool{false, true} {
		name := "IPv4"
		if v6 {
			name = "IPv6"
		}
		t.Run(name, func(t *testing.T) {
			_, resp := dnsPair(t, 77, "big.example", 1, answers...)
			server, host := netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.1.25")
			if v6 {
				server, host = netip.MustParseAddr("fd00:ec2::253"), netip.MustParseAddr("fd00:10:0:1::25")
			}
			// The UDP datagram (header + DNS) is what gets fragmented.
			udp := ipPacket(t, server, host, &layers.UDP{SrcPort: 53, DstPort: 40000}, resp)
			hdr := 20
			if v6 {
				hdr = 40
			}
			frags := fragments(t, server, host, layers.IPProtocolUDP, udp[hdr:], 512)
			if len(frags) < 3 {
				t.Fatalf("only %d fragments", len(frags))
			}
			b := newBuilder(t, layers.LinkTypeEthernet)
			// Last first, then the rest, one of them twice.
			b.frame(frags[len(frags)-1])
			for _, f := range frags[:len(frags)-1] {
				b.frame(f)
			}
			b.frame(frags[1])
			r := b.analyze(Options{})
			if len(r.DNS) != 1 || len(r.DNS[0].Answers) != 120 || r.DNS[0].Incomplete {
				t.Fatalf("DNS %+v: want one complete response with 120 answers", r.DNS)
			}
		})
	}
	t.Run("overlapping fragments are dropped", func(t *testing.T) {
		_, resp := dnsPair(t, 78, "big.example", 1, answers...)
		server, host := netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.1.25")
		udp := ipPacket(t, server, host, &layers.UDP{SrcPort: 53, DstPort: 40000}, resp)
		a := fragments(t, server, host, layers.IPProtocolUDP, udp[20:], 512)
		c := fragments(t, server, host, layers.IPProtocolUDP, udp[20:], 256)
		b := newBuilder(t, layers.LinkTypeEthernet)
		b.frame(a[0])
		b.frame(c[1]) // bytes 256-511, inside a[0]: an overlap, not a repeat
		for _, f := range a[1:] {
			b.frame(f)
		}
		r := b.analyze(Options{})
		if len(r.DNS) != 0 {
			t.Errorf("reassembled across an overlap: %+v", r.DNS)
		}
	})
}

// A datagram whose first fragment is older than the reassembly timeout is
// forgotten when later traffic arrives; one within it still completes.
func TestDefragTimeout(t *testing.T) {
	k := func(id uint32) fragKey {
		return fragKey{src: netip.MustParseAddr("10.0.0.1"), dst: netip.MustParseAddr("10.0.0.2"), id: id, proto: layers.IPProtocolUDP}
	}
	t0 := time.Unix(1800000000, 0)
	for _, tc := range []struct {
		name  string
		later time.Duration // when the other datagram's fragment and the last piece arrive
		whole bool
	}{
		{"within the timeout", fragTimeout - time.Second, true},
		{"after the timeout", fragTimeout + time.Second, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d defragmenter
			d.add(t0, k(1), 0, true, make([]byte, 8))
			d.add(t0.Add(tc.later), k(2), 0, true, make([]byte, 8))
			got := d.add(t0.Add(tc.later), k(1), 8, false, make([]byte, 4))
			if (got != nil) != tc.whole {
				t.Errorf("reassembled %d bytes; want whole=%v", len(got), tc.whole)
			}
		})
	}
}

// The link types capture says are supported, and lists in its errors, are
// the ones the decoder knows.
func TestSupportedLinkTypesListed(t *testing.T) {
	var names []string
	for lt := range 1 << 16 {
		_, decodes := firstLayer(layers.LinkType(lt))
		if decodes != capture.SupportedLinkType(layers.LinkType(lt)) {
			t.Errorf("link type %d: the decoder knows it %v, capture.SupportedLinkType says %v", lt, decodes, !decodes)
		}
		if decodes && !slices.Contains(names, capture.LinkTypeName(layers.LinkType(lt))) {
			names = append(names, capture.LinkTypeName(layers.LinkType(lt)))
		}
	}
	listed := strings.Split(capture.SupportedLinkTypes, ", ")
	slices.Sort(names)
	slices.Sort(listed)
	if !slices.Equal(names, listed) {
		t.Errorf("decoder knows %q, the error lists %q", names, listed)
	}
}

// In a tcpdump -i any capture each connection keeps the interface index of
// its first packet's LINUX_SLL2 header; other link types have none.
func TestFlowInterfaceIndex(t *testing.T) {
	b := newBuilder(t, layers.LinkTypeLinuxSLL2)
	b.ifindex = 3 // ens5
	b.conv("10.0.1.25:43528", "10.0.2.50:443").handshake()
	b.ifindex = 7 // docker0
	c := b.conv("172.17.0.2:43529", "52.219.64.10:443")
	c.send(true, "S", nil)
	b.ifindex = 3 // the same SYN leaving ens5 after NAT is another flow
	c = b.conv("10.0.1.25:43529", "52.219.64.10:443")
	c.send(true, "S", nil)
	b.ifindex = 9
	c.send(false, "SA", nil) // a later packet on another interface changes nothing
	b.tunnel = "vxlan"
	b.ifindex = 4
	b.conv("10.0.1.30:43530", "10.0.2.50:443").handshake()
	b.tunnel, b.link = "", layers.LinkTypeEthernet
	b.conv("10.0.1.25:43531", "10.0.2.50:443").handshake()
	r := b.analyze(Options{})
	var got []int
	for _, f := range r.Flows {
		got = append(got, f.IfIndex)
	}
	if want := []int{3, 7, 3, 4, 0}; !slices.Equal(got, want) {
		t.Errorf("interface indexes %v, want %v", got, want)
	}
}

// TestFlowInterfaceIndexMatchesTshark compares each connection's interface
// index with the sll.ifindex tshark reads from the connection's first frame,
// in the LINUX_SLL2 captures: built, made by tcpdump -i any, and public.
func TestFlowInterfaceIndexMatchesTshark(t *testing.T) {
	tshark := testenv.Tool(t, "tshark")
	root := testenv.RepoRoot(t)
	paths := []string{
		filepath.Join(root, "testdata", "link-sll2.pcap"),
		filepath.Join(root, "testdata", "s3-mixed.pcapng"),
		filepath.Join(root, "testdata", "real", "public-fail.pcap"),
		testenv.Shared(t, "corpus", "openjdk-25.0.2-zeek.org.pcap"),
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			r := readCapture(t, path)
			var ours, theirs []string
			for _, f := range r.Flows {
				ours = append(ours, fmt.Sprintf("%d|%d", f.Client.Port(), f.IfIndex))
			}
			seen := map[string]bool{}
			for _, line := range tsharkFields(t, tshark, path, "tcp", "tcp.stream", "tcp.srcport", "tcp.dstport", "sll.ifindex") {
				f := strings.Split(line, "|")
				if seen[f[0]] {
					continue
				}
				seen[f[0]] = true
				client := f[1]
				if f[2] != "443" {
					client = f[2] // the first frame came from the server (port 443)
				}
				ifindex := f[3]
				if ifindex == "" {
					ifindex = "0"
				}
				theirs = append(theirs, client+"|"+ifindex)
			}
			if !slices.Equal(ours, theirs) {
				t.Errorf("client port|ifindex: ours %q, tshark %q", ours, theirs)
			}
		})
	}
}
