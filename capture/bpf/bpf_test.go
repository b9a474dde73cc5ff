package bpf

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"golang.org/x/net/bpf"

	"github.com/vpce-verify/vpce-verify/internal/testenv"
)

// bpfSpecs are the filters under test, named by a letter that the packet
// table below uses to say which of them must match.
var bpfSpecs = []struct {
	name string
	spec Spec
	text string // what String must say
}{
	{"A", Spec{}, "tcp port 443"},
	{"B", Spec{TCPPorts: []uint16{443, 8443}, DNS: true}, "tcp port 443 or tcp port 8443 or udp port 53 or tcp port 53"},
	{"C", Spec{TCPPorts: []uint16{443}, DNS: true, VXLAN: true, Geneve: true}, "tcp port 443 or udp port 53 or tcp port 53 or udp port 4789 or udp port 8472 or udp port 6081"},
	{"D", Spec{TCPPorts: []uint16{53, 53}}, "tcp port 53"},
	{"E", Spec{TCPPorts: []uint16{80, 443}, DNS: true, DNSPorts: []uint16{5300, 53}}, "tcp port 80 or tcp port 443 or udp port 53 or tcp port 53 or udp port 5300 or tcp port 5300"},
	{"F", Spec{GRE: true}, "tcp port 443 or proto gre"},
}

// bpfPacket is one crafted packet: an IP packet (or ARP), cut to cut bytes
// when cut > 0, and the specs that must match it.
type bpfPacket struct {
	name  string
	ip    []byte
	arp   bool
	cut   int
	match string
}

func bpfL4(t testing.TB, udp bool, src, dst uint16) []byte {
	t.Helper()
	var l gopacket.SerializableLayer = &layers.TCP{SrcPort: layers.TCPPort(src), DstPort: layers.TCPPort(dst), SYN: true, Seq: 7, Window: 1000}
	if udp {
		l = &layers.UDP{SrcPort: layers.UDPPort(src), DstPort: layers.UDPPort(dst)}
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, l, gopacket.Payload("payload")); err != nil {
		t.Fatal(err)
	}
	return slices.Clone(buf.Bytes())
}

func bpfIPv4(t testing.TB, proto layers.IPProtocol, rest []byte, mod func(*layers.IPv4)) []byte {
	t.Helper()
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, SrcIP: net.IP{10, 0, 1, 25}, DstIP: net.IP{10, 0, 2, 50}}
	if mod != nil {
		mod(ip)
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ip, gopacket.Payload(rest)); err != nil {
		t.Fatal(err)
	}
	return slices.Clone(buf.Bytes())
}

func bpfIPv6(t testing.TB, next layers.IPProtocol, rest []byte) []byte {
	t.Helper()
	ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: next,
		SrcIP: net.ParseIP("fd00:10:0:1::25"), DstIP: net.ParseIP("fd00:10:0:2::50")}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, ip, gopacket.Payload(rest)); err != nil {
		t.Fatal(err)
	}
	return slices.Clone(buf.Bytes())
}

// bpfPackets lists the crafted packets: every branch of the generated
// programs, each port as source and as destination, and the cases where a
// port-looking value must not match.
func bpfPackets(t testing.TB) []bpfPacket {
	tcp := func(src, dst uint16) []byte { return bpfL4(t, false, src, dst) }
	udp := func(src, dst uint16) []byte { return bpfL4(t, true, src, dst) }
	v4 := func(proto layers.IPProtocol, rest []byte) []byte { return bpfIPv4(t, proto, rest, nil) }
	T, U := layers.IPProtocolTCP, layers.IPProtocolUDP
	// The bytes a TCP header would start with (40000 -> 443), in a
	// fragment that is not the first: no port can be read there.
	portLike := []byte{0x9c, 0x40, 0x01, 0xbb, 0, 0, 0, 0}
	icmp := []byte{8, 0, 0, 0, 0, 1, 0, 1}
	gre := []byte{0, 0, 0x08, 0, 0x45, 0, 0, 20} // no flags, IPv4 inside (cut)
	hopByHop := append([]byte{byte(T), 0, 1, 4, 0, 0, 0, 0}, tcp(40000, 443)...)
	fragment := append([]byte{byte(T), 0, 0, 0x01, 0, 0, 0, 9}, tcp(40000, 443)...) // offset 0, more fragments
	return []bpfPacket{
		{name: "ipv4 tcp to 443", ip: v4(T, tcp(40000, 443)), match: "ABCEF"},
		{name: "ipv4 tcp from 443", ip: v4(T, tcp(443, 40000)), match: "ABCEF"},
		{name: "ipv4 gre", ip: v4(layers.IPProtocolGRE, gre), match: "F"},
		{name: "ipv4 gre, a later fragment", ip: bpfIPv4(t, layers.IPProtocolGRE, gre, func(ip *layers.IPv4) {
			ip.FragOffset = 185
		}), match: "F"},
		{name: "ipv6 gre", ip: bpfIPv6(t, layers.IPProtocolGRE, gre), match: "F"},
		{name: "ipv4 tcp to 8443", ip: v4(T, tcp(40000, 8443)), match: "B"},
		{name: "ipv4 tcp from 8443", ip: v4(T, tcp(8443, 40000)), match: "B"},
		{name: "ipv4 udp to 53", ip: v4(U, udp(40000, 53)), match: "BCE"},
		{name: "ipv4 udp from 53", ip: v4(U, udp(53, 40000)), match: "BCE"},
		{name: "ipv4 tcp to 53", ip: v4(T, tcp(40000, 53)), match: "BCDE"},
		{name: "ipv4 tcp from 53", ip: v4(T, tcp(53, 40000)), match: "BCDE"},
		{name: "ipv4 udp to 443 (QUIC is not TCP)", ip: v4(U, udp(40000, 443))},
		{name: "ipv4 tcp to 80", ip: v4(T, tcp(40000, 80)), match: "E"},
		{name: "ipv4 tcp from 80", ip: v4(T, tcp(80, 40000)), match: "E"},
		{name: "ipv4 udp to 80", ip: v4(U, udp(40000, 80))},
		{name: "ipv4 udp to 5300", ip: v4(U, udp(40000, 5300)), match: "E"},
		{name: "ipv4 tcp from 5300", ip: v4(T, tcp(5300, 40000)), match: "E"},
		{name: "ipv4 udp to 4789", ip: v4(U, udp(40000, 4789)), match: "C"},
		{name: "ipv4 udp from 4789", ip: v4(U, udp(4789, 40000)), match: "C"},
		{name: "ipv4 udp to 8472 (flannel's VXLAN)", ip: v4(U, udp(40000, 8472)), match: "C"},
		{name: "ipv4 udp to 6081", ip: v4(U, udp(40000, 6081)), match: "C"},
		{name: "ipv4 udp from 6081", ip: v4(U, udp(6081, 40000)), match: "C"},
		{name: "ipv4 tcp to 4789 (VXLAN is UDP)", ip: v4(T, tcp(40000, 4789))},
		{name: "ipv4 udp to 8443", ip: v4(U, udp(40000, 8443))},
		{name: "ipv4 with options, tcp to 443", ip: bpfIPv4(t, T, tcp(40000, 443), func(ip *layers.IPv4) {
			ip.Options = []layers.IPv4Option{{OptionType: 148, OptionLength: 4, OptionData: []byte{0, 0}}} // router alert
		}), match: "ABCEF"},
		{name: "ipv4 first fragment, tcp to 443", ip: bpfIPv4(t, T, tcp(40000, 443), func(ip *layers.IPv4) {
			ip.Flags = layers.IPv4MoreFragments
		}), match: "ABCEF"},
		{name: "ipv4 later fragment with port-like bytes", ip: bpfIPv4(t, T, portLike, func(ip *layers.IPv4) {
			ip.FragOffset = 185
		})},
		{name: "ipv4 icmp", ip: v4(layers.IPProtocolICMPv4, icmp)},
		{name: "ipv4 tcp to 443 cut before the destination port", ip: v4(T, tcp(40000, 443)), cut: 22},
		{name: "ipv4 tcp from 443 cut after the source port", ip: v4(T, tcp(443, 40000)), cut: 22, match: "ABCEF"},
		{name: "ipv6 tcp to 443", ip: bpfIPv6(t, T, tcp(40000, 443)), match: "ABCEF"},
		{name: "ipv6 tcp from 443", ip: bpfIPv6(t, T, tcp(443, 40000)), match: "ABCEF"},
		{name: "ipv6 tcp to 8443", ip: bpfIPv6(t, T, tcp(40000, 8443)), match: "B"},
		{name: "ipv6 udp to 53", ip: bpfIPv6(t, U, udp(40000, 53)), match: "BCE"},
		{name: "ipv6 udp from 53", ip: bpfIPv6(t, U, udp(53, 40000)), match: "BCE"},
		{name: "ipv6 tcp to 53", ip: bpfIPv6(t, T, tcp(40000, 53)), match: "BCDE"},
		{name: "ipv6 tcp from 53", ip: bpfIPv6(t, T, tcp(53, 40000)), match: "BCDE"},
		{name: "ipv6 udp to 4789", ip: bpfIPv6(t, U, udp(40000, 4789)), match: "C"},
		{name: "ipv6 udp from 6081", ip: bpfIPv6(t, U, udp(6081, 40000)), match: "C"},
		{name: "ipv6 udp to 443", ip: bpfIPv6(t, U, udp(40000, 443))},
		{name: "ipv6 tcp to 80", ip: bpfIPv6(t, T, tcp(40000, 80)), match: "E"},
		{name: "ipv6 udp from 5300", ip: bpfIPv6(t, U, udp(5300, 40000)), match: "E"},
		{name: "ipv6 hop-by-hop then tcp to 443", ip: bpfIPv6(t, layers.IPProtocolIPv6HopByHop, hopByHop)},
		{name: "ipv6 fragment header then tcp to 443", ip: bpfIPv6(t, layers.IPProtocolIPv6Fragment, fragment)},
		{name: "ipv6 icmpv6", ip: bpfIPv6(t, layers.IPProtocolICMPv6, icmp)},
		{name: "ipv6 tcp to 443 cut before the destination port", ip: bpfIPv6(t, T, tcp(40000, 443)), cut: 42},
		{name: "arp", arp: true},
	}
}

// bpfFraming is how a link type wraps an IP packet.
type bpfFraming struct {
	name  string
	link  layers.LinkType
	tpids []uint16 // VLAN tags, outer first (Ethernet)
}

var bpfFramings = []bpfFraming{
	{"ethernet", layers.LinkTypeEthernet, nil},
	{"ethernet 802.1Q", layers.LinkTypeEthernet, []uint16{0x8100}},
	{"ethernet 0x9100 tag", layers.LinkTypeEthernet, []uint16{0x9100}},
	{"ethernet QinQ", layers.LinkTypeEthernet, []uint16{0x88a8, 0x8100}},
	{"raw", layers.LinkTypeRaw, nil},
	{"linux sll", layers.LinkTypeLinuxSLL, nil},
	{"linux sll2", layers.LinkTypeLinuxSLL2, nil},
}

// frame wraps p; ok is false when p has no form in this framing (ARP
// outside Ethernet). The link headers are written by hand, byte by byte
// as their specifications lay them out.
func (fr bpfFraming) frame(p bpfPacket) (data []byte, wire int, ok bool) {
	ethertype := uint16(0x0806)
	ip := p.ip
	switch {
	case p.arp:
		if fr.link != layers.LinkTypeEthernet {
			return nil, 0, false
		}
		ip = make([]byte, 28)
		copy(ip, []byte{0, 1, 8, 0, 6, 4, 0, 1})
	case ip[0]>>4 == 4:
		ethertype = 0x0800
	default:
		ethertype = 0x86dd
	}
	var hdr []byte
	switch fr.link {
	case layers.LinkTypeEthernet:
		hdr = append(hdr, 2, 0, 0, 0, 0, 0x50, 2, 0, 0, 0, 0, 0x25)
		for _, tpid := range fr.tpids {
			hdr = binary.BigEndian.AppendUint16(hdr, tpid)
			hdr = binary.BigEndian.AppendUint16(hdr, 42) // VLAN 42
		}
		hdr = binary.BigEndian.AppendUint16(hdr, ethertype)
	case layers.LinkTypeLinuxSLL:
		// packet type, ARPHRD, address length, address (8), protocol
		hdr = []byte{0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 0x25, 0, 0}
		hdr = binary.BigEndian.AppendUint16(hdr, ethertype)
	case layers.LinkTypeLinuxSLL2:
		// protocol, reserved, ifindex, ARPHRD, packet type, address length, address (8)
		hdr = binary.BigEndian.AppendUint16(nil, ethertype)
		hdr = append(hdr, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 0x25, 0, 0)
	}
	data = append(hdr, ip...)
	wire = len(data)
	if p.cut > 0 {
		data = data[:len(hdr)+p.cut]
	}
	return data, wire, true
}

func bpfRun(t testing.TB, prog []bpf.RawInstruction, pkt []byte) int {
	t.Helper()
	ins, ok := bpf.Disassemble(prog)
	if !ok {
		t.Fatalf("program does not disassemble: %v", ins)
	}
	vm, err := bpf.NewVM(ins)
	if err != nil {
		t.Fatal(err)
	}
	n, err := vm.Run(pkt)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestFilterProgram runs the generated programs in x/net/bpf's VM over every
// crafted packet in every framing, against the verdicts the table states.
func TestFilterProgram(t *testing.T) {
	pkts := bpfPackets(t)
	for _, sp := range bpfSpecs {
		if got := sp.spec.String(); got != sp.text {
			t.Errorf("spec %s: String() = %q, want %q", sp.name, got, sp.text)
		}
		for _, fr := range bpfFramings {
			prog, err := sp.spec.Program(fr.link)
			if err != nil {
				t.Fatalf("spec %s, %s: %v", sp.name, fr.name, err)
			}
			for _, p := range pkts {
				data, _, ok := fr.frame(p)
				if !ok {
					continue
				}
				t.Run(sp.name+"/"+fr.name+"/"+p.name, func(t *testing.T) {
					want := strings.Contains(p.match, sp.name)
					n := bpfRun(t, prog, data)
					if (n > 0) != want {
						t.Fatalf("%s on %q: kept %d bytes, want match %v", sp.text, p.name, n, want)
					}
					if want && n != 262144 {
						t.Errorf("accepted with snap %d, want 262144", n)
					}
				})
			}
		}
	}
}

func TestFilterProgramErrors(t *testing.T) {
	many := make([]uint16, 65)
	for i := range many {
		many[i] = uint16(1000 + i)
	}
	for _, tc := range []struct {
		name string
		spec Spec
		link layers.LinkType
		want string
	}{
		{"unsupported link type", Spec{}, layers.LinkTypeIEEE802_11, "no filter for link type LINKTYPE_105"},
		{"too many ports", Spec{TCPPorts: many}, layers.LinkTypeEthernet, "65 tcp ports, at most 64"},
		{"too many UDP ports", Spec{DNS: true, DNSPorts: many[:61], VXLAN: true, Geneve: true}, layers.LinkTypeEthernet, "65 udp ports, at most 64"},
		{"too many ports in all", Spec{TCPPorts: many[:4], DNS: true, DNSPorts: many[4:62]}, layers.LinkTypeEthernet, "63 tcp and 59 udp ports, at most 120 in all"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.spec.Program(tc.link)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	// 120 ports in all, 64 of one protocol, is the most, and must still
	// assemble with every jump in range.
	if _, err := (Spec{TCPPorts: many[:8], DNS: true, DNSPorts: many[8:63]}).Program(layers.LinkTypeEthernet); err != nil {
		t.Errorf("64 tcp and 56 udp ports: %v", err)
	}
	// 64 ports is the most, and must still assemble with every jump in range.
	prog, err := Spec{TCPPorts: many[:63], DNS: true, VXLAN: true, Geneve: true}.Program(layers.LinkTypeEthernet)
	if err != nil {
		t.Fatal(err)
	}
	for _, port := range []uint16{1000, 1062, 53, 6081} {
		p := bpfPacket{ip: bpfIPv4(t, layers.IPProtocolTCP, bpfL4(t, false, 40000, port), nil)}
		if port == 6081 {
			p.ip = bpfIPv6(t, layers.IPProtocolUDP, bpfL4(t, true, port, 40000))
		}
		data, _, _ := bpfFramings[3].frame(p) // QinQ: the longest path through the program
		if bpfRun(t, prog, data) == 0 {
			t.Errorf("port %d not matched by the 64-port program", port)
		}
	}
}

// bpfPcap writes the packets in one framing to a pcap file, packet i at
// second 1_000_000+i so that tcpdump's output names it, and returns the
// file and the frames in order.
func bpfPcap(t *testing.T, fr bpfFraming, pkts []bpfPacket) (string, []bpfPacket, [][]byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), strings.ReplaceAll(fr.name, " ", "-")+".pcap")
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(65535, fr.link); err != nil {
		t.Fatal(err)
	}
	var kept []bpfPacket
	var frames [][]byte
	for _, p := range pkts {
		data, wire, ok := fr.frame(p)
		if !ok {
			continue
		}
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(int64(1_000_000+len(kept)), 0), CaptureLength: len(data), Length: wire}
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
		kept = append(kept, p)
		frames = append(frames, data)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, kept, frames
}

// bpfTcpdumpMatches returns which packets of the file tcpdump's own
// filtering keeps.
func bpfTcpdumpMatches(t *testing.T, tcpdump, file, expr string, n int) []bool {
	t.Helper()
	out, err := exec.Command(tcpdump, "-r", file, "-nn", "-tt", expr).Output()
	if err != nil {
		t.Fatalf("tcpdump -r %s %q: %v", file, expr, err)
	}
	matched := make([]bool, n)
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" || line[0] < '0' || line[0] > '9' {
			continue // a hex dump tcpdump adds to some packets
		}
		sec, _, _ := strings.Cut(line, ".")
		i, err := strconv.Atoi(sec)
		if err != nil || i < 1_000_000 || i-1_000_000 >= n {
			t.Fatalf("unexpected tcpdump line %q", line)
		}
		matched[i-1_000_000] = true
	}
	return matched
}

// bpfTcpdumpProgram compiles expr with tcpdump -ddd for the file's link
// type and loads it with ParseTcpdumpDDD.
func bpfTcpdumpProgram(t *testing.T, tcpdump, file, expr string) []bpf.RawInstruction {
	t.Helper()
	out, err := exec.Command(tcpdump, "-ddd", "-r", file, expr).Output()
	if err != nil {
		t.Fatalf("tcpdump -ddd %q: %v", expr, err)
	}
	prog, err := ParseTcpdumpDDD(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("ParseTcpdumpDDD(tcpdump -ddd %q): %v", expr, err)
	}
	return prog
}

// TestFilterAgainstTcpdump takes tcpdump as the oracle: over a pcap of the
// crafted packets, in every framing, tcpdump's own verdict for the
// expression String() prints must equal the generated program's verdict
// (for Ethernet the expression also reads up to two VLAN tags, as the
// program does). It also loads tcpdump's compiled program through
// ParseTcpdumpDDD and checks that it gives tcpdump's verdicts, for these
// expressions and a few others.
func TestFilterAgainstTcpdump(t *testing.T) {
	tcpdump := testenv.Tool(t, "tcpdump")
	pkts := bpfPackets(t)
	// Expressions for ParseTcpdumpDDD alone, by framing.
	others := map[string][]string{
		"ethernet": {
			"icmp or icmp6",
			"tcp[tcpflags] & tcp-syn != 0",
			"ip6 and udp",
			"net 10.0.2.0/24 and not port 53",
			"ip[6:2] & 0x1fff != 0",
			"ip6[7] = 64 and not udp",
			"arp",
		},
		"ethernet 802.1Q": {"vlan and tcp port 443", "vlan 42 and ip6"},
		"ethernet QinQ":   {"vlan and vlan and udp"},
		"raw":             {"ip6 and tcp", "ip and tcp[2:2] = 53"},
	}
	for _, fr := range bpfFramings {
		file, kept, frames := bpfPcap(t, fr, pkts)
		for _, sp := range bpfSpecs {
			expr := sp.spec.String()
			oracle := expr
			if fr.link == layers.LinkTypeEthernet {
				oracle = fmt.Sprintf("(%s) or (vlan and ((%s) or (vlan and (%s))))", expr, expr, expr)
			}
			t.Run(fr.name+"/"+sp.name, func(t *testing.T) {
				want := bpfTcpdumpMatches(t, tcpdump, file, oracle, len(kept))
				ours, err := sp.spec.Program(fr.link)
				if err != nil {
					t.Fatal(err)
				}
				theirs := bpfTcpdumpProgram(t, tcpdump, file, oracle)
				for i, p := range kept {
					if got := bpfRun(t, ours, frames[i]) > 0; got != want[i] {
						t.Errorf("%q: our program says %v, tcpdump %q says %v", p.name, got, oracle, want[i])
					}
					if got := bpfRun(t, theirs, frames[i]) > 0; got != want[i] {
						t.Errorf("%q: tcpdump -ddd program via ParseTcpdumpDDD says %v, tcpdump says %v", p.name, got, want[i])
					}
				}
			})
		}
		for _, expr := range others[fr.name] {
			t.Run(fr.name+"/"+expr, func(t *testing.T) {
				want := bpfTcpdumpMatches(t, tcpdump, file, expr, len(kept))
				prog := bpfTcpdumpProgram(t, tcpdump, file, expr)
				any := false
				for i, p := range kept {
					got := bpfRun(t, prog, frames[i]) > 0
					any = any || got
					if got != want[i] {
						t.Errorf("%q: loaded program says %v, tcpdump says %v", p.name, got, want[i])
					}
				}
				if !any {
					t.Errorf("%q matches none of the packets: the comparison proves little", expr)
				}
			})
		}
	}
}

func TestParseTcpdumpDDD(t *testing.T) {
	good := "4\n40 0 0 12\n21 0 1 2048\n6 0 0 262144\n6 0 0 0\n"
	t.Run("tcpdump output", func(t *testing.T) {
		prog, err := ParseTcpdumpDDD(strings.NewReader(good))
		if err != nil {
			t.Fatal(err)
		}
		want := []bpf.RawInstruction{{Op: 40, K: 12}, {Op: 21, Jf: 1, K: 2048}, {Op: 6, K: 262144}, {Op: 6}}
		if !slices.Equal(prog, want) {
			t.Fatalf("got %v, want %v", prog, want)
		}
	})
	t.Run("spaces, CRLF and trailing blank lines", func(t *testing.T) {
		in := " 4\r\n40 0 0 12\r\n21  0 1\t2048\r\n6 0 0 262144\r\n6 0 0 0\r\n\r\n\n"
		prog, err := ParseTcpdumpDDD(strings.NewReader(in))
		if err != nil || len(prog) != 4 {
			t.Fatalf("got %v, %v", prog, err)
		}
	})
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", "empty program"},
		{"only blank lines", "\n\n", "empty program"},
		{"count not a number", "four\n", "line 1: want the instruction count, got \"four\""},
		{"count zero", "0\n", "line 1: instruction count 0, want 1 to 4096"},
		{"count too large", "5000\n6 0 0 0\n", "line 1: instruction count 5000"},
		{"three fields", "2\n40 0 0 12\n6 0 0\n", "line 3: want four numbers"},
		{"text instead of numbers", "1\nret #0\n", "line 2: want four numbers"},
		{"jt too large", "2\n21 256 0 1\n6 0 0 0\n", "line 2: jt \"256\" is not a number from 0 to 255"},
		{"k too large", "1\n6 0 0 4294967296\n", "line 2: k \"4294967296\" is not a number"},
		{"negative code", "1\n-6 0 0 0\n", "line 2: code \"-6\""},
		{"unknown opcode", "2\n255 0 0 0\n6 0 0 0\n", "line 2: unknown opcode 255"},
		{"jump past the end", "3\n40 0 0 12\n21 0 2 2048\n6 0 0 0\n", "line 3: jump of 2 goes past the end"},
		{"ja past the end", "2\n5 0 0 1\n6 0 0 0\n", "line 2: jump of 1 goes past the end"},
		{"division by zero", "2\n52 0 0 0\n6 0 0 0\n", "line 2: division by zero"},
		{"scratch slot", "2\n2 0 0 16\n6 0 0 0\n", "line 2: scratch slot 16"},
		{"no return at the end", "2\n6 0 0 0\n40 0 0 12\n\n", "line 3: the last instruction must return"},
		{"fewer than announced", "3\n40 0 0 12\n6 0 0 0\n", "3 instructions announced, only 2 given"},
		{"more than announced", "1\n6 0 0 0\n6 0 0 0\n", "line 3: more instructions than the 1 announced"},
		{"blank line inside", "2\n40 0 0 12\n\n6 0 0 0\n", "line 3: blank line inside the program"},
		{"long line", "1\n" + strings.Repeat("6", 5000) + "\n", "line 2: longer than 4096 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prog, err := ParseTcpdumpDDD(strings.NewReader(tc.in))
			if err == nil {
				t.Fatalf("no error, program %v", prog)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "bpf: ") {
				t.Fatalf("error %q, want one containing %q", err, tc.want)
			}
		})
	}
}

// FuzzParseTcpdumpDDD: any input either fails cleanly or gives a program
// the kernel's checks would take, which prints back to the same program.
func FuzzParseTcpdumpDDD(f *testing.F) {
	f.Add("4\n40 0 0 12\n21 0 1 2048\n6 0 0 262144\n6 0 0 0\n")
	f.Add("1\n6 0 0 0\n")
	f.Add("2\n5 0 0 0\n6 0 0 1\n")
	f.Add("3\n48 0 0 0\n84 0 0 240\n22 0 0 0\n")
	f.Fuzz(func(t *testing.T, in string) {
		prog, err := ParseTcpdumpDDD(strings.NewReader(in))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "bpf: ") {
				t.Fatalf("error without prefix: %v", err)
			}
			return
		}
		if len(prog) == 0 || len(prog) > 4096 || prog[len(prog)-1].Op&7 != 6 {
			t.Fatalf("accepted a program the kernel would refuse: %v", prog)
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%d\n", len(prog))
		for _, ri := range prog {
			fmt.Fprintf(&b, "%d %d %d %d\n", ri.Op, ri.Jt, ri.Jf, ri.K)
		}
		again, err := ParseTcpdumpDDD(strings.NewReader(b.String()))
		if err != nil || !slices.Equal(again, prog) {
			t.Fatalf("printed program does not parse back: %v", err)
		}
	})
}
