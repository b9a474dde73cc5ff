package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/vpce-verify/vpce-verify/internal/lab"
	"github.com/vpce-verify/vpce-verify/internal/testenv"
	"github.com/vpce-verify/vpce-verify/report"
	"github.com/vpce-verify/vpce-verify/resolve"
)

// dnsZone answers like a recursive resolver from a few records, chasing
// CNAMEs; names in servfail get SERVFAIL.
type dnsZone struct {
	rrs      map[string][]dns.RR
	servfail map[string]bool
}

func newDNSZone(t *testing.T, records ...string) *dnsZone {
	t.Helper()
	z := &dnsZone{rrs: map[string][]dns.RR{}, servfail: map[string]bool{}}
	for _, s := range records {
		rr, err := dns.NewRR(s)
		if err != nil {
			t.Fatal(err)
		}
		n := strings.ToLower(rr.Header().Name)
		z.rrs[n] = append(z.rrs[n], rr)
	}
	return z
}

func (z *dnsZone) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	q := r.Question[0]
	m := new(dns.Msg)
	m.SetReply(r)
	cur := strings.ToLower(q.Name)
	if z.servfail[cur] {
		m.Rcode = dns.RcodeServerFailure
	}
	for i := 0; i < 10 && m.Rcode == dns.RcodeSuccess; i++ {
		rrs, ok := z.rrs[cur]
		if !ok {
			m.Rcode = dns.RcodeNameError
			break
		}
		next := ""
		for _, rr := range rrs {
			if cn, ok := rr.(*dns.CNAME); ok {
				next = strings.ToLower(cn.Target)
				m.Answer = append(m.Answer, rr)
			} else if rr.Header().Rrtype == q.Qtype {
				m.Answer = append(m.Answer, rr)
			}
		}
		if next == "" {
			break
		}
		cur = next
	}
	if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
		size := dns.MinMsgSize
		if o := r.IsEdns0(); o != nil {
			size = int(o.UDPSize())
		}
		m.Truncate(size)
	}
	w.WriteMsg(m)
}

// serveDNS runs h on 127.0.0.1, UDP and TCP on one random port, and
// returns "127.0.0.1:PORT".
func serveDNS(t *testing.T, h dns.Handler) string {
	t.Helper()
	addr, stop, err := lab.ServeDNS("127.0.0.1:0", h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return addr.String()
}

// blackHole reads UDP queries and never answers.
func blackHole(t *testing.T) string {
	addr, stop, err := lab.BlackHole("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return addr.String()
}

const vpceBase = "vpce-0a1b2c3d4e5f67890-9hnenorg.s3.ap-south-1.vpce.amazonaws.com"

// privateZone is what a host whose VPC has S3 private DNS gets.
func privateZone(t *testing.T) *dnsZone {
	z := newDNSZone(t,
		"s3.ap-south-1.amazonaws.com. 60 IN A 10.0.2.50",
		"s3.ap-south-1.amazonaws.com. 60 IN AAAA fd00:10:0:2::50",
		"my-bucket.s3.ap-south-1.amazonaws.com. 60 IN A 10.0.2.50",
		"s3.eu-west-1.amazonaws.com. 60 IN CNAME s3-r-w.ap-south-1.amazonaws.com.",
		"s3-r-w.ap-south-1.amazonaws.com. 5 IN A 52.219.64.10",
		"s3.amazonaws.com. 5 IN A 52.216.8.10",
		"www.example.com. 60 IN A 93.184.215.14",
		"gw-bucket.s3.ap-south-1.amazonaws.com. 5 IN A 52.219.62.20",
		"bucket."+vpceBase+". 60 IN A 10.0.2.50",
		"accesspoint."+vpceBase+". 60 IN A 10.0.2.50",
		"control."+vpceBase+". 60 IN A 10.0.2.50",
	)
	for i := range 100 {
		rr, _ := dns.NewRR(fmt.Sprintf("big.s3.ap-south-1.amazonaws.com. 5 IN A 52.219.64.%d", i+1))
		z.rrs["big.s3.ap-south-1.amazonaws.com."] = append(z.rrs["big.s3.ap-south-1.amazonaws.com."], rr)
	}
	z.servfail["broken.s3.ap-south-1.amazonaws.com."] = true
	return z
}

// publicZone is what a resolver outside the VPC answers.
func publicZone(t *testing.T) *dnsZone {
	return newDNSZone(t,
		"s3.ap-south-1.amazonaws.com. 5 IN A 52.219.64.10",
		"s3.ap-south-1.amazonaws.com. 5 IN AAAA 2406:da60:a000::10",
		"my-bucket.s3.ap-south-1.amazonaws.com. 300 IN CNAME s3-r-w.ap-south-1.amazonaws.com.",
		"s3-r-w.ap-south-1.amazonaws.com. 5 IN A 52.219.64.10",
		"s3-r-w.ap-south-1.amazonaws.com. 5 IN AAAA 2406:da60:a000::10",
	)
}

// resolveJSON is the part of the resolve/v1 report the tests look at,
// decoded independently of the report package's types.
type resolveJSON struct {
	Schema         string `json:"schema"`
	Verdict        string `json:"verdict"`
	PartialVerdict string `json:"partial_verdict"`
	Reason         string `json:"reason"`
	Resolvers      []struct {
		Addr        string `json:"addr"`
		Source      string `json:"source"`
		VPCResolver bool   `json:"vpc_resolver"`
	} `json:"resolvers"`
	Queries []rjQuery `json:"queries"`
	Compare *struct {
		Resolver    string    `json:"resolver"`
		Queries     []rjQuery `json:"queries"`
		Differences []struct {
			Name    string   `json:"name"`
			QType   string   `json:"qtype"`
			Fields  []string `json:"fields"`
			Primary struct {
				Addresses []string `json:"addresses"`
				Paths     []string `json:"paths"`
			} `json:"primary"`
			Compare struct {
				Addresses []string `json:"addresses"`
				Paths     []string `json:"paths"`
			} `json:"compare"`
		} `json:"differences"`
	} `json:"compare"`
	Endpoints []struct {
		ID      string `json:"id"`
		Meaning string `json:"meaning"`
	} `json:"endpoints"`
	Warnings []string `json:"warnings"`
}

type rjQuery struct {
	Name      string   `json:"name"`
	QType     string   `json:"qtype"`
	Resolver  string   `json:"resolver"`
	Transport string   `json:"transport"`
	Truncated bool     `json:"truncated"`
	RCode     *string  `json:"rcode"`
	Status    string   `json:"status"`
	S3        bool     `json:"s3"`
	Chain     []string `json:"chain"`
	Addresses []struct {
		Addr         string `json:"addr"`
		TTL          uint32 `json:"ttl"`
		Path         string `json:"path"`
		PathEvidence string `json:"path_evidence"`
		AWS          *struct {
			Services []string `json:"services"`
			Region   string   `json:"region"`
			Prefix   string   `json:"prefix"`
		} `json:"aws"`
	} `json:"addresses"`
	Failed []struct {
		Resolver string `json:"resolver"`
		Status   string `json:"status"`
	} `json:"failed_resolvers"`
}

func decodeResolve(t *testing.T, res result) resolveJSON {
	t.Helper()
	var r resolveJSON
	if err := json.Unmarshal([]byte(res.stdout), &r); err != nil {
		t.Fatalf("output is not JSON: %v\nstdout: %s\nstderr: %s", err, res.stdout, res.stderr)
	}
	if r.Schema != "vpce-verify/resolve/v1" {
		t.Errorf("schema %q", r.Schema)
	}
	return r
}

// find returns the query for name and qtype.
func (r resolveJSON) find(t *testing.T, name, qtype string) rjQuery {
	t.Helper()
	for _, q := range r.Queries {
		if q.Name == name && q.QType == qtype {
			return q
		}
	}
	t.Fatalf("no %s query for %s in %+v", qtype, name, r.Queries)
	return rjQuery{}
}

func (q rjQuery) addrs() []string {
	var out []string
	for _, a := range q.Addresses {
		out = append(out, a.Addr+" "+a.Path)
	}
	return out
}

func TestResolveVerdicts(t *testing.T) {
	private := serveDNS(t, privateZone(t))
	public := serveDNS(t, publicZone(t))
	tests := []struct {
		name    string
		args    []string
		code    int
		verdict string
		queries map[string][]string // "name qtype" -> "addr path" of each address
		reason  string
		warn    []string
	}{
		{"endpoint address given", []string{"--resolver", private, "--endpoint-ip", "10.0.2.50", "--endpoint-ip", "fd00:10:0:2::50", "s3.ap-south-1.amazonaws.com"}, 0, "pass",
			map[string][]string{"s3.ap-south-1.amazonaws.com A": {"10.0.2.50 interface-endpoint"}, "s3.ap-south-1.amazonaws.com AAAA": {"fd00:10:0:2::50 interface-endpoint"}},
			"all 2 addresses of 1 S3 name are interface endpoint addresses", nil},
		{"endpoint inferred from the private answer", []string{"--resolver", private, "s3.ap-south-1.amazonaws.com"}, 0, "pass",
			map[string][]string{"s3.ap-south-1.amazonaws.com A": {"10.0.2.50 interface-endpoint"}},
			"2 identified as an endpoint only because", []string{"10.0.2.50 is taken for an interface endpoint only because the S3 name s3.ap-south-1.amazonaws.com resolved to it"}},
		{"public answers through a CNAME", []string{"--resolver", public, "--endpoint-ip", "10.0.2.50", "my-bucket.s3.ap-south-1.amazonaws.com"}, 1, "fail",
			map[string][]string{"my-bucket.s3.ap-south-1.amazonaws.com A": {"52.219.64.10 public-aws"}, "my-bucket.s3.ap-south-1.amazonaws.com AAAA": {"2406:da60:a000::10 public-aws"}},
			"2 of 2 addresses of S3 names are public: my-bucket.s3.ap-south-1.amazonaws.com A 52.219.64.10 (public-aws, AMAZON+S3 ap-south-1 52.219.64.0/22)", nil},
		{"names of a bucket", []string{"--resolver", public, "--bucket", "my-bucket", "--region", "ap-south-1"}, 1, "fail",
			map[string][]string{"my-bucket.s3.ap-south-1.amazonaws.com A": {"52.219.64.10 public-aws"}, "s3.ap-south-1.amazonaws.com A": {"52.219.64.10 public-aws"}}, "4 of 4", nil},
		{"names of an endpoint's DNS entry", []string{"--resolver", private, "*." + vpceBase}, 0, "pass",
			map[string][]string{"bucket." + vpceBase + " A": {"10.0.2.50 interface-endpoint"}, "accesspoint." + vpceBase + " A": {"10.0.2.50 interface-endpoint"}, "control." + vpceBase + " A": {"10.0.2.50 interface-endpoint"}}, "",
			[]string{"10.0.2.50 is taken for an interface endpoint only because the S3 names bucket." + vpceBase + " and 2 more resolved to it"}},
		{"names of an endpoint ID", []string{"--resolver", private, "--endpoints", td(t, "aws", "endpoint-interface.json"), "--endpoints", td(t, "aws", "endpoint-enis.json"), "vpce-0a1b2c3d4e5f67890"}, 0, "pass",
			map[string][]string{"bucket." + vpceBase + " A": {"10.0.2.50 interface-endpoint"}, "control." + vpceBase + " AAAA": nil}, "all 3 addresses of 3 S3 names", nil},
		{"legacy global name", []string{"--resolver", private, "s3.amazonaws.com"}, 1, "fail",
			map[string][]string{"s3.amazonaws.com A": {"52.216.8.10 public-aws"}}, "", []string{"s3.amazonaws.com is the legacy global S3 name: PrivateLink does not serve it"}},
		{"region mismatch", []string{"--resolver", private, "s3.eu-west-1.amazonaws.com"}, 1, "fail",
			map[string][]string{"s3.eu-west-1.amazonaws.com A": {"52.219.64.10 public-aws"}}, "", []string{"s3.eu-west-1.amazonaws.com is a name of eu-west-1, but its address 52.219.64.10 is in ap-south-1 (52.219.64.0/22)"}},
		{"many addresses: truncated over UDP, complete over TCP", []string{"--resolver", private, "big.s3.ap-south-1.amazonaws.com"}, 1, "fail", nil, "100 of 100", nil},
		{"no such name", []string{"--resolver", private, "nosuch.s3.ap-south-1.amazonaws.com"}, 3, "inconclusive", nil,
			"no S3 name resolved to an address (2 NXDOMAIN)", nil},
		{"not an S3 name", []string{"--resolver", private, "www.example.com"}, 3, "inconclusive",
			map[string][]string{"www.example.com A": {"93.184.215.14 public-non-aws"}}, "the name asked is not an S3 name", nil},
		{"SERVFAIL is an error", []string{"--resolver", private, "s3.ap-south-1.amazonaws.com", "broken.s3.ap-south-1.amazonaws.com"}, 2, "error", nil,
			"2 of 4 queries got no answer (broken.s3.ap-south-1.amazonaws.com A: dns: resolver " + private + " answered SERVFAIL", nil},
		{"gateway route, default policy", []string{"--resolver", private, "--endpoints", td(t, "aws", "gateway-routes.json"), "--endpoints", td(t, "aws", "s3-prefix-list.json"), "gw-bucket.s3.ap-south-1.amazonaws.com"}, 1, "fail",
			map[string][]string{"gw-bucket.s3.ap-south-1.amazonaws.com A": {"52.219.62.20 gateway-endpoint"}}, "1 of 1 addresses of S3 names are public", nil},
		{"gateway route, --require private", []string{"--require", "private", "--resolver", private, "--endpoints", td(t, "aws", "gateway-routes.json"), "--endpoints", td(t, "aws", "s3-prefix-list.json"), "gw-bucket.s3.ap-south-1.amazonaws.com"}, 0, "pass",
			map[string][]string{"gw-bucket.s3.ap-south-1.amazonaws.com A": {"52.219.62.20 gateway-endpoint"}}, "0 interface endpoint, 1 public S3 reached through the gateway endpoint", nil},
		{"public S3 is never a gateway endpoint without routes", []string{"--require", "private", "--resolver", private, "gw-bucket.s3.ap-south-1.amazonaws.com"}, 1, "fail",
			map[string][]string{"gw-bucket.s3.ap-south-1.amazonaws.com A": {"52.219.62.20 public-aws"}}, "", nil},
		{"private DNS for the whole VPC, yet public answers", []string{"--resolver", public, "--endpoints", td(t, "aws", "endpoint-interface.json"), "--endpoints", td(t, "aws", "endpoint-enis.json"), "s3.ap-south-1.amazonaws.com"}, 1, "fail", nil, "",
			[]string{"s3.ap-south-1.amazonaws.com resolves to public addresses through " + public + " although the interface endpoint vpce-0a1b2c3d4e5f67890 has private DNS for the whole VPC"}},
		{"private DNS only for inbound resolver endpoints", []string{"--resolver", public, "--endpoints", filepath.Join(testenv.RepoRoot(t), "resolve", "inventory", "testdata", "aws", "vpc-endpoints.json"), "--endpoints", filepath.Join(testenv.RepoRoot(t), "resolve", "inventory", "testdata", "aws", "network-interfaces.json"), "s3.ap-south-1.amazonaws.com"}, 1, "fail", nil, "",
			[]string{"as the interface endpoint vpce-0a1b2c3d4e5f67890 is set up to do: its private DNS is only for inbound resolver endpoints"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := runCmd(t, nil, append([]string{"resolve", "--format", "json"}, tc.args...)...)
			if res.code != tc.code {
				t.Errorf("exit code %d, want %d; stderr %s", res.code, tc.code, res.stderr)
			}
			r := decodeResolve(t, res)
			if r.Verdict != tc.verdict || !strings.Contains(r.Reason, tc.reason) {
				t.Errorf("verdict %s (%s), want %s saying %q", r.Verdict, r.Reason, tc.verdict, tc.reason)
			}
			for key, want := range tc.queries {
				name, qtype, _ := strings.Cut(key, " ")
				q := r.find(t, name, qtype)
				if !slices.Equal(q.addrs(), want) || !q.S3 && strings.Contains(name, "s3") {
					t.Errorf("%s: addresses %v (s3 %v), want %v", key, q.addrs(), q.S3, want)
				}
			}
			for _, w := range tc.warn {
				if !strings.Contains(strings.Join(r.Warnings, "\n"), w) {
					t.Errorf("no warning says %q:\n%s", w, strings.Join(r.Warnings, "\n"))
				}
			}
		})
	}
}

func TestResolveAnswerDetails(t *testing.T) {
	private := serveDNS(t, privateZone(t))
	public := serveDNS(t, publicZone(t))

	r := decodeResolve(t, runCmd(t, nil, "resolve", "--format", "json", "--resolver", public, "my-bucket.s3.ap-south-1.amazonaws.com"))
	q := r.find(t, "my-bucket.s3.ap-south-1.amazonaws.com", "A")
	a := q.Addresses[0]
	if q.Resolver != public || q.RCode == nil || *q.RCode != "NOERROR" || q.Status != "answer" || q.Transport != "udp" ||
		!slices.Equal(q.Chain, []string{"my-bucket.s3.ap-south-1.amazonaws.com", "s3-r-w.ap-south-1.amazonaws.com"}) ||
		a.TTL != 5 || a.PathEvidence != "ip-ranges" || a.AWS == nil || a.AWS.Prefix != "52.219.64.0/22" || a.AWS.Region != "ap-south-1" || !slices.Contains(a.AWS.Services, "S3") {
		t.Errorf("query %+v", q)
	}
	if len(r.Resolvers) != 1 || r.Resolvers[0].Addr != public || r.Resolvers[0].Source != "--resolver" {
		t.Errorf("resolvers %+v", r.Resolvers)
	}

	r = decodeResolve(t, runCmd(t, nil, "resolve", "--format", "json", "--resolver", private, "big.s3.ap-south-1.amazonaws.com"))
	if q := r.find(t, "big.s3.ap-south-1.amazonaws.com", "A"); !q.Truncated || q.Transport != "tcp" || len(q.Addresses) != 100 {
		t.Errorf("big: truncated %v transport %s, %d addresses; want all 100 over TCP", q.Truncated, q.Transport, len(q.Addresses))
	}
	if q := r.find(t, "big.s3.ap-south-1.amazonaws.com", "AAAA"); q.Status != "nodata" || q.RCode == nil || *q.RCode != "NOERROR" {
		t.Errorf("big AAAA: status %s", q.Status)
	}
	r = decodeResolve(t, runCmd(t, nil, "resolve", "--format", "json", "--resolver", private, "nosuch.s3.ap-south-1.amazonaws.com"))
	if q := r.find(t, "nosuch.s3.ap-south-1.amazonaws.com", "A"); q.Status != "nxdomain" || *q.RCode != "NXDOMAIN" {
		t.Errorf("nosuch: status %s", q.Status)
	}
}

func TestResolveTimeoutAndFailover(t *testing.T) {
	hole := blackHole(t)
	private := serveDNS(t, privateZone(t))

	start := time.Now()
	res := runCmd(t, nil, "resolve", "--format", "json", "--dns-timeout", "150ms", "--tries", "2", "--resolver", hole, "s3.ap-south-1.amazonaws.com")
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("took %v", took)
	}
	want := "vpce-verify: error: s3.ap-south-1.amazonaws.com A: dns: resolver " + hole + ": no reply in 2 tries of 150ms"
	if res.code != exitError || !strings.Contains(res.stderr, want) {
		t.Errorf("exit %d, stderr %q; want %d and %q", res.code, res.stderr, exitError, want)
	}
	r := decodeResolve(t, res)
	if q := r.find(t, "s3.ap-south-1.amazonaws.com", "A"); r.Verdict != "error" || q.Status != "timeout" || q.RCode != nil || q.Resolver != hole {
		t.Errorf("verdict %s, query %+v", r.Verdict, q)
	}

	res = runCmd(t, nil, "resolve", "--format", "json", "--dns-timeout", "100ms", "--tries", "1", "--resolver", hole, "--resolver", private, "s3.ap-south-1.amazonaws.com")
	r = decodeResolve(t, res)
	q := r.find(t, "s3.ap-south-1.amazonaws.com", "A")
	if res.code != exitPass || q.Resolver != private || len(q.Failed) != 1 || q.Failed[0].Resolver != hole || q.Failed[0].Status != "timeout" {
		t.Errorf("exit %d, query %+v", res.code, q)
	}
	if !strings.Contains(strings.Join(r.Warnings, "\n"), "resolver "+hole+" did not answer (timeout), so the next one was asked") {
		t.Errorf("warnings %q", r.Warnings)
	}
}

func TestResolveCompare(t *testing.T) {
	private := serveDNS(t, privateZone(t))
	public := serveDNS(t, publicZone(t))
	res := runCmd(t, nil, "resolve", "--format", "json", "--resolver", private, "--compare-resolver", public, "--endpoint-ip", "10.0.2.50", "--endpoint-ip", "fd00:10:0:2::50", "s3.ap-south-1.amazonaws.com")
	r := decodeResolve(t, res)
	if res.code != exitPass || r.Compare == nil || r.Compare.Resolver != public || len(r.Compare.Queries) != 2 || len(r.Compare.Differences) != 2 {
		t.Fatalf("exit %d, compare %+v", res.code, r.Compare)
	}
	d := r.Compare.Differences[0]
	if d.Name != "s3.ap-south-1.amazonaws.com" || d.QType != "A" || !slices.Equal(d.Fields, []string{"addresses", "paths"}) ||
		!slices.Equal(d.Primary.Addresses, []string{"10.0.2.50"}) || !slices.Equal(d.Compare.Addresses, []string{"52.219.64.10"}) ||
		!slices.Equal(d.Primary.Paths, []string{"interface-endpoint"}) || !slices.Equal(d.Compare.Paths, []string{"public-aws"}) {
		t.Errorf("difference %+v", d)
	}
	text := runCmd(t, nil, "resolve", "--resolver", private, "--compare-resolver", public, "s3.ap-south-1.amazonaws.com").stdout
	want := "s3.ap-south-1.amazonaws.com A: " + private + " says 10.0.2.50 (interface-endpoint); " + public + " says 52.219.64.10 (public-aws)"
	if !strings.Contains(text, "Compared with "+public+":") || !strings.Contains(text, want) {
		t.Errorf("text does not say %q:\n%s", want, text)
	}
	// Two resolvers that agree.
	res = runCmd(t, nil, "resolve", "--format", "json", "--resolver", private, "--compare-resolver", private, "s3.ap-south-1.amazonaws.com")
	if r := decodeResolve(t, res); r.Compare == nil || len(r.Compare.Differences) != 0 {
		t.Errorf("same resolver: %+v", r.Compare)
	}
}

func TestResolveText(t *testing.T) {
	public := serveDNS(t, publicZone(t))
	res := runCmd(t, nil, "resolve", "--resolver", public, "--endpoint-ip", "10.0.2.50", "my-bucket.s3.ap-south-1.amazonaws.com")
	for _, want := range []string{
		"FAIL: 2 of 2 addresses of S3 names are public",
		"\nmy-bucket.s3.ap-south-1.amazonaws.com\n  A     NOERROR from " + public + " over udp",
		"        chain: my-bucket.s3.ap-south-1.amazonaws.com -> s3-r-w.ap-south-1.amazonaws.com\n",
		"        52.219.64.10  ttl 5  public-aws  ip-ranges  AMAZON+S3 ap-south-1 52.219.64.0/22\n",
		// The snapshot is said in a paragraph of its own, not as a resolver.
		"Resolvers:\n  " + public + " (--resolver)\n\nip-ranges.json: embedded, created 2026-08-22-15-17-05, syncToken 1787411825\n",
	} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("text does not say %q:\n%s", want, res.stdout)
		}
	}
}

func TestResolveErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "resolv.conf")
	os.WriteFile(empty, []byte("search ap-south-1.compute.internal\n"), 0o644)
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"no name", []string{"resolve", "--resolver", "127.0.0.1:1"}, "resolve: no name given"},
		{"bucket without region", []string{"resolve", "--bucket", "my-bucket"}, "--bucket needs --region"},
		{"bad region", []string{"resolve", "--region", "mumbai"}, `region "mumbai"`},
		{"resolver by name", []string{"resolve", "--resolver", "dns.example.com", "s3.ap-south-1.amazonaws.com"}, `--resolver "dns.example.com": want an IP address`},
		{"endpoint ID without inventory", []string{"resolve", "--resolver", "127.0.0.1:1", "vpce-0a1b2c3d4e5f67890"}, "needs the output of aws ec2 describe-vpc-endpoints"},
		{"unknown inventory shape", []string{"resolve", "--endpoints", td(t, "s3-endpoint.pcap"), "s3.ap-south-1.amazonaws.com"}, "s3-endpoint.pcap"},
		{"resolv.conf without nameserver", []string{"resolve", "--resolv-conf", empty, "s3.ap-south-1.amazonaws.com"}, empty + " names no nameserver"},
		{"no resolv.conf", []string{"resolve", "--resolv-conf", filepath.Join(dir, "nope"), "s3.ap-south-1.amazonaws.com"}, "nope: no such file"},
		{"bad time limit", []string{"resolve", "--timeout", "0s", "s3.ap-south-1.amazonaws.com"}, "resolve: --timeout must be positive"},
		{"bad wait for a reply", []string{"resolve", "--dns-timeout", "0s", "s3.ap-south-1.amazonaws.com"}, "resolve: --dns-timeout and --tries must be positive"},
		{"bad tries", []string{"resolve", "--tries", "0", "s3.ap-south-1.amazonaws.com"}, "resolve: --dns-timeout and --tries must be positive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := runCmd(t, nil, tc.args...)
			if res.code != exitError || !strings.Contains(res.stderr, tc.stderr) || strings.Contains(res.stderr, "panic") {
				t.Errorf("exit %d, stderr %q; want %d and %q", res.code, res.stderr, exitError, tc.stderr)
			}
		})
	}
}

// TestResolveVPCResolverFlag checks which servers --vpc-resolver names,
// without sending them anything: the time limit is over before the first
// query, so no query leaves the host.
func TestResolveVPCResolverFlag(t *testing.T) {
	res := runCmd(t, nil, "resolve", "--format", "json", "--vpc-resolver", "--timeout", "1ns", "s3.ap-south-1.amazonaws.com")
	r := decodeResolve(t, res)
	var got []string
	for _, s := range r.Resolvers {
		got = append(got, fmt.Sprintf("%s %s %v", s.Addr, s.Source, s.VPCResolver))
	}
	want := []string{"169.254.169.253:53 --vpc-resolver true", "[fd00:ec2::253]:53 --vpc-resolver true"}
	if res.code != exitError || !slices.Equal(got, want) {
		t.Errorf("exit %d, resolvers %v, want %v", res.code, got, want)
	}
}

func TestResolveJSONContract(t *testing.T) {
	private := serveDNS(t, privateZone(t))
	res := runCmd(t, nil, "resolve", "--format", "json", "--resolver", private, "--compare-resolver", private, "s3.ap-south-1.amazonaws.com")
	var r map[string]any
	if err := json.Unmarshal([]byte(res.stdout), &r); err != nil {
		t.Fatal(err)
	}
	has := func(m map[string]any, where string, keys ...string) {
		for _, k := range keys {
			if _, ok := m[k]; !ok {
				t.Errorf("%s has no %q", where, k)
			}
		}
	}
	has(r, "report", "schema", "tool", "verdict", "reason", "policy", "generated_at", "ip_ranges", "resolvers", "queries", "compare", "endpoints", "warnings")
	q := r["queries"].([]any)[0].(map[string]any)
	has(q, "query", "name", "qtype", "resolver", "transport", "truncated", "rcode", "status", "error", "rtt_ms", "s3", "chain", "follow_up_queries", "addresses", "failed_resolvers")
	a := q["addresses"].([]any)[0].(map[string]any)
	has(a, "address", "addr", "ttl", "path", "path_evidence", "aws")
	has(r["resolvers"].([]any)[0].(map[string]any), "resolver", "addr", "source", "vpc_resolver")
	has(r["compare"].(map[string]any), "compare", "resolver", "queries", "differences")
	res = runCmd(t, nil, "resolve", "--format", "json", "--resolver", private, "s3-r-w.ap-south-1.amazonaws.com")
	json.Unmarshal([]byte(res.stdout), &r)
	a = r["queries"].([]any)[0].(map[string]any)["addresses"].([]any)[0].(map[string]any)
	has(a["aws"].(map[string]any), "aws", "services", "region", "prefix", "network_border_group")
}

// TestResolveDnsmasq runs resolve against Debian's dnsmasq on a loopback
// port: a real resolver's answers, TTLs and CNAME handling.
func TestResolveDnsmasq(t *testing.T) {
	dnsmasq := testenv.Tool(t, "dnsmasq")
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	pc.Close()
	cmd := exec.Command(dnsmasq, "--keep-in-foreground", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
		"--listen-address=127.0.0.1", "--bind-interfaces", fmt.Sprintf("--port=%d", port), "--pid-file=", "--local-ttl=60",
		"--host-record=s3.ap-south-1.amazonaws.com,10.0.2.50,fd00:10:0:2::50",
		"--host-record=s3-r-w.ap-south-1.amazonaws.com,52.219.64.10,2406:da60:a000::10",
		"--cname=my-bucket.s3.ap-south-1.amazonaws.com,s3-r-w.ap-south-1.amazonaws.com",
		"--host-record=bucket."+vpceBase+",10.0.2.50,fd00:10:0:2::50")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	server := fmt.Sprintf("127.0.0.1:%d", port)
	ready := false
	for i := 0; i < 50 && !ready; i++ {
		_, _, err := (&dns.Client{Timeout: 100 * time.Millisecond}).Exchange(new(dns.Msg).SetQuestion("s3.ap-south-1.amazonaws.com.", dns.TypeA), server)
		ready = err == nil
		if !ready {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if !ready {
		t.Fatalf("dnsmasq did not start: %s", stderr.String())
	}

	ep := []string{"--resolver", server, "--endpoint-ip", "10.0.2.50", "--endpoint-ip", "fd00:10:0:2::50"}
	res := runCmd(t, nil, append([]string{"resolve", "--format", "json", "s3.ap-south-1.amazonaws.com", "bucket." + vpceBase}, ep...)...)
	r := decodeResolve(t, res)
	if res.code != exitPass || r.Verdict != "pass" {
		t.Errorf("endpoint names: exit %d verdict %s (%s); stderr %s", res.code, r.Verdict, r.Reason, res.stderr)
	}
	for _, key := range [][2]string{{"s3.ap-south-1.amazonaws.com", "A"}, {"s3.ap-south-1.amazonaws.com", "AAAA"}, {"bucket." + vpceBase, "A"}} {
		q := r.find(t, key[0], key[1])
		if len(q.Addresses) != 1 || q.Addresses[0].Path != "interface-endpoint" || q.Addresses[0].PathEvidence != "endpoint-ip" || q.Addresses[0].TTL != 60 || q.Resolver != server {
			t.Errorf("%s %s: %+v", key[0], key[1], q)
		}
	}

	res = runCmd(t, nil, append([]string{"resolve", "--format", "json", "my-bucket.s3.ap-south-1.amazonaws.com"}, ep...)...)
	r = decodeResolve(t, res)
	q := r.find(t, "my-bucket.s3.ap-south-1.amazonaws.com", "A")
	if res.code != exitFail || !slices.Equal(q.Chain, []string{"my-bucket.s3.ap-south-1.amazonaws.com", "s3-r-w.ap-south-1.amazonaws.com"}) ||
		!slices.Equal(q.addrs(), []string{"52.219.64.10 public-aws"}) {
		t.Errorf("public bucket: exit %d, query %+v", res.code, q)
	}
	if q := r.find(t, "my-bucket.s3.ap-south-1.amazonaws.com", "AAAA"); !slices.Equal(q.addrs(), []string{"2406:da60:a000::10 public-aws"}) {
		t.Errorf("public bucket AAAA: %+v", q)
	}

	// dnsmasq without upstream servers (--no-resolv) refuses names it
	// does not hold: the resolver did not say, so it is an error.
	res = runCmd(t, nil, append([]string{"resolve", "--format", "json", "nosuch.s3.ap-south-1.amazonaws.com"}, ep...)...)
	r = decodeResolve(t, res)
	if q := r.find(t, "nosuch.s3.ap-south-1.amazonaws.com", "A"); res.code != exitError || r.Verdict != "error" || q.Status != "refused" ||
		!strings.Contains(res.stderr, "dns: resolver "+server+" answered REFUSED for nosuch.s3.ap-south-1.amazonaws.com A") {
		t.Errorf("unknown name: exit %d, verdict %s, status %s; stderr %s", res.code, r.Verdict, q.Status, res.stderr)
	}
}

// bucketResolver is a slow resolver that, like an authoritative server or
// a plain forwarder, does not chase CNAMEs. Names are asked as
// KIND-I.s3.ap-south-1.amazonaws.com:
//
//   - d: A 10.0.2.50 (or public, the A of leak.s3.ap-south-1.amazonaws.com
//     52.219.64.10), no AAAA;
//   - c: a CNAME to edge-I.example only, whose A (10.0.2.50) needs a
//     follow-up query, answered after followUp;
//   - x: NXDOMAIN;
//   - r: REFUSED when refuse is set, else as d.
//
// Every first reply waits first(I). Closing release ends every wait.
type bucketResolver struct {
	followUp time.Duration
	refuse   bool
	release  chan struct{}

	mu      sync.Mutex
	first   func(i int) time.Duration
	replied []string // first queries, "name qtype", in the order answered
}

// setFirst sets how long first replies wait, and forgets the replies.
func (b *bucketResolver) setFirst(first func(i int) time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.first, b.replied = first, nil
}

func (b *bucketResolver) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	q := r.Question[0]
	name := strings.ToLower(strings.TrimSuffix(q.Name, "."))
	m := new(dns.Msg)
	m.SetReply(r)
	m.RecursionAvailable = true
	a := func(addr string) {
		if q.Qtype == dns.TypeA {
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.ParseIP(addr)})
		}
	}
	var kind string
	var i int
	label, _, _ := strings.Cut(name, ".")
	if n, _ := fmt.Sscanf(label, "edge-%d", &i); n == 1 {
		kind = "edge"
	} else if k, num, ok := strings.Cut(label, "-"); ok {
		kind = k
		fmt.Sscanf(num, "%d", &i)
	} else {
		kind = label
	}
	wait := b.followUp
	if kind != "edge" {
		b.mu.Lock()
		wait = b.first(i)
		b.mu.Unlock()
	}
	select {
	case <-time.After(wait):
	case <-b.release:
	}
	switch {
	case kind == "leak":
		a("52.219.64.10")
	case kind == "d" || kind == "r" && !b.refuse:
		a("10.0.2.50")
	case kind == "r":
		m.Rcode = dns.RcodeRefused
	case kind == "c":
		m.Answer = append(m.Answer, &dns.CNAME{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: 60}, Target: fmt.Sprintf("edge-%d.example.", i)})
	case kind == "edge":
		a("10.0.2.50")
	default:
		m.Rcode = dns.RcodeNameError
	}
	if kind != "edge" {
		b.mu.Lock()
		b.replied = append(b.replied, name+" "+dns.TypeToString[q.Qtype])
		b.mu.Unlock()
	}
	w.WriteMsg(m)
}

// serveBuckets runs b on loopback; its waits end before the server stops.
func serveBuckets(t *testing.T, b *bucketResolver) string {
	b.release = make(chan struct{})
	addr := serveDNS(t, b)
	t.Cleanup(func() { close(b.release) }) // runs before the server's stop
	return addr
}

// bucketNames are count names KIND-I.s3.ap-south-1.amazonaws.com, the
// kinds in turn.
func bucketNames(count int, kinds ...string) []string {
	var names []string
	for i := range count {
		names = append(names, fmt.Sprintf("%s-%d.s3.ap-south-1.amazonaws.com", kinds[i%len(kinds)], i))
	}
	return names
}

// Two slow resolvers, 32 names, half of them needing a follow-up query
// that comes too late: the command ends at its --timeout, lists every name
// in the order given, and says which queries the time limit cut. Lookups
// start in the order of the names, 8 at a time, and a lookup waiting for a
// late follow-up holds its place: the names before are answered, those
// after are not sent.
func TestResolveTimeLimit(t *testing.T) {
	slow := func(int) time.Duration { return 200 * time.Millisecond }
	first := serveBuckets(t, &bucketResolver{first: slow, followUp: time.Minute})
	second := serveBuckets(t, &bucketResolver{first: slow, followUp: time.Minute})
	names := bucketNames(32, "d", "c")
	// Without the time limit, a follow-up lookup alone takes 2.4 s: two
	// tries of 500ms at each resolver after its 200ms reply.
	args := []string{"resolve", "--timeout", "2s", "--dns-timeout", "500ms", "--resolver", first, "--resolver", second, "--endpoint-ip", "10.0.2.50"}
	const limit, margin = 2 * time.Second, 4 * time.Second

	start := time.Now()
	res := runCmd(t, nil, append(append(args, "--format", "json"), names...)...)
	if took := time.Since(start); took > limit+margin {
		t.Errorf("took %v with --timeout %v", took, limit)
	}
	r := decodeResolve(t, res)
	if len(r.Queries) != 2*len(names) {
		t.Fatalf("%d queries, want %d", len(r.Queries), 2*len(names))
	}
	var raw struct {
		Queries []struct {
			Error *string `json:"error"`
		} `json:"queries"`
	}
	json.Unmarshal([]byte(res.stdout), &raw)
	cut, answered := 0, map[string]bool{}
	for i, q := range r.Queries {
		name, qtype := names[i/2], []string{"A", "AAAA"}[i%2]
		if q.Name != name || q.QType != qtype {
			t.Fatalf("query %d is %s %s, want %s %s: not in the order given", i, q.Name, q.QType, name, qtype)
		}
		msg := ""
		if e := raw.Queries[i].Error; e != nil {
			msg = *e
		}
		switch {
		case q.Status == "timeout" && strings.HasSuffix(msg, "before the command's time limit"):
			cut++
		case strings.HasPrefix(name, "d-") && (qtype == "A" && slices.Equal(q.addrs(), []string{"10.0.2.50 interface-endpoint"}) || qtype == "AAAA" && q.Status == "nodata"):
			answered[name] = true
		default:
			t.Errorf("%s %s: %s %v (%s); want an answer from the zone or a query cut by the time limit", name, qtype, q.Status, q.addrs(), msg)
		}
	}
	// The first names were answered at once; every name after a
	// follow-up that could not come is cut, mid-chain or before sending.
	if !answered[names[0]] || !answered[names[2]] {
		t.Errorf("answered %v; want at least %s and %s", answered, names[0], names[2])
	}
	if want := "no reply to the follow-up query for edge-1.example"; !strings.Contains(*raw.Queries[2].Error, want) ||
		!slices.Equal(r.Queries[2].Chain, []string{names[1], "edge-1.example"}) {
		t.Errorf("%s A: %q, chain %v; want the chain so far and %q", names[1], *raw.Queries[2].Error, r.Queries[2].Chain, want)
	}
	if want := "the query was not sent before the command's time limit"; !strings.HasSuffix(*raw.Queries[63].Error, want) {
		t.Errorf("last query: %q, want %q", *raw.Queries[63].Error, want)
	}
	if res.code != exitError || r.Verdict != "error" || r.PartialVerdict != "pass" || !strings.Contains(r.Reason, fmt.Sprintf("%d of 64 queries got no answer", cut)) {
		t.Errorf("exit %d, verdict %s (partial %s): %s; want error, partial pass, %d of 64 without an answer", res.code, r.Verdict, r.PartialVerdict, r.Reason, cut)
	}
	for _, want := range []string{
		fmt.Sprintf("vpce-verify: error: the time limit (--timeout 2s) passed before %d of 64 queries were answered: %s A, %s AAAA, %s A and %d more", cut, names[1], names[1], names[3], cut-3),
		"vpce-verify: hint: give it more time (--timeout 6s); --dns-timeout (500ms) is the wait for each reply",
	} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, res.stderr)
		}
	}

	// A public address that did come is a proven leak, whatever the time
	// limit cut: FAIL, and the text lists every name in order.
	names[0] = "leak.s3.ap-south-1.amazonaws.com"
	start = time.Now()
	res = runCmd(t, nil, append(args, names...)...)
	if took := time.Since(start); took > limit+margin {
		t.Errorf("took %v with --timeout %v", took, limit)
	}
	if res.code != exitFail || !strings.HasPrefix(res.stdout, "FAIL: 1 of ") || !strings.Contains(res.stdout, "leak.s3.ap-south-1.amazonaws.com A 52.219.64.10 (public-aws") {
		t.Errorf("exit %d; want 1 and FAIL naming the public address:\n%s", res.code, res.stdout)
	}
	at := 0
	for _, name := range names {
		i := strings.Index(res.stdout[at:], "\n"+name+"\n")
		if i < 0 {
			t.Fatalf("the text does not list %s after the names before it:\n%s", name, res.stdout)
		}
		at += i + 1
	}
	if !strings.Contains(res.stdout, "\n  A     NO REPLY: dns: resolver "+first+": the query was not sent before the command's time limit\n") {
		t.Errorf("the text does not mark a query cut by the time limit:\n%s", res.stdout)
	}
}

// When every answer comes in time, resolving the names 8 at a time gives
// the report that asking them one after the other gives, in text and in
// JSON, byte for byte but for the round-trip times: the same order (the
// names as given, A before AAAA), answers, failovers and comparison,
// although the replies arrive in another order.
func TestResolveSameAsSequential(t *testing.T) {
	// The first resolver refuses the r- names, the second answers them;
	// the compared one refuses them too.
	first := &bucketResolver{followUp: 10 * time.Millisecond, refuse: true}
	second := &bucketResolver{followUp: 10 * time.Millisecond}
	compare := &bucketResolver{followUp: 10 * time.Millisecond, refuse: true}
	resolvers := []*bucketResolver{first, second, compare}
	for _, b := range resolvers {
		b.setFirst(func(int) time.Duration { return 0 })
	}
	servers := []resolve.Server{}
	for _, b := range []*bucketResolver{first, second} {
		ap, err := resolve.ParseServer(serveBuckets(t, b))
		if err != nil {
			t.Fatal(err)
		}
		servers = append(servers, resolve.Server{Addr: ap, Source: "--resolver"})
	}
	cmpAddr, err := resolve.ParseServer(serveBuckets(t, compare))
	if err != nil {
		t.Fatal(err)
	}
	cmpServer := resolve.Server{Addr: cmpAddr, Source: "--compare-resolver"}
	names := bucketNames(32, "d", "c", "x", "r")
	args := []string{"resolve", "--resolver", servers[0].Addr.String(), "--resolver", servers[1].Addr.String(),
		"--compare-resolver", cmpAddr.String(), "--endpoint-ip", "10.0.2.50"}

	// One after the other, as a loop over Lookup.
	cf := classifyFlags{endpointIPs: []string{"10.0.2.50"}, require: report.PolicyInterfaceEndpoint}
	cl, err := cf.load(&env{now: testClock})
	if err != nil {
		t.Fatal(err)
	}
	ev := report.ResolveEvidence{Resolvers: servers, CompareResolver: cmpServer}
	client := &resolve.Client{Timeout: 2 * time.Second, Tries: 2} // the flags' defaults
	for _, n := range names {
		for _, qtype := range []string{"A", "AAAA"} {
			ev.Answers = append(ev.Answers, client.Lookup(context.Background(), servers, n, qtype))
			ev.Compare = append(ev.Compare, client.Lookup(context.Background(), []resolve.Server{cmpServer}, n, qtype))
		}
	}
	seq := report.BuildResolve(ev, cl.config())
	var text, js strings.Builder
	if err := seq.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := seq.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	if seq.Verdict != "error" || seq.PartialVerdict != "pass" || len(seq.Compare.Differences) != 16 || !strings.Contains(js.String(), `"failed_resolvers": [
        {`) {
		t.Fatalf("the sequential report is not what the test means to compare: verdict %s (partial %s), %d differences\n%s", seq.Verdict, seq.PartialVerdict, len(seq.Compare.Differences), text.String())
	}

	// Later names are answered sooner.
	for _, b := range resolvers {
		b.setFirst(func(i int) time.Duration { return time.Duration(32-i) * 4 * time.Millisecond })
	}

	rtt := regexp.MustCompile(`"rtt_ms": [0-9.]+|, [0-9.]+ ms`)
	for _, tc := range []struct {
		format, want string
	}{{"text", text.String()}, {"json", js.String()}} {
		t.Run(tc.format, func(t *testing.T) {
			first.mu.Lock()
			first.replied = nil
			first.mu.Unlock()
			res := runCmd(t, nil, append(append(args, "--format", tc.format), names...)...)
			if res.code != exitError {
				t.Errorf("exit %d, want %d (the compared resolver refused some queries)", res.code, exitError)
			}
			got, want := rtt.ReplaceAllString(res.stdout, "RTT"), rtt.ReplaceAllString(tc.want, "RTT")
			if got != want {
				t.Errorf("the report differs from the one of sequential lookups:\n%s", lineDiff(want, got))
			}
			// The test means something only if the replies came out of
			// order.
			first.mu.Lock()
			replied := slices.Clone(first.replied)
			first.mu.Unlock()
			if slices.IsSortedFunc(replied, func(a, b string) int { return bucketIndex(a) - bucketIndex(b) }) {
				t.Errorf("the replies came in the order asked %v: the test shows nothing", replied)
			}
		})
	}
}

// bucketIndex is I of "KIND-I.s3...".
func bucketIndex(s string) int {
	_, num, _ := strings.Cut(s, "-")
	var i int
	fmt.Sscanf(num, "%d", &i)
	return i
}

// lineDiff shows the first lines where want and got differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\nwant %q\ngot  %q", i+1, wl, gl)
		}
	}
	return "(same lines)"
}

// Ctrl-C (the context cancelled) ends the waits at once: the report of
// what came is printed, and the queries cut are said to be interrupted.
func TestResolveInterrupted(t *testing.T) {
	hole := blackHole(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	var out, errb bytes.Buffer
	start := time.Now()
	code := testRun(ctx, []string{"resolve", "--format", "json", "--timeout", "60s", "--dns-timeout", "30s", "--resolver", hole, "s3.ap-south-1.amazonaws.com"}, nil, &out, &errb)
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("took %v; interrupted after 300ms", took)
	}
	r := decodeResolve(t, result{code, out.String(), errb.String()})
	want := "vpce-verify: error: the command was interrupted before 2 of 2 queries were answered: s3.ap-south-1.amazonaws.com A, s3.ap-south-1.amazonaws.com AAAA\n"
	if code != exitError || r.Verdict != "error" || r.find(t, "s3.ap-south-1.amazonaws.com", "A").Status != "timeout" || errb.String() != want {
		t.Errorf("exit %d, verdict %s, stderr %q; want %d, error and %q", code, r.Verdict, errb.String(), exitError, want)
	}
}

// countingZone is a dnsZone that counts the questions it was asked, by
// name and type.
type countingZone struct {
	*dnsZone
	mu    sync.Mutex
	asked map[string]int
}

func (z *countingZone) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	z.mu.Lock()
	z.asked[strings.ToLower(r.Question[0].Name)+" "+dns.TypeToString[r.Question[0].Qtype]]++
	z.mu.Unlock()
	z.dnsZone.ServeDNS(w, r)
}

// dig's habits: @SERVER is the server asked, A or AAAA the only type; a
// name that is no host name is refused before anything is sent.
func TestResolveDigHabits(t *testing.T) {
	z := &countingZone{dnsZone: privateZone(t), asked: map[string]int{}}
	server := serveDNS(t, z)
	res := runCmd(t, nil, "resolve", "--format", "json", "@"+server, "s3.ap-south-1.amazonaws.com", "AAAA")
	r := decodeResolve(t, res)
	if res.code != exitPass || len(r.Queries) != 1 || r.Queries[0].QType != "AAAA" || r.Queries[0].Resolver != server {
		t.Errorf("exit %d, queries %+v; want one AAAA query to %s\nstderr: %s", res.code, r.Queries, server, res.stderr)
	}
	z.mu.Lock()
	if len(z.asked) != 1 || z.asked["s3.ap-south-1.amazonaws.com. AAAA"] == 0 {
		t.Errorf("the server was asked %v, want only the AAAA question", z.asked)
	}
	clear(z.asked)
	z.mu.Unlock()
	// Type first, lower case, both types: as dig takes them.
	res = runCmd(t, nil, "resolve", "--format", "json", "a", "@"+server, "aaaa", "s3.ap-south-1.amazonaws.com")
	if r := decodeResolve(t, res); len(r.Queries) != 2 || r.Queries[0].QType != "A" || r.Queries[1].QType != "AAAA" {
		t.Errorf("queries %+v, want A then AAAA", r.Queries)
	}
	z.mu.Lock()
	clear(z.asked)
	z.mu.Unlock()

	for _, tc := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"s3.ap-south-1.amazonaws.com", "MX"}, "vpce-verify: error: resolve: MX: only A and AAAA records are asked: the addresses are what is judged\nvpce-verify: hint: vpce-verify resolve [@SERVER] NAME... [A|AAAA], as dig"},
		{[]string{"+short", "s3.ap-south-1.amazonaws.com"}, "vpce-verify: error: resolve: +short: dig's options are not taken here"},
		{[]string{"@", "s3.ap-south-1.amazonaws.com"}, "vpce-verify: error: resolve: @ without a server: write @10.0.0.2"},
		{[]string{"@10.0.0.300", "s3.ap-south-1.amazonaws.com"}, `vpce-verify: error: resolve: --resolver "10.0.0.300": want an IP address`},
		{[]string{"https://my-bucket.s3.ap-south-1.amazonaws.com/key"}, `vpce-verify: error: resolve: "https://my-bucket.s3.ap-south-1.amazonaws.com/key" is a URL: give its host name, my-bucket.s3.ap-south-1.amazonaws.com`},
		{[]string{"s3..amazonaws.com"}, `vpce-verify: error: resolve: "s3..amazonaws.com": not a domain name`},
		{[]string{strings.Repeat("x", 64) + ".s3.amazonaws.com"}, "not a domain name"},
		{[]string{"s3.ap-south-1.amazonaws.com:443"}, `vpce-verify: error: resolve: "s3.ap-south-1.amazonaws.com:443": ":" is not in a host name`},
	} {
		res := runCmd(t, nil, append([]string{"resolve", "@" + server}, tc.args...)...)
		if res.code != exitError || !strings.Contains(res.stderr, tc.stderr) || res.stdout != "" {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", tc.args, res.code, res.stderr, exitError, tc.stderr)
		}
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	if len(z.asked) != 0 {
		t.Errorf("refused arguments sent queries: %v", z.asked)
	}
}
