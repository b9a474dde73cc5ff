package flow

import (
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/vpce-verify/vpce-verify/capture"
)

// FuzzAnalyzer feeds arbitrary frames of every supported link type through
// the decoder, the flow tracker, the reading of first bytes (ClientHello,
// HTTP request) and the DNS parser: whatever the bytes, no panic, and the
// result stays consistent.
func FuzzAnalyzer(f *testing.F) {
	for _, sc := range scenarios() {
		if sc.file == "split-hello.pcap" || sc.file == "s3-mixed.pcapng" {
			continue
		}
		b := newBuilder(f, sc.link)
		sc.build(b)
		for i, fr := range b.frames {
			if i > 12 {
				break
			}
			f.Add(uint8(fr.LinkType), fr.Data, fr.Data)
		}
	}
	// A connection through a proxy: CONNECT, then a hello in the tunnel.
	b := newBuilder(f, layers.LinkTypeLinuxSLL2)
	proxied(b, scHost+":43528", connectS3, helloFor(f, scBucket))
	f.Add(uint8(1), b.frames[3].Data, b.frames[5].Data)
	links := []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL2, layers.LinkTypeLinuxSLL,
		layers.LinkTypeRaw, layers.LinkTypeNull, layers.LinkTypeIPv4, layers.LinkTypeIPv6, layers.LinkTypeLoop}
	f.Fuzz(func(t *testing.T, link uint8, a, b []byte) {
		lt := links[int(link)%len(links)]
		an := NewAnalyzer(Options{})
		for _, d := range [][]byte{a, b, a, b} {
			fr := capture.Frame{Data: d, WireLen: len(d) + int(link)%3*100, LinkType: lt}
			if err := an.Add(&fr); err != nil {
				t.Fatalf("supported link type %v refused: %v", lt, err)
			}
		}
		r := an.Result()
		for _, fl := range r.Flows {
			_ = fl.ConnState()
			_ = fl.History()
			if fl.Packets()[0]+fl.Packets()[1] == 0 {
				t.Fatal("a flow without packets")
			}
		}
		if r.Stats.Packets != 4 {
			t.Fatalf("packets = %d, want 4", r.Stats.Packets)
		}
		// Finishing what is open lists the same connections, and gives
		// every buffer back to the budget.
		an.Finish()
		if after := an.Result(); len(after.Flows) != len(r.Flows) || len(after.DNS) != len(r.DNS) {
			t.Fatalf("after Finish %d flows and %d transactions, before %d and %d", len(after.Flows), len(after.DNS), len(r.Flows), len(r.DNS))
		}
		if an.sh.held != 0 {
			t.Fatalf("%d bytes still held after Finish", an.sh.held)
		}
		for _, a := range an.Anomalies() {
			if a.Count == 0 || a.Name == "" {
				t.Fatalf("anomaly %+v", a)
			}
		}
	})
}

// FuzzParseDNS checks the tolerant DNS parser on arbitrary bytes: no panic,
// and a complete parse agrees with miekg/dns.
func FuzzParseDNS(f *testing.F) {
	q, r := dnsPairF(f)
	f.Add(q)
	f.Add(r)
	f.Add(r[:len(r)-3])
	f.Fuzz(func(t *testing.T, b []byte) {
		m, parsed, err := parseDNS(b)
		if err != nil {
			return
		}
		if m == nil {
			t.Fatal("nil message without an error")
		}
		if parsed == dnsWhole && len(m.Question) > 0 && m.Question[0].Name == "" {
			t.Fatal("complete message with an empty question name")
		}
		if parsed == dnsCutQName {
			// What a cut name says is a prefix of the labels on the wire.
			if len(m.Question) != 1 {
				t.Fatalf("cut question %+v", m.Question)
			}
			if n := m.Question[0].Name; n != "" && !strings.HasSuffix(n, ".") {
				t.Fatalf("cut question name %q is not in presentation format", n)
			}
		}
	})
}
