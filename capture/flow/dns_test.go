package flow

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/miekg/dns"

	"github.com/vpce-verify/vpce-verify/internal/testenv"
)

const (
	hostAddr     = "10.0.1.25:40000"
	resolverAddr = "10.0.0.2:53"
)

// dnsPair builds a query and its response; the answer chain is given as
// (owner, type, data) triples.
func dnsPair(t testing.TB, id uint16, qname string, qtype uint16, answers ...[3]string) (q, r []byte) {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(qname), qtype)
	m.Id = id
	resp := new(dns.Msg)
	resp.SetReply(m)
	resp.Compress = true // as servers send it
	for _, a := range answers {
		hdr := dns.RR_Header{Name: dns.Fqdn(a[0]), Class: dns.ClassINET, Ttl: 60}
		switch a[1] {
		case "CNAME":
			hdr.Rrtype = dns.TypeCNAME
			resp.Answer = append(resp.Answer, &dns.CNAME{Hdr: hdr, Target: dns.Fqdn(a[2])})
		case "A":
			hdr.Rrtype = dns.TypeA
			resp.Answer = append(resp.Answer, &dns.A{Hdr: hdr, A: net.ParseIP(a[2])})
		case "AAAA":
			hdr.Rrtype = dns.TypeAAAA
			resp.Answer = append(resp.Answer, &dns.AAAA{Hdr: hdr, AAAA: net.ParseIP(a[2])})
		}
	}
	var err error
	if q, err = m.Pack(); err != nil {
		t.Fatal(err)
	}
	if r, err = resp.Pack(); err != nil {
		t.Fatal(err)
	}
	return q, r
}

func TestDNSOverUDP(t *testing.T) {
	b := newBuilder(t, layers.LinkTypeEthernet)
	host, resolver := netip.MustParseAddrPort(hostAddr), netip.MustParseAddrPort(resolverAddr)
	q, r := dnsPair(t, 0x1234, "my-bucket.s3.ap-south-1.amazonaws.com", dns.TypeA,
		[3]string{"my-bucket.s3.ap-south-1.amazonaws.com", "CNAME", "s3-r-w.ap-south-1.amazonaws.com"},
		[3]string{"s3-r-w.ap-south-1.amazonaws.com", "A", "10.0.2.50"},
		[3]string{"s3-r-w.ap-south-1.amazonaws.com", "A", "10.0.3.50"})
	b.udp(host, resolver, q)
	b.udp(resolver, host, r)
	// A connection to the answer, and one to an address no answer gave.
	b.conv("10.0.1.25:43528", "10.0.2.50:443").handshake()
	b.conv("10.0.1.25:43529", "10.0.9.9:443").handshake()
	res := b.analyze(Options{})

	if len(res.DNS) != 1 {
		t.Fatalf("got %d DNS transactions, want 1", len(res.DNS))
	}
	tx := res.DNS[0]
	if tx.QName != "my-bucket.s3.ap-south-1.amazonaws.com" || tx.QType != "A" || tx.RCode != "NOERROR" ||
		tx.Transport != "udp" || tx.Client != host || tx.Server != resolver || tx.QueryTS.IsZero() || tx.ResponseTS.IsZero() {
		t.Errorf("transaction = %+v", tx)
	}
	want := []DNSAnswer{
		{Name: "my-bucket.s3.ap-south-1.amazonaws.com", Type: "CNAME", Target: "s3-r-w.ap-south-1.amazonaws.com", TTL: 60},
		{Name: "s3-r-w.ap-south-1.amazonaws.com", Type: "A", Addr: netip.MustParseAddr("10.0.2.50"), TTL: 60},
		{Name: "s3-r-w.ap-south-1.amazonaws.com", Type: "A", Addr: netip.MustParseAddr("10.0.3.50"), TTL: 60},
	}
	if !slices.Equal(tx.Answers, want) {
		t.Errorf("answers = %+v, want %+v", tx.Answers, want)
	}
	names := []string{"my-bucket.s3.ap-south-1.amazonaws.com", "s3-r-w.ap-south-1.amazonaws.com"}
	if got := res.Flows[0].DNSNames; !slices.Equal(got, names) {
		t.Errorf("flow to the answer: dns names = %q, want %q", got, names)
	}
	if got := res.Flows[1].DNSNames; len(got) != 0 {
		t.Errorf("flow to another address: dns names = %q, want none", got)
	}
}

func TestDNSAnswerAfterFlowIsNotCorrelated(t *testing.T) {
	b := newBuilder(t, layers.LinkTypeEthernet)
	b.conv("10.0.1.25:43528", "10.0.2.50:443").handshake()
	q, r := dnsPair(t, 7, "s3.ap-south-1.amazonaws.com", dns.TypeA, [3]string{"s3.ap-south-1.amazonaws.com", "A", "10.0.2.50"})
	b.udp(netip.MustParseAddrPort(hostAddr), netip.MustParseAddrPort(resolverAddr), q)
	b.udp(netip.MustParseAddrPort(resolverAddr), netip.MustParseAddrPort(hostAddr), r)
	res := b.analyze(Options{})
	if got := res.Flows[0].DNSNames; len(got) != 0 {
		t.Errorf("dns names = %q: an answer seen after the connection began cannot explain it", got)
	}
}

func TestDNSCutBySnapLength(t *testing.T) {
	var answers [][3]string
	for i := range 20 {
		answers = append(answers, [3]string{"many.example", "A", netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)}).String()})
	}
	_, r := dnsPair(t, 9, "many.example", dns.TypeA, answers...)
	b := newBuilder(t, layers.LinkTypeEthernet)
	// Ethernet 14 + IPv4 20 + UDP 8 + DNS header 12 + question 18 + two
	// whole A records (2 x 16, compressed owner) + a few bytes more.
	b.snap = 14 + 20 + 8 + 12 + 18 + 32 + 5
	b.udp(netip.MustParseAddrPort(resolverAddr), netip.MustParseAddrPort(hostAddr), r)
	res := b.analyze(Options{})
	if len(res.DNS) != 1 {
		t.Fatalf("got %d transactions, want 1", len(res.DNS))
	}
	tx := res.DNS[0]
	if !tx.Incomplete || len(tx.Answers) != 2 || tx.Answers[1].Addr.String() != "192.0.2.2" || tx.QName != "many.example" {
		t.Errorf("incomplete %v answers %+v, want the 2 records that were captured whole", tx.Incomplete, tx.Answers)
	}
}

func TestDNSOverTCP(t *testing.T) {
	framed := func(msgs ...[]byte) []byte {
		var b []byte
		for _, m := range msgs {
			b = binary.BigEndian.AppendUint16(b, uint16(len(m)))
			b = append(b, m...)
		}
		return b
	}
	q1, r1 := dnsPair(t, 1, "s3.ap-south-1.amazonaws.com", dns.TypeA, [3]string{"s3.ap-south-1.amazonaws.com", "A", "10.0.2.50"})
	q2, r2 := dnsPair(t, 2, "s3.ap-south-1.amazonaws.com", dns.TypeAAAA, [3]string{"s3.ap-south-1.amazonaws.com", "AAAA", "fd00:10:0:2::50"})
	b := newBuilder(t, layers.LinkTypeEthernet)
	c := b.conv("10.0.1.25:40001", "10.0.0.2:53")
	c.handshake()
	// Two queries in one segment; the responses split mid-message and
	// delivered out of order.
	c.send(true, "PA", framed(q1, q2))
	resp := framed(r1, r2)
	start := c.sseq
	c.at(false, "PA", start+20, resp[20:])
	c.at(false, "PA", start, resp[:20])
	c.sseq += uint32(len(resp))
	c.close()
	res := b.analyze(Options{})
	if len(res.DNS) != 2 {
		t.Fatalf("got %d transactions, want 2: %+v", len(res.DNS), res.DNS)
	}
	for i, want := range []string{"10.0.2.50", "fd00:10:0:2::50"} {
		tx := res.DNS[i]
		if tx.Transport != "tcp" || tx.RCode != "NOERROR" || len(tx.Answers) != 1 || tx.Answers[0].Addr.String() != want {
			t.Errorf("transaction %d = %+v, want answer %s over tcp", i, tx, want)
		}
	}
	if len(res.Flows) != 1 || res.Flows[0].ConnState() != "SF" {
		t.Errorf("the DNS connection is a flow too: got %d flows", len(res.Flows))
	}
}

// A segment that arrives before an earlier message is whole must survive
// the parsing of that message: three responses delivered as r1's start, r3
// (early), r1's rest, then r2.
func TestDNSOverTCPEarlySegment(t *testing.T) {
	framed := func(m []byte) []byte { return append(binary.BigEndian.AppendUint16(nil, uint16(len(m))), m...) }
	var queries, resps [][]byte
	for i, ip := range []string{"10.0.2.50", "10.0.2.51", "10.0.2.52"} {
		name := fmt.Sprintf("b%d.s3.ap-south-1.amazonaws.com", i)
		q, r := dnsPair(t, uint16(i+1), name, dns.TypeA, [3]string{name, "A", ip})
		queries, resps = append(queries, framed(q)), append(resps, framed(r))
	}
	b := newBuilder(t, layers.LinkTypeEthernet)
	c := b.conv("10.0.1.25:40002", "10.0.0.2:53")
	c.handshake()
	c.send(true, "PA", slices.Concat(queries...))
	r1, r2, r3 := resps[0], resps[1], resps[2]
	start := c.sseq
	c.at(false, "PA", start, r1[:10])
	c.at(false, "PA", start+uint32(len(r1)+len(r2)), r3)
	c.at(false, "PA", start+10, r1[10:])
	c.at(false, "PA", start+uint32(len(r1)), r2)
	c.sseq += uint32(len(r1) + len(r2) + len(r3))
	c.close()
	res := b.analyze(Options{})
	var answered []string
	for _, tx := range res.DNS {
		if len(tx.Answers) == 1 {
			answered = append(answered, tx.Answers[0].Addr.String())
		}
	}
	if !slices.Equal(answered, []string{"10.0.2.50", "10.0.2.51", "10.0.2.52"}) {
		t.Errorf("answered %q, want all three responses", answered)
	}
}

func dnsPairF(f *testing.F) (q, r []byte) {
	return dnsPair(f, 3, "s3.ap-south-1.amazonaws.com", dns.TypeA,
		[3]string{"s3.ap-south-1.amazonaws.com", "CNAME", "s3-r-w.ap-south-1.amazonaws.com"},
		[3]string{"s3-r-w.ap-south-1.amazonaws.com", "A", "10.0.2.50"})
}

// Address and CNAME records come typed, so no caller re-parses text; other
// types keep dig's presentation text.
func TestDNSAnswerTypes(t *testing.T) {
	m := new(dns.Msg)
	m.SetQuestion("s3.ap-south-1.amazonaws.com.", dns.TypeANY)
	m.Response = true
	hdr := func(t uint16) dns.RR_Header {
		return dns.RR_Header{Name: "s3.ap-south-1.amazonaws.com.", Rrtype: t, Class: dns.ClassINET, Ttl: 5}
	}
	m.Answer = []dns.RR{
		&dns.CNAME{Hdr: hdr(dns.TypeCNAME), Target: "s3-r-w.ap-south-1.amazonaws.com."},
		&dns.A{Hdr: hdr(dns.TypeA), A: net.ParseIP("52.219.64.10")},
		&dns.AAAA{Hdr: hdr(dns.TypeAAAA), AAAA: net.ParseIP("2406:da60:a000::10")},
		&dns.AAAA{Hdr: hdr(dns.TypeAAAA), AAAA: net.ParseIP("::ffff:52.219.64.11")},
		&dns.MX{Hdr: hdr(dns.TypeMX), Preference: 10, Mx: "mail.example."},
		&dns.TXT{Hdr: hdr(dns.TypeTXT), Txt: []string{"v=spf1 -all"}},
	}
	r, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	b := newBuilder(t, layers.LinkTypeEthernet)
	b.udp(netip.MustParseAddrPort(resolverAddr), netip.MustParseAddrPort(hostAddr), r)
	res := b.analyze(Options{})
	if len(res.DNS) != 1 {
		t.Fatalf("%d transactions", len(res.DNS))
	}
	owner := "s3.ap-south-1.amazonaws.com"
	want := []DNSAnswer{
		{Name: owner, Type: "CNAME", Target: "s3-r-w.ap-south-1.amazonaws.com", TTL: 5},
		{Name: owner, Type: "A", Addr: netip.MustParseAddr("52.219.64.10"), TTL: 5},
		{Name: owner, Type: "AAAA", Addr: netip.MustParseAddr("2406:da60:a000::10"), TTL: 5},
		{Name: owner, Type: "AAAA", Addr: netip.MustParseAddr("::ffff:52.219.64.11"), TTL: 5},
		{Name: owner, Type: "MX", Data: "10 mail.example.", TTL: 5},
		{Name: owner, Type: "TXT", Data: `"v=spf1 -all"`, TTL: 5},
	}
	if got := res.DNS[0].Answers; !slices.Equal(got, want) {
		t.Errorf("answers\n got %+v\nwant %+v", got, want)
	}
}

// A response cut by the snap length inside its question is still a
// transaction: its ID, ends and whatever of the name was captured whole,
// marked as cut; it is not a malformed message.
func TestDNSCutInsideQuestion(t *testing.T) {
	const qname = "my-bucket.s3.ap-south-1.amazonaws.com"
	q, r := dnsPair(t, 0x4242, qname, dns.TypeA, [3]string{qname, "A", "52.219.64.10"})
	// Ethernet 14 + IPv4 20 + UDP 8 + DNS header 12, then the labels
	// 9my-bucket 2s3 and 3 bytes of 10ap-south-1.
	const headers = 14 + 20 + 8 + 12
	host, resolver := netip.MustParseAddrPort(hostAddr), netip.MustParseAddrPort(resolverAddr)
	tests := []struct {
		name      string
		snap      int
		withQuery bool
		qname     string
		qtype     string
		qnameCut  bool
	}{
		{"cut after two labels", headers + 1 + 9 + 1 + 2 + 3, false, "my-bucket.s3", "", true},
		{"cut inside the first label", headers + 5, false, "", "", true},
		{"cut after the name", headers + len(qname) + 2 + 1, false, qname, "", false},
		{"query seen whole", headers + 1 + 9 + 1 + 2 + 3, true, qname, "A", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBuilder(t, layers.LinkTypeEthernet)
			if tt.withQuery {
				b.udp(host, resolver, q)
			}
			b.snap = tt.snap
			b.udp(resolver, host, r)
			res := b.analyze(Options{})
			if len(res.DNS) != 1 || res.Stats.DNSMalformed != 0 {
				t.Fatalf("%d transactions, %d malformed; want the cut response listed", len(res.DNS), res.Stats.DNSMalformed)
			}
			tx := res.DNS[0]
			if tx.ID != 0x4242 || tx.Client != host || tx.Server != resolver || tx.ResponseTS.IsZero() || tx.RCode != "NOERROR" {
				t.Errorf("transaction %+v, want id 0x4242 from %s to %s, answered NOERROR", tx, resolver, host)
			}
			if tx.QName != tt.qname || tx.QType != tt.qtype || tx.QNameCut != tt.qnameCut || !tx.Incomplete || len(tx.Answers) != 0 {
				t.Errorf("question %q %q cut %v incomplete %v answers %d; want %q %q cut %v, incomplete, none",
					tx.QName, tx.QType, tx.QNameCut, tx.Incomplete, len(tx.Answers), tt.qname, tt.qtype, tt.qnameCut)
			}
		})
	}

	t.Run("not cut, but the question does not parse", func(t *testing.T) {
		b := newBuilder(t, layers.LinkTypeEthernet)
		b.udp(resolver, host, r[:12+5])
		res := b.analyze(Options{})
		if len(res.DNS) != 0 || res.Stats.DNSMalformed != 1 {
			t.Errorf("%d transactions, %d malformed; a short message the snap length does not explain is malformed", len(res.DNS), res.Stats.DNSMalformed)
		}
	})

	t.Run("a cut query completed by its response", func(t *testing.T) {
		b := newBuilder(t, layers.LinkTypeEthernet)
		b.snap = headers + 8
		b.udp(host, resolver, q)
		b.snap = 0
		b.udp(resolver, host, r)
		res := b.analyze(Options{})
		if len(res.DNS) != 1 {
			t.Fatalf("%d transactions, want 1", len(res.DNS))
		}
		tx := res.DNS[0]
		if tx.QName != qname || tx.QType != "A" || tx.QNameCut || tx.Incomplete || len(tx.Answers) != 1 {
			t.Errorf("%+v: want the whole question and answer from the response", tx)
		}
	})
}

// tshark reads the same transaction ID, direction and rcode from the cut
// response (and flags it as cut by the snap length).
func TestDNSCutInsideQuestionMatchesTshark(t *testing.T) {
	tshark := testenv.Tool(t, "tshark")
	const qname = "my-bucket.s3.ap-south-1.amazonaws.com"
	_, r := dnsPair(t, 0x4242, qname, dns.TypeA, [3]string{qname, "A", "52.219.64.10"})
	b := newBuilder(t, layers.LinkTypeEthernet)
	b.snap = 14 + 20 + 8 + 12 + 16
	b.udp(netip.MustParseAddrPort(resolverAddr), netip.MustParseAddrPort(hostAddr), r)
	path := filepath.Join(t.TempDir(), "cut-question.pcap")
	writeCapture(t, path, b.frames)
	res := readCapture(t, path)
	if len(res.DNS) != 1 {
		t.Fatalf("%d transactions, want 1", len(res.DNS))
	}
	tx := res.DNS[0]
	ours := fmt.Sprintf("0x%04x|1|%s", tx.ID, tx.RCode)
	lines := tsharkFields(t, tshark, path, "dns", "dns.id", "dns.flags.response", "dns.flags.rcode")
	if len(lines) != 1 {
		t.Fatalf("tshark: %q", lines)
	}
	theirs := strings.Replace(lines[0], "|0", "|NOERROR", 1)
	if ours != theirs {
		t.Errorf("id|response|rcode: ours %s, tshark %s", ours, theirs)
	}
}

// An HTTPS or SVCB answer that offers an ECH configuration is marked: it
// is the evidence that a hello's ECH extension was real ECH, not GREASE.
func TestDNSAnswerECH(t *testing.T) {
	tshark := testenv.Tool(t, "tshark")
	const name = "my-bucket.s3.ap-south-1.amazonaws.com"
	echConfig := []byte{0x00, 0x08, 0xfe, 0x0d, 0x00, 0x04, 0x07, 0x00, 0x20, 0x00} // an ECHConfigList (content irrelevant here)
	svcb := func(typ uint16, ech bool) dns.SVCB {
		v := []dns.SVCBKeyValue{&dns.SVCBAlpn{Alpn: []string{"h2", "http/1.1"}}}
		if ech {
			v = append(v, &dns.SVCBECHConfig{ECH: echConfig})
		}
		hdr := dns.RR_Header{Name: name + ".", Rrtype: typ, Class: dns.ClassINET, Ttl: 60}
		return dns.SVCB{Hdr: hdr, Priority: 1, Target: ".", Value: v}
	}
	withECH := svcb(dns.TypeSVCB, true)
	answers := []dns.RR{
		&dns.HTTPS{SVCB: svcb(dns.TypeHTTPS, true)},
		&dns.HTTPS{SVCB: svcb(dns.TypeHTTPS, false)},
		&withECH,
	}

	b := newBuilder(t, layers.LinkTypeEthernet)
	host, resolver := netip.MustParseAddrPort(hostAddr), netip.MustParseAddrPort(resolverAddr)
	for i, rr := range answers {
		m := new(dns.Msg)
		m.SetQuestion(name+".", rr.Header().Rrtype)
		m.Id = uint16(i + 1)
		resp := new(dns.Msg)
		resp.SetReply(m)
		resp.Answer = []dns.RR{rr}
		q, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		r, err := resp.Pack()
		if err != nil {
			t.Fatal(err)
		}
		b.udp(host, resolver, q)
		b.udp(resolver, host, r)
	}
	path := filepath.Join(t.TempDir(), "https-rr.pcap")
	writeCapture(t, path, b.frames)
	res := readCapture(t, path)
	var ours []string
	for _, tx := range res.DNS {
		for _, a := range tx.Answers {
			ours = append(ours, fmt.Sprintf("%s %v", a.Type, a.ECH))
		}
	}
	if want := []string{"HTTPS true", "HTTPS false", "SVCB true"}; !slices.Equal(ours, want) {
		t.Errorf("answers %q, want %q", ours, want)
	}
	// tshark: SvcParamKey 5 is ech (RFC 9460).
	var theirs []string
	for _, line := range tsharkFields(t, tshark, path, "dns.flags.response==1", "dns.resp.type", "dns.svcb.svcparam.key") {
		f := strings.Split(line, "|")
		typ := map[string]string{"64": "SVCB", "65": "HTTPS"}[f[0]]
		theirs = append(theirs, fmt.Sprintf("%s %v", typ, slices.Contains(strings.Split(f[1], ","), "5")))
	}
	if !slices.Equal(ours, theirs) {
		t.Errorf("ours %q, tshark %q", ours, theirs)
	}
}
