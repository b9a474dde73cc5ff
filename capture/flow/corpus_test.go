package flow

import (
	"context"
	"errors"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vpce-verify/vpce-verify/capture"
	"github.com/vpce-verify/vpce-verify/capture/pcapfile"
	"github.com/vpce-verify/vpce-verify/internal/testenv"
)

// corpusFacts are the TCP stream facts that the shared corpus's notes (testenv.Shared(t, "corpus"))
// lists for each real public capture (computed there with tshark over
// tcp.stream and the flags): streams, streams with a SYN, with SYN and
// SYN-ACK, refused (RST from the responder, no SYN-ACK), unanswered (SYN
// only), midstream (no SYN), and the SNI names.
type corpusFacts struct {
	streams, withSYN, synAck, refused, unanswered, midstream int
	sni                                                      []string
}

var corpus = map[string]corpusFacts{
	"vxlan-decoder-03_vxlan.pcap":       {4, 4, 4, 0, 0, 0, nil},
	"psql-aws-ssl-require.pcap":         {1, 1, 1, 0, 0, 0, []string{"database-1.cyx4x7yvdoay.us-east-1.rds.amazonaws.com"}},
	"tls-split-client-hello.pcap":       {1, 1, 1, 0, 0, 0, []string{"clients2.google.com"}},
	"dump_mtu300.pcap":                  {1, 1, 1, 0, 0, 0, []string{"www.google.com"}},
	"curl-enabled-tls13.pcap":           {1, 1, 1, 0, 0, 0, []string{"enabled.tls13.com"}},
	"tls13-ech.pcap":                    {3, 2, 2, 0, 0, 1, []string{"cloudflare-ech.com", "cloudflare-ech.com"}},
	"chrome-1250-tls-x25519-kyber.pcap": {1, 1, 1, 0, 0, 0, []string{"lh3.google.com"}},
	"openjdk-25.0.2-zeek.org.pcap":      {1, 1, 1, 0, 0, 0, []string{"zeek.org"}},
	"tls13.pcap":                        {1, 1, 1, 0, 0, 0, []string{"blog.cloudflare.com"}},
	"tls-fragmented-handshake.pcap.gz":  {1, 1, 1, 0, 0, 0, []string{"104.236.167.107"}},
	"nmap-vsn.pcap":                     {17, 17, 3, 6, 8, 0, nil},
	"irc-353.pcap":                      {2, 2, 1, 1, 0, 0, nil},
	"rotation.pcap":                     {20, 20, 0, 0, 20, 0, nil},
	"tcp-handshake-nano.pcap":           {1, 1, 1, 0, 0, 0, nil},
	"dns-edns-ecs.pcap":                 {8, 0, 0, 0, 0, 8, nil},
	"dns_tcp.pcap":                      {1, 1, 1, 0, 0, 0, nil},
	"http-vlan-0.pcap":                  {1, 1, 1, 0, 0, 0, nil},
	"vxlan-encapsulated-http.pcap":      {1, 1, 1, 0, 0, 0, nil},
	"tls_DER-incomplete-header.pcap":    {1, 1, 1, 0, 0, 0, nil},
	// The corpus notes count these two streams as unanswered because no SYN-ACK
	// was captured, and says they must not be reported so: ACKs and data
	// follow in both directions (asymmetric capture). See below.
	"no-syn-ack.pcap": {2, 2, 0, 0, 2, 0, nil},
	// The corpus notes' figure is 68 streams, 67 with a SYN-ACK and one
	// unanswered stream whose SYN was sent three times.
	"tls-subjectaltname_input.pcap": {68, 68, 67, 0, 1, 0, nil},
}

func analyzeCorpusFile(t *testing.T, name string) (*Result, capture.Input) {
	t.Helper()
	path := testenv.Shared(t, "corpus", name)
	a := NewAnalyzer(Options{})
	in, _ := pcapfile.ReadFiles(context.Background(), a, []pcapfile.File{{Name: name, Open: func() (io.ReadCloser, error) { return os.Open(path) }}})
	return a.Result(), in[0]
}

func TestCorpusFlows(t *testing.T) {
	for name, want := range corpus {
		t.Run(name, func(t *testing.T) {
			r, in := analyzeCorpusFile(t, name)
			var got corpusFacts
			got.streams = len(r.Flows)
			for _, f := range r.Flows {
				syn := f.ep[0].sawSYN
				if syn {
					got.withSYN++
				} else {
					got.midstream++
				}
				if syn && f.ep[1].hist&histSYNACK != 0 {
					got.synAck++
				}
				switch f.ConnState() {
				case "REJ":
					got.refused++
				case "S0":
					got.unanswered++
				}
				if f.TLS.SNI != "" {
					got.sni = append(got.sni, f.TLS.SNI)
				}
			}
			if name == "no-syn-ack.pcap" {
				// Our S0 means no reply at all. Here the responder's data
				// arrived, so both connections are established midstream
				// (Zeek's OTH), not unanswered attempts.
				for _, f := range r.Flows {
					if !f.Established() || f.ConnState() != "OTH" {
						t.Errorf("%s -> %s: established %v state %s, want established OTH", f.Client, f.Server, f.Established(), f.ConnState())
					}
				}
				got.unanswered = 2 // tshark's count, checked above
			}
			if name == "tls-subjectaltname_input.pcap" {
				// 40 ClientHellos; the corpus notes list the names with counts.
				counts := map[string]int{}
				for _, n := range got.sni {
					counts[n]++
				}
				wantCounts := map[string]int{"adservice.google.com": 1, "adservice.google.fr": 1, "bedreboligliv.dk": 1,
					"go.microsoft.com": 2, "googleads.g.doubleclick.net": 1, "iecvlist.microsoft.com": 1,
					"ieonline.microsoft.com": 2, "madmaskiner.dk": 1, "mamzon.ru": 11, "mc.yandex.ru": 3,
					"pagead2.googlesyndication.com": 2, "partner.googleadservices.com": 1, "query.prod.cms.msn.com": 2,
					"r20swj13mr.microsoft.com": 2, "tpc.googlesyndication.com": 1, "www.bing.com": 2,
					"www.coffeecircle.com": 2, "www.google.com": 1, "www.havenyt.dk": 1, "www.msn.com": 2}
				if !maps.Equal(counts, wantCounts) {
					t.Errorf("SNI counts %v, want %v", counts, wantCounts)
				}
				got.sni = nil
			}
			if got.streams != want.streams || got.withSYN != want.withSYN || got.synAck != want.synAck ||
				got.refused != want.refused || got.unanswered != want.unanswered || got.midstream != want.midstream ||
				!slices.Equal(got.sni, want.sni) {
				t.Errorf("\n got %+v\nwant %+v", got, want)
			}
			if name == "tls_DER-incomplete-header.pcap" {
				var fe *pcapfile.Error
				if !errors.As(in.Err, &fe) || fe.Record != 7 || in.Packets != 6 {
					t.Errorf("input error %v after %d packets, want record 7 after 6", in.Err, in.Packets)
				}
			}
		})
	}
}

// TestCorpusDNS compares every DNS answer-section record we read with what
// tshark decodes, for every corpus file with DNS. tshark's dns.a and
// dns.aaaa hold the records of all sections, answers first, so the answer
// section is the first dns.count.answers of dns.resp.type.
func TestCorpusDNS(t *testing.T) {
	tshark := testenv.Tool(t, "tshark")
	files := []string{"curl-enabled-tls13.pcap", "dns-edns-ecs.pcap", "dns_tcp.pcap", "dns_udp_2.pcap",
		"pcapng-multi-interface.pcapng", "vxlan-decoder-03_vxlan.pcap", "tls-subjectaltname_input.pcap", "nmap-vsn.pcap"}
	for _, name := range files {
		t.Run(name, func(t *testing.T) {
			r, _ := analyzeCorpusFile(t, name)
			var ours []string
			for _, tx := range r.DNS {
				for _, a := range tx.Answers {
					switch a.Type {
					case "A", "AAAA":
						ours = append(ours, strings.ToLower(a.Name)+" "+a.Type+" "+a.Addr.String())
					case "CNAME":
						ours = append(ours, strings.ToLower(a.Name)+" "+a.Type+" "+strings.ToLower(a.Target))
					}
				}
			}
			slices.Sort(ours)
			var theirs []string
			path := testenv.Shared(t, "corpus", name)
			lines := tsharkFields(t, tshark, path, "dns.flags.response==1",
				"dns.count.answers", "dns.resp.type", "dns.resp.name", "dns.a", "dns.aaaa", "dns.cname")
			for _, line := range lines {
				f := strings.Split(line, "|")
				n, _ := strconv.Atoi(f[0])
				types, names := strings.Split(f[1], ","), strings.Split(f[2], ",")
				data := map[string][]string{"1": strings.Split(f[3], ","), "28": strings.Split(f[4], ","), "5": strings.Split(f[5], ",")}
				word := map[string]string{"1": "A", "28": "AAAA", "5": "CNAME"}
				next := map[string]int{}
				for i := 0; i < n && i < len(types); i++ {
					ty := types[i]
					if w, ok := word[ty]; ok && next[ty] < len(data[ty]) {
						theirs = append(theirs, strings.ToLower(names[i])+" "+w+" "+strings.ToLower(data[ty][next[ty]]))
					}
					next[ty]++
				}
			}
			slices.Sort(theirs)
			if name == "dns_udp_2.pcap" {
				// The response is cut by the snap length after its first A
				// record: tshark shows the one record it could decode (and
				// flags the rest), as we keep the records that parsed whole.
				if len(ours) != 1 || ours[0] != "www.tcpdump.org A 192.139.46.66" || !r.DNS[0].Incomplete {
					t.Errorf("ours %q incomplete %v, want the one whole A record", ours, r.DNS[0].Incomplete)
				}
				return
			}
			if !slices.Equal(ours, theirs) {
				t.Errorf("answers differ\n ours   %q\n tshark %q", ours, theirs)
			}
		})
	}
}

// TestCorpusDNSNamesJoinFlows checks the DNS-to-flow join on the corpus
// files that have both: each TLS connection of curl-enabled-tls13 goes to
// the first A answer of the lookup before it, and the Traffic Mirroring
// capture's SSH sessions go to the public name's address.
func TestCorpusDNSNamesJoinFlows(t *testing.T) {
	r, _ := analyzeCorpusFile(t, "curl-enabled-tls13.pcap")
	if got := r.Flows[0].DNSNames; !slices.Equal(got, []string{"enabled.tls13.com"}) {
		t.Errorf("curl-enabled-tls13: dns names %q, want [enabled.tls13.com]", got)
	}
	r, _ = analyzeCorpusFile(t, "tls-subjectaltname_input.pcap")
	joined := 0
	for _, f := range r.Flows {
		if len(f.DNSNames) > 0 {
			joined++
			if f.TLS.SNI != "" && !slices.Contains(f.DNSNames, f.TLS.SNI) && f.TLS.SNI != "mamzon.ru" {
				// Browsers reuse addresses across names (CDNs), so an SNI
				// may differ from the name looked up; log for the record.
				t.Logf("%s: SNI %s, names %q", f.Server, f.TLS.SNI, f.DNSNames)
			}
		}
	}
	if joined == 0 {
		t.Error("no flow of the browsing capture was joined to a DNS answer")
	}
}
