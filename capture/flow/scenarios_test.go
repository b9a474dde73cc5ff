package flow

import (
	"bytes"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/miekg/dns"

	"github.com/vpce-verify/vpce-verify/capture"
	"github.com/vpce-verify/vpce-verify/capture/pcapfile"
	"github.com/vpce-verify/vpce-verify/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the scenario captures in ../testdata")

// Scenario addresses, as in the README: the host, the VPC resolver, the S3
// interface endpoint, and a public S3 address (ap-south-1, 52.219.64.0/22).
const (
	scHost       = "10.0.1.25"
	scResolver   = "10.0.0.2:53"
	scEndpoint   = "10.0.2.50"
	scPublicS3   = "52.219.64.10"
	scHost6      = "fd00:10:0:1::25"
	scEndpoint6  = "fd00:10:0:2::50"
	scPublicS3v6 = "2406:da60:a000::10"
	scRegional   = "s3.ap-south-1.amazonaws.com"
	scBucket     = "my-bucket.s3.ap-south-1.amazonaws.com"
)

// wantFlow is what a scenario says about one of its connections.
type wantFlow struct {
	client, server string
	state          string
	sni            string
	dnsNames       []string
}

// scenario is one capture in ../testdata: how it is built and what it
// contains, stated here and checked against what we read back.
type scenario struct {
	file  string
	about string
	build func(b *frameBuilder)
	link  layers.LinkType
	flows []wantFlow
	dns   int // DNS transactions
}

// helloFor returns a real ClientHello from crypto/tls for the server name.
func helloFor(t testing.TB, name string) []byte {
	return helloFromGo(t, &tls.Config{ServerName: name, NextProtos: []string{"http/1.1"}})
}

// lookup writes a DNS query from the host to the resolver and its answer.
func lookup(b *frameBuilder, port uint16, qname string, qtype uint16, answers ...[3]string) {
	q, r := dnsPair(b.t, port, qname, qtype, answers...)
	host, resolver := netip.MustParseAddr(scHost), netip.MustParseAddrPort(scResolver)
	if qtype == dns.TypeAAAA && len(answers) > 0 && answers[len(answers)-1][1] == "AAAA" && b.v6 {
		host, resolver = netip.MustParseAddr(scHost6), netip.MustParseAddrPort("[fd00:ec2::253]:53")
	}
	b.udp(netip.AddrPortFrom(host, port), resolver, q)
	b.udp(resolver, netip.AddrPortFrom(host, port), r)
}

// tlsSession writes a connection carrying a ClientHello for name, a server
// flight, some application data each way, and a clean close.
func tlsSession(b *frameBuilder, client, server, name string) {
	c := b.conv(client, server)
	c.handshake()
	c.send(true, "PA", helloFor(b.t, name))
	c.send(false, "PA", bytes.Repeat([]byte{0x16}, 1200)) // stands in for the server flight
	c.send(true, "PA", bytes.Repeat([]byte{0x17}, 300))
	c.send(false, "PA", bytes.Repeat([]byte{0x17}, 900))
	c.close()
}

func endpointSession(b *frameBuilder) {
	lookup(b, 40001, scRegional, dns.TypeA, [3]string{scRegional, "A", scEndpoint})
	tlsSession(b, scHost+":43528", scEndpoint+":443", scRegional)
}

var endpointFlows = []wantFlow{{scHost + ":43528", scEndpoint + ":443", "SF", scRegional, []string{scRegional}}}

func scenarios() []scenario {
	linkVariant := func(file, about string, link layers.LinkType, set func(b *frameBuilder)) scenario {
		return scenario{file: file, about: about, link: link, dns: 1, flows: endpointFlows,
			build: func(b *frameBuilder) { set(b); endpointSession(b) }}
	}
	nop := func(*frameBuilder) {}
	return append([]scenario{
		{file: "s3-endpoint.pcap", link: layers.LinkTypeEthernet, dns: 1, flows: endpointFlows,
			about: "DNS answers the regional S3 name with the interface endpoint 10.0.2.50; one TLS connection to it with that SNI",
			build: endpointSession},
		{file: "s3-public.pcap", link: layers.LinkTypeEthernet, dns: 1,
			about: "DNS answers the bucket name with a public S3 address (52.219.64.10, ap-south-1); one TLS connection to it",
			build: func(b *frameBuilder) {
				lookup(b, 40002, scBucket, dns.TypeA, [3]string{scBucket, "A", scPublicS3})
				tlsSession(b, scHost+":43530", scPublicS3+":443", scBucket)
			},
			flows: []wantFlow{{scHost + ":43530", scPublicS3 + ":443", "SF", scBucket, []string{scBucket}}}},
		{file: "s3-mixed.pcapng", link: layers.LinkTypeEthernet, dns: 2,
			about: "pcapng, two interfaces (ens5 Ethernet, any LINUX_SLL2): one S3 connection to the endpoint, one leak to the public address",
			build: func(b *frameBuilder) {
				endpointSession(b)
				b.iface, b.link = 1, layers.LinkTypeLinuxSLL2
				lookup(b, 40003, "logs.s3.ap-south-1.amazonaws.com", dns.TypeA, [3]string{"logs.s3.ap-south-1.amazonaws.com", "A", scPublicS3})
				tlsSession(b, scHost+":43531", scPublicS3+":443", "logs.s3.ap-south-1.amazonaws.com")
			},
			flows: []wantFlow{endpointFlows[0], {scHost + ":43531", scPublicS3 + ":443", "SF", "logs.s3.ap-south-1.amazonaws.com", []string{"logs.s3.ap-south-1.amazonaws.com"}}}},
		{file: "s3-blocked.pcap", link: layers.LinkTypeEthernet, dns: 1,
			about: "the endpoint refuses (REJ) one attempt; another endpoint address never answers (S0, SYN sent three times); nothing established",
			build: func(b *frameBuilder) {
				lookup(b, 40004, scRegional, dns.TypeA, [3]string{scRegional, "A", scEndpoint}, [3]string{scRegional, "A", "10.0.3.50"})
				c := b.conv(scHost+":43540", scEndpoint+":443")
				c.send(true, "S", nil)
				c.send(false, "RA", nil)
				c = b.conv(scHost+":43541", "10.0.3.50:443")
				c.send(true, "S", nil)
				c.at(true, "S", c.cseq-1, nil)
				c.at(true, "S", c.cseq-1, nil)
			},
			flows: []wantFlow{
				{scHost + ":43540", scEndpoint + ":443", "REJ", "", []string{scRegional}},
				{scHost + ":43541", "10.0.3.50:443", "S0", "", []string{scRegional}},
			}},
		{file: "cname-chain.pcap", link: layers.LinkTypeEthernet, dns: 1,
			about: "the bucket name is a CNAME to s3-r-w.ap-south-1.amazonaws.com, whose A record is the endpoint",
			build: func(b *frameBuilder) {
				lookup(b, 40005, scBucket, dns.TypeA,
					[3]string{scBucket, "CNAME", "s3-r-w.ap-south-1.amazonaws.com"},
					[3]string{"s3-r-w.ap-south-1.amazonaws.com", "A", scEndpoint})
				tlsSession(b, scHost+":43550", scEndpoint+":443", scBucket)
			},
			flows: []wantFlow{{scHost + ":43550", scEndpoint + ":443", "SF", scBucket, []string{scBucket, "s3-r-w.ap-south-1.amazonaws.com"}}}},
		{file: "split-hello.pcap", link: layers.LinkTypeEthernet, dns: 0,
			about: "a 1.5 KB post-quantum ClientHello (Go crypto/tls, X25519MLKEM768) in two segments; the second arrives first and the first is retransmitted",
			build: func(b *frameBuilder) {
				c := b.conv(scHost+":43560", scEndpoint+":443")
				c.handshake()
				hello := helloFor(b.t, scBucket)
				if len(hello) <= 1448 {
					b.t.Fatalf("the Go ClientHello is %d bytes: no longer needs two segments", len(hello))
				}
				seq := c.cseq
				c.at(true, "PA", seq+1448, hello[1448:])
				c.at(true, "A", seq, hello[:1448])
				c.at(true, "A", seq, hello[:1448])
				c.cseq += uint32(len(hello))
				c.send(false, "PA", bytes.Repeat([]byte{0x16}, 1200))
				c.close()
			},
			flows: []wantFlow{{scHost + ":43560", scEndpoint + ":443", "SF", scBucket, nil}}},
		{file: "ipv6-endpoint.pcap", link: layers.LinkTypeEthernet, dns: 1,
			about: "IPv6: AAAA answer from the VPC resolver fd00:ec2::253 with the endpoint fd00:10:0:2::50; TLS over IPv6",
			build: func(b *frameBuilder) {
				b.v6 = true
				lookup(b, 40006, scRegional, dns.TypeAAAA, [3]string{scRegional, "AAAA", scEndpoint6})
				tlsSession(b, "["+scHost6+"]:43570", "["+scEndpoint6+"]:443", scRegional)
			},
			flows: []wantFlow{{"[" + scHost6 + "]:43570", "[" + scEndpoint6 + "]:443", "SF", scRegional, []string{scRegional}}}},
		{file: "ipv6-public.pcap", link: layers.LinkTypeEthernet, dns: 1,
			about: "IPv6: the dual-stack name answered with a public S3 IPv6 address (2406:da60:a000::10, ap-south-1); TLS to it",
			build: func(b *frameBuilder) {
				b.v6 = true
				name := "my-bucket.s3.dualstack.ap-south-1.amazonaws.com"
				lookup(b, 40007, name, dns.TypeAAAA, [3]string{name, "AAAA", scPublicS3v6})
				tlsSession(b, "["+scHost6+"]:43571", "["+scPublicS3v6+"]:443", name)
			},
			flows: []wantFlow{{"[" + scHost6 + "]:43571", "[" + scPublicS3v6 + "]:443", "SF", "my-bucket.s3.dualstack.ap-south-1.amazonaws.com", []string{"my-bucket.s3.dualstack.ap-south-1.amazonaws.com"}}}},
		{file: "global-name.pcap", link: layers.LinkTypeEthernet, dns: 1,
			about: "the legacy global name s3.amazonaws.com, answered with a us-east-1 S3 address; TLS to it",
			build: func(b *frameBuilder) {
				lookup(b, 40008, "s3.amazonaws.com", dns.TypeA, [3]string{"s3.amazonaws.com", "A", "52.216.25.1"})
				tlsSession(b, scHost+":43580", "52.216.25.1:443", "s3.amazonaws.com")
			},
			flows: []wantFlow{{scHost + ":43580", "52.216.25.1:443", "SF", "s3.amazonaws.com", []string{"s3.amazonaws.com"}}}},
		{file: "snaplen-public.pcap", link: layers.LinkTypeEthernet, dns: 0,
			about: "captured with a 96-byte snap length: the ClientHello is cut, only the public S3 address is left",
			build: func(b *frameBuilder) {
				b.snap = 96
				tlsSession(b, scHost+":43590", scPublicS3+":443", scBucket)
			},
			flows: []wantFlow{{scHost + ":43590", scPublicS3 + ":443", "SF", "", nil}}},
		{file: "gateway-route.pcap", link: layers.LinkTypeEthernet, dns: 1,
			about: "public S3 address in ap-south-1, no interface endpoint: with testdata/aws route tables it is a gateway endpoint",
			build: func(b *frameBuilder) {
				lookup(b, 40009, scRegional, dns.TypeA, [3]string{scRegional, "A", "52.219.62.20"})
				tlsSession(b, scHost+":43600", "52.219.62.20:443", scRegional)
			},
			flows: []wantFlow{{scHost + ":43600", "52.219.62.20:443", "SF", scRegional, []string{scRegional}}}},
		{file: "dns-tcp.pcap", link: layers.LinkTypeEthernet, dns: 2,
			about: "a truncated UDP answer (TC) retried over TCP, then TLS to the endpoint",
			build: func(b *frameBuilder) {
				t := b.t
				q, r := dnsPair(t, 7, scRegional, dns.TypeA, [3]string{scRegional, "A", scEndpoint})
				m := new(dns.Msg)
				if err := m.Unpack(r); err != nil {
					t.Fatal(err)
				}
				m.Truncated, m.Answer = true, nil
				tc, _ := m.Pack()
				host, resolver := netip.MustParseAddrPort(scHost+":40010"), netip.MustParseAddrPort(scResolver)
				b.udp(host, resolver, q)
				b.udp(resolver, host, tc)
				c := b.conv(scHost+":40011", scResolver)
				c.handshake()
				c.send(true, "PA", append([]byte{0, byte(len(q))}, q...))
				c.send(false, "PA", append([]byte{0, byte(len(r))}, r...))
				c.close()
				tlsSession(b, scHost+":43610", scEndpoint+":443", scRegional)
			},
			flows: []wantFlow{{scHost + ":40011", scResolver, "SF", "", nil}, {scHost + ":43610", scEndpoint + ":443", "SF", scRegional, []string{scRegional}}}},
		{file: "region-mismatch.pcap", link: layers.LinkTypeEthernet, dns: 1,
			about: "a client configured for us-east-1 whose S3 name was answered with an ap-south-1 address",
			build: func(b *frameBuilder) {
				name := "my-bucket.s3.us-east-1.amazonaws.com"
				lookup(b, 40012, name, dns.TypeA, [3]string{name, "A", scPublicS3})
				tlsSession(b, scHost+":43620", scPublicS3+":443", name)
			},
			flows: []wantFlow{{scHost + ":43620", scPublicS3 + ":443", "SF", "my-bucket.s3.us-east-1.amazonaws.com", []string{"my-bucket.s3.us-east-1.amazonaws.com"}}}},
		{file: "private-unknown.pcap", link: layers.LinkTypeEthernet, dns: 0,
			about: "TLS for an S3 name to a private address no DNS answer or flag explains (a proxy? an undeclared endpoint?)",
			build: func(b *frameBuilder) {
				tlsSession(b, scHost+":43630", "10.0.9.9:443", scBucket)
			},
			flows: []wantFlow{{scHost + ":43630", "10.0.9.9:443", "SF", scBucket, nil}}},
		linkVariant("link-sll.pcap", "Linux cooked capture v1 (LINUX_SLL)", layers.LinkTypeLinuxSLL, nop),
		linkVariant("link-sll2.pcap", "tcpdump -i any: LINUX_SLL2 (276)", layers.LinkTypeLinuxSLL2, nop),
		linkVariant("link-raw.pcap", "raw IP (LINKTYPE_RAW 101)", layers.LinkTypeRaw, nop),
		linkVariant("link-ipv4.pcap", "LINKTYPE_IPV4 (228)", layers.LinkTypeIPv4, nop),
		linkVariant("link-null.pcap", "BSD loopback (NULL, host byte order)", layers.LinkTypeNull, nop),
		linkVariant("link-loop.pcap", "OpenBSD loopback (LOOP, network byte order)", layers.LinkTypeLoop, nop),
		linkVariant("link-vlan.pcap", "Ethernet with an 802.1Q tag (VLAN 100)", layers.LinkTypeEthernet, func(b *frameBuilder) { b.vlans = []uint16{100} }),
		linkVariant("link-qinq.pcap", "Ethernet with QinQ (802.1ad 10, 802.1Q 100)", layers.LinkTypeEthernet, func(b *frameBuilder) { b.vlans = []uint16{10, 100} }),
		linkVariant("vxlan-mirror.pcap", "VPC Traffic Mirroring: every packet in VXLAN (UDP 4789, VNI 0x1234) from 172.31.0.238", layers.LinkTypeEthernet, func(b *frameBuilder) { b.tunnel = "vxlan" }),
		linkVariant("geneve-gwlb.pcap", "Gateway Load Balancer: every packet in Geneve (UDP 6081) with an option", layers.LinkTypeEthernet, func(b *frameBuilder) { b.tunnel = "geneve" }),
	}, failSafeScenarios()...)
}

func scenarioDir(t *testing.T) string {
	return filepath.Join(testenv.RepoRoot(t), "testdata")
}

// writeCapture writes frames as pcap (nanosecond) or, for .pcapng names,
// pcapng with one interface per link type seen, using gopacket's writers:
// a second implementation next to our reader.
func writeCapture(t *testing.T, path string, frames []capture.Frame) {
	t.Helper()
	var buf bytes.Buffer
	if filepath.Ext(path) == ".pcapng" {
		var ifaces []pcapgo.NgInterface
		for _, f := range frames {
			for len(ifaces) <= f.Interface {
				ifaces = append(ifaces, pcapgo.NgInterface{})
			}
			ifaces[f.Interface] = pcapgo.NgInterface{
				Name: []string{"ens5", "any"}[min(f.Interface, 1)], LinkType: f.LinkType,
				TimestampResolution: 9, SnapLength: 262144,
			}
		}
		w, err := pcapgo.NewNgWriterInterface(&buf, ifaces[0], pcapgo.NgWriterOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, ifc := range ifaces[1:] {
			if _, err := w.AddInterface(ifc); err != nil {
				t.Fatal(err)
			}
		}
		for _, f := range frames {
			ci := gopacket.CaptureInfo{Timestamp: f.TS, CaptureLength: len(f.Data), Length: f.WireLen, InterfaceIndex: f.Interface}
			if err := w.WritePacket(ci, f.Data); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	} else {
		w := pcapgo.NewWriterNanos(&buf)
		snap := uint32(262144)
		for _, f := range frames {
			if len(f.Data) < f.WireLen {
				snap = uint32(len(f.Data))
			}
		}
		if err := w.WriteFileHeader(snap, frames[0].LinkType); err != nil {
			t.Fatal(err)
		}
		for _, f := range frames {
			ci := gopacket.CaptureInfo{Timestamp: f.TS, CaptureLength: len(f.Data), Length: f.WireLen}
			if err := w.WritePacket(ci, f.Data); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// readCapture reads a capture file through our reader into a new Analyzer.
func readCapture(t *testing.T, path string) *Result {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%v (run go test ./capture -run TestScenarios -update to write it)", err)
	}
	defer f.Close()
	r, err := pcapfile.NewReader(path, f)
	if err != nil {
		t.Fatal(err)
	}
	a := NewAnalyzer(Options{})
	var fr capture.Frame
	for {
		err := r.Next(&fr)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Add(&fr); err != nil {
			t.Fatal(err)
		}
	}
	return a.Result()
}

// TestScenarios checks every capture in ../testdata against what its
// scenario says it contains. With -update it first rewrites the files.
func TestScenarios(t *testing.T) {
	dir := scenarioDir(t)
	for _, sc := range scenarios() {
		t.Run(sc.file, func(t *testing.T) {
			path := filepath.Join(dir, sc.file)
			if *update {
				b := newBuilder(t, sc.link)
				sc.build(b)
				writeCapture(t, path, b.frames)
			}
			r := readCapture(t, path)
			if len(r.DNS) != sc.dns {
				t.Errorf("%d DNS transactions, want %d", len(r.DNS), sc.dns)
			}
			if len(r.Flows) != len(sc.flows) {
				t.Fatalf("%d flows, want %d", len(r.Flows), len(sc.flows))
			}
			for i, want := range sc.flows {
				f := r.Flows[i]
				got := wantFlow{f.Client.String(), f.Server.String(), f.ConnState(), f.TLS.SNI, f.DNSNames}
				if got.client != want.client || got.server != want.server || got.state != want.state ||
					got.sni != want.sni || !slices.Equal(got.dnsNames, want.dnsNames) {
					t.Errorf("flow %d = %+v, want %+v", i, got, want)
				}
			}
		})
	}
}

// TestScenariosMatchTshark reads the scenario captures with tshark, which
// decodes them independently, and compares the SNI names, the DNS answers
// and the TCP handshake packets with ours.
func TestScenariosMatchTshark(t *testing.T) {
	tshark := testenv.Tool(t, "tshark")
	dir := scenarioDir(t)
	for _, sc := range scenarios() {
		t.Run(sc.file, func(t *testing.T) {
			path := filepath.Join(dir, sc.file)
			r := readCapture(t, path)
			var oursSNI, oursDNS, oursSYN []string
			for _, f := range r.Flows {
				if f.TLS.SNI != "" {
					oursSNI = append(oursSNI, f.TLS.SNI)
				}
				if f.TLS.SecondSNI != "" {
					oursSNI = append(oursSNI, f.TLS.SecondSNI)
				}
				if f.ep[0].sawSYN {
					oursSYN = append(oursSYN, fmt.Sprintf("%d|%d|%d", f.Client.Port(), f.Server.Port(), f.ep[0].isn))
				}
			}
			for _, tx := range r.DNS {
				for _, a := range tx.Answers {
					if a.Type == "A" || a.Type == "AAAA" {
						oursDNS = append(oursDNS, a.Addr.String())
					}
				}
			}
			// One tshark pass: ClientHellos, DNS responses and SYNs.
			var theirSNI, theirDNS, theirSYN []string
			lines := tsharkFields(t, tshark, path,
				"tls.handshake.type==1 || dns.flags.response==1 || (tcp.flags.syn==1 && tcp.flags.ack==0)",
				"tls.handshake.extensions_server_name", "dns.flags.response", "dns.a", "dns.aaaa",
				"tcp.flags.syn", "tcp.flags.ack", "tcp.srcport", "tcp.dstport", "tcp.seq_raw")
			for _, line := range lines {
				f := strings.Split(line, "|")
				if f[0] != "" {
					theirSNI = append(theirSNI, f[0])
				}
				if f[1] == "1" {
					theirDNS = append(theirDNS, splitNonEmpty(f[2]+","+f[3])...)
				}
				if f[4] == "1" && f[5] == "0" {
					// Tunnels give the outer and inner ports: the inner come
					// last. A retransmitted SYN has the same ISN; a 4-tuple
					// used again, another.
					syn := lastValue(f[6]) + "|" + lastValue(f[7]) + "|" + lastValue(f[8])
					if !slices.Contains(theirSYN, syn) {
						theirSYN = append(theirSYN, syn)
					}
				}
			}
			if !slices.Equal(oursSNI, theirSNI) {
				t.Errorf("SNI: ours %q, tshark %q", oursSNI, theirSNI)
			}
			if !slices.Equal(oursDNS, theirDNS) {
				t.Errorf("DNS addresses: ours %q, tshark %q", oursDNS, theirDNS)
			}
			if !slices.Equal(oursSYN, theirSYN) {
				t.Errorf("connections opened by a SYN: ours %q, tshark %q", oursSYN, theirSYN)
			}
		})
	}
}

func lastValue(s string) string {
	v := strings.Split(s, ",")
	return v[len(v)-1]
}

// tsharkFields runs tshark over a capture with a display filter and returns
// one line per matching frame, fields separated by "|" and repeated values
// by ",".
func tsharkFields(t *testing.T, tshark, path, filter string, fields ...string) []string {
	t.Helper()
	// Out-of-order segments are reassembled, as we do (off by default in
	// tshark 4.0).
	// UDP 8472 is VXLAN (Linux's port), as we decode it.
	args := []string{"-n", "-o", "tcp.reassemble_out_of_order:TRUE", "-d", "udp.port==8472,vxlan", "-r", path, "-Y", filter,
		"-T", "fields", "-E", "separator=|", "-E", "aggregator=,"}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	out, err := exec.Command(tshark, args...).Output()
	if err != nil {
		t.Fatalf("tshark %v: %v", args, err)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// splitNonEmpty splits a tshark line into its non-empty values.
func splitNonEmpty(line string) []string {
	return strings.FieldsFunc(line, func(r rune) bool { return r == '|' || r == ',' })
}
