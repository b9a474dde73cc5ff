package tcpdumptext

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/miekg/dns"

	"github.com/vpce-verify/vpce-verify/capture"
	"github.com/vpce-verify/vpce-verify/internal/testenv"
)

// pkt is what a test reads back from a frame: the packet a line became.
type pkt struct {
	ts       time.Time
	src, dst netip.AddrPort
	flags    string // tcpdump's letters, "" for UDP
	seq, ack uint32
	win      uint16
	urg      uint16
	payload  int // TCP payload bytes on the wire (not captured)
	dns      *dns.Msg
	cut      bool // WireLen says more than Data holds
	tunnel   string
}

// decode reads a frame the way the analysis does not: with gopacket's own
// layers, so that the bytes are checked by another parser.
func decode(t *testing.T, f *capture.Frame) pkt {
	t.Helper()
	if f.LinkType != layers.LinkTypeRaw || f.Interface != 0 || f.TS.Location() != time.UTC || f.WireLen < len(f.Data) {
		t.Fatalf("frame: link type %v, interface %d, TS %v, WireLen %d of %d", f.LinkType, f.Interface, f.TS, f.WireLen, len(f.Data))
	}
	first := layers.LayerTypeIPv4
	if f.Data[0]>>4 == 6 {
		first = layers.LayerTypeIPv6
	}
	packet := gopacket.NewPacket(f.Data, first, gopacket.Default)
	var p pkt
	p.ts = f.TS
	p.cut = f.WireLen > len(f.Data)
	if vx, ok := packet.Layer(layers.LayerTypeVXLAN).(*layers.VXLAN); ok {
		p.tunnel = "vxlan " + itoa(vx.VNI)
	}
	if g, ok := packet.Layer(layers.LayerTypeGeneve).(*layers.Geneve); ok {
		p.tunnel = "geneve " + itoa(g.VNI)
	}
	// The innermost IP layer is the one the line described.
	var src, dst netip.Addr
	for _, l := range packet.Layers() {
		switch ip := l.(type) {
		case *layers.IPv4:
			src, dst = netip.AddrFrom4([4]byte(ip.SrcIP.To4())), netip.AddrFrom4([4]byte(ip.DstIP.To4()))
			if sum := onesSum(ip.Contents); fold(sum) != 0xffff {
				t.Fatalf("IPv4 header checksum is wrong: % x", ip.Contents)
			}
		case *layers.IPv6:
			src, dst = netip.AddrFrom16([16]byte(ip.SrcIP)), netip.AddrFrom16([16]byte(ip.DstIP))
		}
	}
	if tcp, ok := packet.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
		p.src, p.dst = netip.AddrPortFrom(src, uint16(tcp.SrcPort)), netip.AddrPortFrom(dst, uint16(tcp.DstPort))
		for _, fl := range []struct {
			on bool
			c  string
		}{{tcp.FIN, "F"}, {tcp.SYN, "S"}, {tcp.RST, "R"}, {tcp.PSH, "P"}, {tcp.ACK, "."}, {tcp.URG, "U"}, {tcp.ECE, "E"}, {tcp.CWR, "W"}} {
			if fl.on {
				p.flags += fl.c
			}
		}
		p.seq, p.ack, p.win, p.urg = tcp.Seq, tcp.Ack, tcp.Window, tcp.Urgent
		p.payload = f.WireLen - len(f.Data)
		if len(tcp.Payload) != 0 {
			// Only a DNS message tcpdump decoded is built, behind its
			// length, as long as the segment.
			if tcp.SrcPort != 53 && tcp.DstPort != 53 || p.cut || len(tcp.Payload) < 2 || int(binary.BigEndian.Uint16(tcp.Payload)) != len(tcp.Payload)-2 {
				t.Fatalf("a TCP segment carries %d captured bytes: the text has none", len(tcp.Payload))
			}
			p.payload = len(tcp.Payload)
			p.dns = new(dns.Msg)
			if err := p.dns.Unpack(tcp.Payload[2:]); err != nil {
				t.Fatalf("the TCP payload is not a DNS message: %v", err)
			}
		}
		return p
	}
	udp, ok := packet.Layer(layers.LayerTypeUDP).(*layers.UDP)
	if !ok {
		t.Fatalf("neither TCP nor UDP: %v", packet)
	}
	for _, l := range packet.Layers() {
		if u, ok := l.(*layers.UDP); ok {
			udp = u // the inner one
		}
	}
	p.src, p.dst = netip.AddrPortFrom(src, uint16(udp.SrcPort)), netip.AddrPortFrom(dst, uint16(udp.DstPort))
	p.dns = new(dns.Msg)
	if err := p.dns.Unpack(udp.Payload); err != nil {
		t.Fatalf("the UDP payload is not a DNS message: %v", err)
	}
	return p
}

func itoa(n uint32) string { return strconv.FormatUint(uint64(n), 10) }

// readAll reads a text and returns its packets and the end error (nil at a
// clean end).
func readAll(t *testing.T, text string) ([]pkt, *Reader, error) {
	t.Helper()
	r := NewReader("x.txt", strings.NewReader(text))
	var out []pkt
	var f capture.Frame
	for {
		err := r.Next(&f)
		if err == io.EOF {
			return out, r, nil
		}
		if err != nil {
			if again := r.Next(&f); again != err {
				t.Fatalf("Next after the end returned %v, then %v", err, again)
			}
			return out, r, err
		}
		out = append(out, decode(t, &f))
	}
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func at(clock string) time.Time {
	ts, err := time.Parse("2006-01-02 15:04:05.999999999", "1970-01-01 "+clock)
	if err != nil {
		panic(err)
	}
	return ts
}

// The seed's own connection, as tcpdump -nn -r printed it from a real run
// (testdata/tcpdump/seed.txt): S, S., ., P. with relative numbers after
// the handshake.
const seedHandshake = `15:02:35.977580 IP 10.0.1.25.51002 > 10.0.2.50.443: Flags [S], seq 416848879, win 64240, options [mss 1460,sackOK,TS val 3636987543 ecr 0,nop,wscale 10], length 0
15:02:35.977594 IP 10.0.2.50.443 > 10.0.1.25.51002: Flags [S.], seq 2760941473, ack 416848880, win 65160, options [mss 1460,sackOK,TS val 3252084107 ecr 3636987543,nop,wscale 10], length 0
15:02:35.977608 IP 10.0.1.25.51002 > 10.0.2.50.443: Flags [.], ack 1, win 63, options [nop,nop,TS val 3636987543 ecr 3252084107], length 0
15:02:35.983929 IP 10.0.1.25.51002 > 10.0.2.50.443: Flags [P.], seq 1:518, ack 1, win 63, options [nop,nop,TS val 3636987550 ecr 3252084107], length 517
`

func TestSeedHandshake(t *testing.T) {
	c, s := ap("10.0.1.25:51002"), ap("10.0.2.50:443")
	want := []pkt{
		{ts: at("15:02:35.97758"), src: c, dst: s, flags: "S", seq: 416848879, win: 64240},
		{ts: at("15:02:35.977594"), src: s, dst: c, flags: "S.", seq: 2760941473, ack: 416848880, win: 65160},
		{ts: at("15:02:35.977608"), src: c, dst: s, flags: ".", seq: 416848880, ack: 2760941474, win: 63},
		{ts: at("15:02:35.983929"), src: c, dst: s, flags: "P.", seq: 416848880, ack: 2760941474, win: 63, payload: 517, cut: true},
	}
	// The same packets printed with -S (absolute numbers), with -v (two
	// lines each), with -e and with -tttt.
	absolute := strings.NewReplacer("ack 1,", "ack 2760941474,", "seq 1:518", "seq 416848880:416849397").Replace(seedHandshake)
	verbose := strings.NewReplacer(" IP 10.0", " IP (tos 0x0, ttl 64, id 1, offset 0, flags [DF], proto TCP (6), length 60)\n    10.0").Replace(seedHandshake)
	ether := strings.ReplaceAll(seedHandshake, " IP 10.0", " 0a:1f:6e:3c:5d:25 > 0a:1f:6e:00:00:01, ethertype IPv4 (0x0800), length 74: 10.0")
	dated := strings.ReplaceAll(seedHandshake, "15:02:35.", "2026-11-22 15:02:35.")
	for _, tc := range []struct{ name, text string }{
		{"tcpdump -nn", seedHandshake},
		{"tcpdump -nn -S", absolute},
		{"tcpdump -nn -v", verbose},
		{"tcpdump -nn -e", ether},
		{"tcpdump -nn -tttt", dated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, r, err := readAll(t, tc.text)
			if err != nil {
				t.Fatal(err)
			}
			w := slices.Clone(want)
			if tc.name == "tcpdump -nn -tttt" {
				for i := range w {
					w[i].ts = w[i].ts.AddDate(56, 10, 21)
				}
			}
			if len(got) != len(w) {
				t.Fatalf("%d packets, want %d", len(got), len(w))
			}
			for i := range w {
				if g := got[i]; g != w[i] {
					t.Errorf("packet %d:\n got %+v\nwant %+v", i+1, g, w[i])
				}
			}
			note := r.Note()
			if !strings.Contains(note, "x.txt is tcpdump text: no TLS server names or payload, the verdict rests on addresses and DNS answers") ||
				strings.Contains(note, "1970-01-01") == (tc.name == "tcpdump -nn -tttt") {
				t.Errorf("note: %s", note)
			}
		})
	}
}

// tcpdump makes sequence numbers relative to those of the first packet of
// a conversation that carries an ACK, and starts again at a SYN-ACK; a
// midstream capture's first line is absolute, the next relative to it.
func TestRelativeSequenceNumbers(t *testing.T) {
	c, s := ap("10.0.1.25:43000"), ap("52.219.64.10:443")
	text := `10:00:00.000000 IP 10.0.1.25.43000 > 52.219.64.10.443: Flags [P.], seq 7000:8448, ack 90000, win 501, length 1448
10:00:00.000100 IP 52.219.64.10.443 > 10.0.1.25.43000: Flags [.], ack 1448, win 2000, length 0
10:00:00.000200 IP 10.0.1.25.43000 > 52.219.64.10.443: Flags [P.], seq 1448:2896, ack 1, win 501, length 1448
10:00:00.000300 IP 52.219.64.10.443 > 10.0.1.25.43000: Flags [F.], seq 1, ack 2896, win 2000, length 0
10:00:00.000400 IP 10.0.1.25.43000 > 52.219.64.10.443: Flags [R], seq 9896, win 0, length 0
10:00:01.000000 IP 10.0.1.25.43000 > 52.219.64.10.443: Flags [S], seq 500, win 64240, length 0
10:00:01.000100 IP 52.219.64.10.443 > 10.0.1.25.43000: Flags [S.], seq 100, ack 501, win 65535, length 0
10:00:01.000200 IP 10.0.1.25.43000 > 52.219.64.10.443: Flags [.], ack 1, win 64240, length 0
`
	got, _, err := readAll(t, text)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		src, dst netip.AddrPort
		seq, ack uint32
	}{
		{c, s, 7000, 90000}, // printed as sent: the bases of what follows
		{s, c, 90000, 8448}, // a pure ACK gets the sequence number its side sends next, as acked
		{c, s, 8448, 90000},
		{s, c, 90000, 9896},
		{c, s, 9896, 0},
		{c, s, 500, 0},
		{s, c, 100, 501}, // the SYN-ACK starts the conversation over
		{c, s, 501, 101},
	}
	for i, w := range want {
		if g := got[i]; g.src != w.src || g.dst != w.dst || g.seq != w.seq || g.ack != w.ack {
			t.Errorf("packet %d: %v > %v seq %d ack %d, want %v > %v seq %d ack %d", i+1, g.src, g.dst, g.seq, g.ack, w.src, w.dst, w.seq, w.ack)
		}
	}
}

func TestFlags(t *testing.T) {
	for _, tc := range []struct{ line, flags string }{
		{"Flags [S], seq 1, win 1, length 0", "S"},
		{"Flags [S.], seq 1, ack 1, win 1, length 0", "S."},
		{"Flags [.], ack 1, win 1, length 0", "."},
		{"Flags [P.], seq 1:2, ack 1, win 1, length 1", "P."},
		{"Flags [F.], seq 1, ack 1, win 1, length 0", "F."},
		{"Flags [FP.], seq 1:11, ack 1, win 1, length 10", "FP."},
		{"Flags [R], seq 1, win 0, length 0", "R"},
		{"Flags [R.], seq 0, ack 1, win 0, length 0", "R."},
		{"Flags [SEW], seq 1, win 1, length 0", "SEW"},
		{"Flags [U.], seq 1:2, ack 1, win 1, urg 1, length 1", "U."},
		{"Flags [none], win 1, length 0", ""},
	} {
		got, _, err := readAll(t, "10:00:00.000000 IP 10.0.0.1.1000 > 10.0.0.2.443: "+tc.line+"\n")
		if err != nil {
			t.Errorf("%s: %v", tc.line, err)
			continue
		}
		if sorted(got[0].flags) != sorted(tc.flags) {
			t.Errorf("%s: flags %q, want %q", tc.line, got[0].flags, tc.flags)
		}
		if strings.Contains(tc.flags, "U") && got[0].urg != 1 {
			t.Errorf("%s: urgent pointer %d", tc.line, got[0].urg)
		}
	}
}

func sorted(s string) string {
	b := []byte(s)
	slices.Sort(b)
	return string(b)
}

func TestLayouts(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       pkt
	}{
		{"IPv6", "10:00:00.000000 IP6 fd00:10:0:1::25.43571 > 2406:da60:a000::10.443: Flags [S], seq 1000, win 64240, length 0\n",
			pkt{ts: at("10:00:00"), src: ap("[fd00:10:0:1::25]:43571"), dst: ap("[2406:da60:a000::10]:443"), flags: "S", seq: 1000, win: 64240}},
		{"IPv6 -v on one line", "10:00:00.000000 IP6 (flowlabel 0x12345, hlim 64, next-header TCP (6) payload length: 40) ::1.43571 > ::1.443: Flags [S], cksum 0x0030 (incorrect -> 0x1234), seq 7, win 1, length 0\n",
			pkt{ts: at("10:00:00"), src: ap("[::1]:43571"), dst: ap("[::1]:443"), flags: "S", seq: 7, win: 1}},
		{"-tt", "1795325690.521506 IP 10.0.1.25.51002 > 10.0.2.50.443: Flags [S], seq 5, win 2, length 0\n",
			pkt{ts: time.Unix(1795325690, 521506000).UTC(), src: ap("10.0.1.25:51002"), dst: ap("10.0.2.50:443"), flags: "S", seq: 5, win: 2}},
		{"--nano", "2026-11-22 05:34:50.521506123 IP 10.0.1.25.51002 > 10.0.2.50.443: Flags [S], seq 5, win 2, length 0\n",
			pkt{ts: time.Date(2026, 11, 22, 5, 34, 50, 521506123, time.UTC), src: ap("10.0.1.25:51002"), dst: ap("10.0.2.50:443"), flags: "S", seq: 5, win: 2}},
		{"SLL2 (tcpdump -i any)", "10:00:00.000000 ifb0  Out IP 10.0.1.25.43528 > 10.0.2.50.443: Flags [S], seq 1000, win 64240, length 0\n",
			pkt{ts: at("10:00:00"), src: ap("10.0.1.25:43528"), dst: ap("10.0.2.50:443"), flags: "S", seq: 1000, win: 64240}},
		{"SLL -e -v", "10:00:00.000000 Out 02:00:00:00:00:25 ethertype IPv4 (0x0800), length 56: (tos 0x0, ttl 64, id 0, offset 0, flags [none], proto TCP (6), length 40)\n    10.0.1.25.43528 > 10.0.2.50.443: Flags [S], cksum 0xedfb (correct), seq 1000, win 64240, length 0\n",
			pkt{ts: at("10:00:00"), src: ap("10.0.1.25:43528"), dst: ap("10.0.2.50:443"), flags: "S", seq: 1000, win: 64240}},
		{"QinQ -e", "10:00:00.002000 02:00:00:00:00:25 > 02:00:00:00:00:50, ethertype 802.1Q-QinQ (0x88a8), length 62: vlan 10, p 0, ethertype 802.1Q (0x8100), vlan 100, p 0, ethertype IPv4 (0x0800), 10.0.1.25.43528 > 10.0.2.50.443: Flags [S], seq 1000, win 64240, length 0\n",
			pkt{ts: at("10:00:00.002"), src: ap("10.0.1.25:43528"), dst: ap("10.0.2.50:443"), flags: "S", seq: 1000, win: 64240}},
		{"VXLAN", "10:00:00.002000 IP 172.31.0.238.40000 > 172.31.17.188.4789: VXLAN, flags [I] (0x08), vni 4660\nIP 10.0.1.25.43528 > 10.0.2.50.443: Flags [S], seq 1000, win 64240, length 0\n",
			pkt{ts: at("10:00:00.002"), src: ap("10.0.1.25:43528"), dst: ap("10.0.2.50:443"), flags: "S", seq: 1000, win: 64240, tunnel: "vxlan 4660"}},
		{"Geneve", "10:00:00.002000 IP 172.31.0.238.40000 > 172.31.17.188.6081: Geneve, Flags [none], vni 0x1234, options [8 bytes]: IP 10.0.1.25.43528 > 10.0.2.50.443: Flags [P.], seq 1000:1100, ack 7, win 64240, length 100\n",
			pkt{ts: at("10:00:00.002"), src: ap("10.0.1.25:43528"), dst: ap("10.0.2.50:443"), flags: "P.", seq: 1000, ack: 7, win: 64240, payload: 100, cut: true, tunnel: "geneve 4660"}},
		{"Geneve without options", "10:00:00.002000 IP 172.31.0.238.40000 > 172.31.17.188.6081: Geneve, Flags [none], vni 0x0: IP 10.0.1.25.43528 > 10.0.2.50.443: Flags [S], seq 1000, win 64240, length 0\n",
			pkt{ts: at("10:00:00.002"), src: ap("10.0.1.25:43528"), dst: ap("10.0.2.50:443"), flags: "S", seq: 1000, win: 64240, tunnel: "geneve 0"}},
		{"Geneve -vv", "10:00:00.002000 IP (tos 0x0, ttl 64, id 0, offset 0, flags [none], proto UDP (17), length 84)\n    172.31.0.238.40000 > 172.31.17.188.6081: [udp sum ok] Geneve, Flags [none], vni 0x1234, options [class Unknown (0x108) type 0x1 len 8 data 00000001]\n\tIP (tos 0x0, ttl 64, id 0, offset 0, flags [none], proto TCP (6), length 40)\n    10.0.1.25.43528 > 10.0.2.50.443: Flags [S], cksum 0xedfb (correct), seq 1000, win 64240, length 0\n",
			pkt{ts: at("10:00:00.002"), src: ap("10.0.1.25:43528"), dst: ap("10.0.2.50:443"), flags: "S", seq: 1000, win: 64240, tunnel: "geneve 4660"}},
		{"HTTP decoded after the length (-v)", "10:00:00.000000 IP 10.0.1.25.43528 > 52.219.64.10.80: Flags [P.], seq 1:78, ack 1, win 502, length 77: HTTP, length: 77\n\tGET / HTTP/1.1\n\tHost: s3.ap-south-1.amazonaws.com\n",
			pkt{ts: at("10:00:00"), src: ap("10.0.1.25:43528"), dst: ap("52.219.64.10:80"), flags: "P.", seq: 1, ack: 1, win: 502, payload: 77, cut: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := readAll(t, tc.text)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 {
				t.Fatalf("%d packets", len(got))
			}
			g := got[0]
			g.dns = nil
			if g != tc.want {
				t.Errorf("\n got %+v\nwant %+v", g, tc.want)
			}
		})
	}
}

func answers(m *dns.Msg) []string {
	var out []string
	for _, rr := range m.Answer {
		out = append(out, strings.ReplaceAll(rr.String(), "\t", " "))
	}
	return out
}

func TestDNS(t *testing.T) {
	query := "10:00:00.000000 IP 10.0.1.25.40005 > 10.0.0.2.53: 40005+ A? my-bucket.s3.ap-south-1.amazonaws.com. (55)\n"
	for _, tc := range []struct {
		name, text string
		question   string
		rcode      int
		tc, aa, ra bool
		answers    []string
		cut        bool
	}{
		{"CNAME chain, owners from the query", query +
			"10:00:00.001000 IP 10.0.0.2.53 > 10.0.1.25.40005: 40005 2/0/0 CNAME s3-r-w.ap-south-1.amazonaws.com., A 52.219.64.10 (92)\n",
			"my-bucket.s3.ap-south-1.amazonaws.com.", 0, false, false, true,
			[]string{"my-bucket.s3.ap-south-1.amazonaws.com. 0 IN CNAME s3-r-w.ap-south-1.amazonaws.com.", "s3-r-w.ap-south-1.amazonaws.com. 0 IN A 52.219.64.10"}, false},
		{"-v prints the owners", query +
			"10:00:00.001000 IP 10.0.0.2.53 > 10.0.1.25.40005: 40005* 2/0/1 my-bucket.s3.ap-south-1.amazonaws.com. CNAME s3-r-w.ap-south-1.amazonaws.com., s3-r-w.ap-south-1.amazonaws.com. A 10.0.2.50 (92)\n",
			"my-bucket.s3.ap-south-1.amazonaws.com.", 0, false, true, true,
			[]string{"my-bucket.s3.ap-south-1.amazonaws.com. 0 IN CNAME s3-r-w.ap-south-1.amazonaws.com.", "s3-r-w.ap-south-1.amazonaws.com. 0 IN A 10.0.2.50"}, false},
		{"-vvv prints the question, TTLs and the EDNS record", "10:00:00.001000 IP 10.0.0.2.53 > 10.0.1.25.40005: [udp sum ok] 40005- q: AAAA? s3.dualstack.ap-south-1.amazonaws.com. 2/0/1 s3.dualstack.ap-south-1.amazonaws.com. [1m] AAAA 2406:da60:a000::10, s3.dualstack.ap-south-1.amazonaws.com. [1h1m5s] AAAA 2406:da60:a000::11 ar: . OPT UDPsize=1232 (132)\n",
			"s3.dualstack.ap-south-1.amazonaws.com.", 0, false, false, false,
			[]string{"s3.dualstack.ap-south-1.amazonaws.com. 60 IN AAAA 2406:da60:a000::10", "s3.dualstack.ap-south-1.amazonaws.com. 3665 IN AAAA 2406:da60:a000::11"}, false},
		{"NXDomain with -vv authority", query +
			"10:00:00.001000 IP 10.0.0.2.53 > 10.0.1.25.40005: 40005 NXDomain* 0/1/0 ns: amazonaws.com. SOA dns-external-master.amazon.com. root.amazon.com. 2010215316 180 60 2592000 60 (120)\n",
			"my-bucket.s3.ap-south-1.amazonaws.com.", dns.RcodeNameError, false, true, true, nil, false},
		{"truncated, answered over TCP later", query + "10:00:00.001000 IP 10.0.0.2.53 > 10.0.1.25.40005: 40005-| 0/0/0 (55)\n",
			"my-bucket.s3.ap-south-1.amazonaws.com.", 0, true, false, false, nil, false},
		{"other records read past", query +
			"10:00:00.001000 IP 10.0.0.2.53 > 10.0.1.25.40005: 40005 3/0/0 TXT \"v=a, b\", MX mail.example.com. 10, A 52.219.64.11 (92)\n",
			"my-bucket.s3.ap-south-1.amazonaws.com.", 0, false, false, true,
			[]string{"my-bucket.s3.ap-south-1.amazonaws.com. 0 IN A 52.219.64.11"}, false},
		{"no query captured: the owner of the first record is unknown", "10:00:00.001000 IP 10.0.0.2.53 > 10.0.1.25.40005: 40005 2/0/0 CNAME s3-r-w.ap-south-1.amazonaws.com., A 52.219.64.10 (92)\n",
			"", 0, false, false, true,
			[]string{"s3-r-w.ap-south-1.amazonaws.com. 0 IN A 52.219.64.10"}, false},
		{"cut by the snap length", query + "10:00:00.001000 IP 10.0.0.2.53 > 10.0.1.25.40005: 40005 2/0/0 CNAME s3-r-w.ap-south-1.amazonaws.com. [|domain]\n",
			"my-bucket.s3.ap-south-1.amazonaws.com.", 0, false, false, true,
			[]string{"my-bucket.s3.ap-south-1.amazonaws.com. 0 IN CNAME s3-r-w.ap-south-1.amazonaws.com."}, true},
		{"a record cut by the snap length (-v prints its owner alone)", query +
			"10:00:00.001000 IP 10.0.0.2.53 > 10.0.1.25.40005: 40005*- 2/2/5 my-bucket.s3.ap-south-1.amazonaws.com. A 52.219.64.10, my-bucket.s3.ap-south-1.amazonaws.com. (224)\n",
			"my-bucket.s3.ap-south-1.amazonaws.com.", 0, false, true, false,
			[]string{"my-bucket.s3.ap-south-1.amazonaws.com. 0 IN A 52.219.64.10"}, true},
		{"a record cut by the snap length (a comma, then nothing)", query +
			"10:00:00.001000 IP 10.0.0.2.53 > 10.0.1.25.40005: 40005*- 2/2/5 A 52.219.64.10, (224)\n",
			"my-bucket.s3.ap-south-1.amazonaws.com.", 0, false, true, false,
			[]string{"my-bucket.s3.ap-south-1.amazonaws.com. 0 IN A 52.219.64.10"}, true},
		{"a response code past 15 (EDNS)", query + "10:00:00.001000 IP 10.0.0.2.53 > 10.0.1.25.40005: 40005 BadCookie 0/0/1 (55)\n",
			"my-bucket.s3.ap-south-1.amazonaws.com.", 23, false, false, true, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := readAll(t, tc.text)
			if err != nil {
				t.Fatal(err)
			}
			r := got[len(got)-1]
			m := r.dns
			if m == nil || !m.Response {
				t.Fatalf("no response: %+v", r)
			}
			if r.src != ap("10.0.0.2:53") || r.dst != ap("10.0.1.25:40005") || m.Id != 40005 {
				t.Errorf("response %v > %v id %d", r.src, r.dst, m.Id)
			}
			q := ""
			if len(m.Question) > 0 {
				q = m.Question[0].Name
			}
			if q != tc.question || m.Rcode != tc.rcode || m.Truncated != tc.tc || m.Authoritative != tc.aa || m.RecursionAvailable != tc.ra || r.cut != tc.cut {
				t.Errorf("question %q rcode %d tc %v aa %v ra %v cut %v", q, m.Rcode, m.Truncated, m.Authoritative, m.RecursionAvailable, r.cut)
			}
			if a := answers(m); !slices.Equal(a, tc.answers) {
				t.Errorf("answers:\n%s\nwant\n%s", strings.Join(a, "\n"), strings.Join(tc.answers, "\n"))
			}
			if len(got) == 2 {
				qm := got[0].dns
				if qm.Response || !qm.RecursionDesired || len(qm.Question) != 1 || qm.Question[0].Name != "my-bucket.s3.ap-south-1.amazonaws.com." || qm.Question[0].Qtype != dns.TypeA {
					t.Errorf("query: %v", qm)
				}
			}
		})
	}
}

// Lines of other protocols are skipped and counted; damaged lines are
// named, and every other line is read.
func TestSkippedAndDamaged(t *testing.T) {
	text := `reading from file x.pcap, link-type EN10MB (Ethernet), snapshot length 262144
10:00:00.000000 ARP, Request who-has 10.0.0.2 tell 10.0.1.25, length 28
10:00:00.000001 02:00:00:00:00:25 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Request who-has 10.0.0.2 tell 10.0.1.25, length 28
10:00:00.000002 IP 10.0.1.25 > 10.0.0.2: ICMP echo request, id 1, seq 1, length 64
10:00:00.000003 IP6 fe80::1 > ff02::2: ICMP6, router solicitation, length 16
10:00:00.000004 IP 10.0.1.25.123 > 169.254.169.123.123: NTPv4, Client, length 48
10:00:00.000005 IP 10.0.1.25.5000 > 10.0.0.2.53: UDP, length 20
10:00:00.000005 IP6 fe80::b9a3:aa8f:3e8e:fe86.56964 > ff02::1:3.5355: [udp sum ok] UDP, length 25
10:00:00.000005 STP 802.1d, Config, Flags [none], bridge-id 8000.52:54:00:2f:9f:43.8005, length 35
10:00:00.000006 IP 10.0.1.25.43528 > 10.0.2.50.443: Flags [S], seq 1000, win 64240, length 0
garbage in the middle
10:00:00.000007 IP 10.0.1.25.43528 > 10.0.2.50.https: Flags [S], seq 1000, win 64240, length 0
10:00:00.000008 IP 10.0.2.50.443 > 10.0.1.25.43528: Flags [S.], seq 5000, ack 1001, win 64240, length 0
10:00:00.000009 IP 10.0.1.25.43528 > 10.0.2.50.443: Flags [P.], seq 1:518, ack 1, win 64240, length 500
10:00:00.000010 IP 10.0.1.25.43528 > 10.0.2.50.443: tcp 517
10:00:00.000011 IP 10.0.1.25.43528 > 10.0.2.50.443: Flags [X], seq 1, win 1, length 0
10:00:00.000012 IP 10.0.1.25.43528 > 10.0.2.50.443: Flags [.], win 1, length 0
tcpdump: pcap_loop: truncated dump file; tried to read 1514 captured bytes, only got 100
10:00:00.000013 IP 10.0.1.25.43528 > 10.0.2.50.443: Flags [.], ack 1, win 64240, length 0
10:00:00.000014 IP 10.0.1.25.43528 > 10.0.2.50.443: Flags [P.], seq 1:100000, ack 1, win 1, length 99999
3 packets captured
5 packets received by filter
2 packets dropped by kernel
`
	got, r, err := readAll(t, text)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("end: %v, want an *Error", err)
	}
	want := "x.txt: line 11: not a line tcpdump prints for a packet: \"garbage in the middle\" (and 7 more lines that could not be read: 12, 14, 15, 16, 17, ...)"
	if err.Error() != want {
		t.Errorf("error:\n %s\nwant\n %s", err, want)
	}
	if e.Line != 11 || e.More != 7 {
		t.Errorf("line %d, %d more", e.Line, e.More)
	}
	if len(got) != 3 || got[0].flags != "S" || got[1].flags != "S." || got[2].flags != "." || got[2].ack != 5001 {
		t.Errorf("packets read: %+v", got)
	}
	if n := r.Skipped(); n != 8 {
		t.Errorf("skipped %d, want 8", n)
	}
	if d, known := r.Drops(); d != 2 || !known {
		t.Errorf("drops %d %v, want 2 from tcpdump's count", d, known)
	}
	if !strings.Contains(r.Note(), "; 8 packets of other protocols (ARP, ICMP, UDP other than DNS, ...) were skipped") {
		t.Errorf("note: %s", r.Note())
	}
	for _, line := range []string{
		`IP 10.0.1.25.43528 > 10.0.2.50.https: Flags [S], seq 1000, win 64240, length 0`,
		`IP 10.0.1.25.43528 > 10.0.2.50.443: Flags [P.], seq 1:518, ack 1, win 64240, length 500`,
		`IP 10.0.1.25.43528 > 10.0.2.50.443: tcp 517`,
		`IP 10.0.1.25.43528 > 10.0.2.50.443: Flags [.], win 1, length 0`,
		`IP 10.0.1.25.43528 > 10.0.2.50.443: Flags [P.], seq 1:100000, ack 1, win 1, length 99999`,
	} {
		_, _, err := readAll(t, "10:00:00.000000 "+line+"\n")
		t.Logf("%s\n\t-> %v", line, err)
		if err == nil {
			t.Errorf("%s: no error", line)
		}
	}
}

func TestLongLine(t *testing.T) {
	text := "10:00:00.000000 IP 10.0.0.1.1 > 10.0.0.2.2: Flags [S], seq 1, win 1, length 0 " + strings.Repeat("x", 3*maxLine) + "\n" +
		"10:00:00.000001 IP 10.0.0.1.1 > 10.0.0.2.2: Flags [S], seq 1, win 1, length 0\n"
	got, _, err := readAll(t, text)
	if err == nil || !strings.Contains(err.Error(), "line 1: the line is longer than 65536 bytes") || len(got) != 1 {
		t.Errorf("%d packets, %v", len(got), err)
	}
}

// A capture that ran past midnight: without dates, the time of day going
// back by more than twelve hours is the next day.
func TestMidnight(t *testing.T) {
	got, _, err := readAll(t, `23:59:59.900000 IP 10.0.0.1.1 > 10.0.0.2.2: Flags [S], seq 1, win 1, length 0
23:59:59.800000 IP 10.0.0.1.1 > 10.0.0.2.2: Flags [S], seq 1, win 1, length 0
00:00:00.100000 IP 10.0.0.1.1 > 10.0.0.2.2: Flags [S], seq 1, win 1, length 0
`)
	if err != nil {
		t.Fatal(err)
	}
	day := 24 * time.Hour
	for i, want := range []time.Duration{day - 100*time.Millisecond, day - 200*time.Millisecond, day + 100*time.Millisecond} {
		if d := got[i].ts.Sub(time.Unix(0, 0)); d != want {
			t.Errorf("packet %d at %v after the epoch, want %v", i+1, d, want)
		}
	}
}

func TestDetect(t *testing.T) {
	root := testenv.RepoRoot(t)
	seed, err := os.ReadFile(filepath.Join(root, "testdata", "tcpdump", "seed.txt"))
	if err != nil {
		t.Fatal(err)
	}
	pcap, err := os.ReadFile(filepath.Join(root, "testdata", "tcpdump", "seed.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		data string
		want bool
	}{
		{"tcpdump -nn", string(seed), true},
		{"tcpdump -tttt", "\n2026-11-22 05:34:49.608558 IP 10.0.1.25.51001 > 10.0.0.2.53: 1+ A? x. (20)\n", true},
		{"tcpdump -tt", "1795325689.608558 ARP, Request who-has 10.0.0.2 tell 10.0.1.25, length 28\n", true},
		{"with its messages", "reading from file x.pcap, link-type EN10MB (Ethernet), snapshot length 262144\n", true},
		{"pasted with the command", "$ sudo tcpdump -nn -i eth0 port 443\n15:02:35.977580 IP 10.0.1.25.51002 > 10.0.2.50.443: Flags [S], seq 1, win 1, length 0\n", true},
		{"a shell session", "$ ls\nx.pcap\n", false},
		{"tcpdump -t: refused when read", "IP 10.0.1.25.51001 > 10.0.0.2.53: 1+ A? x. (20)\n", true},
		{"a pcap", string(pcap), false},
		{"html", "<!DOCTYPE html><html>403 Forbidden</html>", false},
		{"a time alone", "10:00:00\n", false},
		{"empty", "", false},
		{"zeros", string(make([]byte, 100)), false},
	} {
		if got := Detect([]byte(tc.data)); got != tc.want {
			t.Errorf("%s: Detect = %v", tc.name, got)
		}
	}
	// The command pasted above its output is read past.
	got, _, err := readAll(t, "$ sudo tcpdump -nn -i eth0 port 443\n15:02:35.977580 IP 10.0.1.25.51002 > 10.0.2.50.443: Flags [S], seq 1, win 1, length 0\n")
	if err != nil || len(got) != 1 {
		t.Errorf("pasted with the command: %d packets, %v", len(got), err)
	}
	// tcpdump -t's lines have no time: one error, for the first line.
	_, _, err = readAll(t, "IP 10.0.1.25.51001 > 10.0.0.2.53: 1+ A? x. (20)\nIP 10.0.1.25.51001 > 10.0.0.2.53: 1+ A? x. (20)\n")
	if err == nil || !strings.HasPrefix(err.Error(), "x.txt: line 1: no timestamp") {
		t.Errorf("tcpdump -t: %v", err)
	}
}

// A real text whose lines were damaged: tcpdump printed it while its
// closing counts (written to stderr, unbuffered) cut into a packet line
// (testdata/tcpdump/interleaved.txt, before make.sh used -l). The cut
// line and the rest of it, now unindented on a line of its own, are
// named in order; every other packet is read.
func TestInterleavedCounts(t *testing.T) {
	text, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "testdata", "tcpdump", "interleaved.txt"))
	if err != nil {
		t.Fatal(err)
	}
	got, r, err := readAll(t, string(text))
	want := `x.txt: line 29: an IP packet without addresses tcpdump -nn prints (a line cut short, or mixed with other output?): "IP 127.219.64.10.443 > 127.040 packets captured" (and 1 more line that could not be read: 32)`
	if err == nil || err.Error() != want {
		t.Errorf("error:\n %v\nwant\n %s", err, want)
	}
	// 44 lines: tcpdump's banner, its three counts, 40 packet lines of
	// which two are the halves of one packet.
	if len(got) != 39 {
		t.Errorf("%d packets read, want 39", len(got))
	}
	if d, known := r.Drops(); d != 0 || !known {
		t.Errorf("drops %d %v: tcpdump said 0", d, known)
	}
	last := got[len(got)-1]
	// Its "ack 756" is relative to the client's SYN, "seq 4110724149".
	if last.src != ap("127.219.64.10:443") || last.flags != "." || last.ack != 4110724149+756 {
		t.Errorf("the last packet: %+v", last)
	}
}

// tcpdump decodes a DNS message over TCP when a segment holds exactly one,
// behind its length (lines from the corpus's dns_tcp.pcap and
// testdata/real/dns-tcp.pcap): it becomes the segment's payload, as long
// as the segment. A segment that does not (tcpdump says "[prefix length
// ...] (invalid)") stays a segment without its payload.
func TestDNSOverTCP(t *testing.T) {
	text := `09:21:03.847323 IP 192.168.1.11.33779 > 209.87.249.18.53: Flags [P.], seq 1:59, ack 1, win 64240, length 58 17177+ [1au] A? www.tcpdump.org. (56)
09:21:03.973180 IP 209.87.249.18.53 > 192.168.1.11.33779: Flags [P.], seq 1:227, ack 59, win 64240, length 226 17177*- 2/2/5 A 192.139.46.66, A 198.199.88.104 (224)
09:21:03.973190 IP 209.87.249.18.53 > 192.168.1.11.33779: Flags [.], seq 227:1435, ack 59, win 64240, length 1208 [prefix length(1656) != length(1206)] (invalid)
09:21:03.973200 IP (tos 0x0, ttl 64, id 28649, offset 0, flags [DF], proto TCP (6), length 122)
    192.168.1.11.33779 > 209.87.249.18.53: Flags [P.], cksum 0x2ff8 (correct), seq 59:129, ack 1435, win 64, length 70 36064+ [1au] A? s3.ap-south-1.amazonaws.com. ar: . OPT UDPsize=1232 [COOKIE 38c374247d67fe34] (68)
`
	got, _, err := readAll(t, text)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("%d packets", len(got))
	}
	q, r, invalid, q2 := got[0], got[1], got[2], got[3]
	if q.dns == nil || q.dns.Response || q.dns.Id != 17177 || len(q.dns.Question) != 1 || q.dns.Question[0].Name != "www.tcpdump.org." || q.payload != 58 {
		t.Errorf("query: %+v %v", q, q.dns)
	}
	if r.dns == nil || !r.dns.Response || r.payload != 226 || r.seq != q.ack || r.cut {
		t.Fatalf("response: %+v %v", r, r.dns)
	}
	want := []string{"www.tcpdump.org. 0 IN A 192.139.46.66", "www.tcpdump.org. 0 IN A 198.199.88.104"}
	if a := answers(r.dns); !slices.Equal(a, want) {
		t.Errorf("answers %q, want %q", a, want)
	}
	if invalid.dns != nil || invalid.payload != 1208 || !invalid.cut {
		t.Errorf("a segment tcpdump did not decode: %+v", invalid)
	}
	if q2.dns == nil || q2.dns.Question[0].Name != "s3.ap-south-1.amazonaws.com." || q2.payload != 70 {
		t.Errorf("query with -vv: %+v %v", q2, q2.dns)
	}
}

// What the reader keeps across lines has caps: more conversations than
// maxConvs, all active at once, and more unanswered queries than
// maxQueries leave no more than the caps, and every line is read.
func TestStateBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 330,000 lines")
	}
	var b strings.Builder
	n := 0
	for i := range maxConvs + 1000 {
		fmt.Fprintf(&b, "10:00:00.%06d IP 10.%d.%d.%d.40000 > 10.0.2.50.443: Flags [S], seq 1, win 1, length 0\n", i%1000000, i>>16&0xff, i>>8&0xff, i&0xff)
		n++
	}
	for i := range maxQueries + 1000 {
		fmt.Fprintf(&b, "10:00:01.%06d IP 10.%d.%d.%d.40000 > 10.0.0.2.53: %d+ A? b%d.s3.amazonaws.com. (40)\n", i%1000000, 100+i>>16, i>>8&0xff, i&0xff, i&0xffff, i)
		n++
	}
	r := NewReader("x.txt", strings.NewReader(b.String()))
	var f capture.Frame
	read := 0
	for {
		err := r.Next(&f)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		read++
	}
	if read != n {
		t.Errorf("%d packets read of %d", read, n)
	}
	if c, q := len(r.p.convs), len(r.p.queries); c > maxConvs || q > maxQueries {
		t.Errorf("%d conversations (cap %d), %d queries (cap %d)", c, maxConvs, q, maxQueries)
	}
}
