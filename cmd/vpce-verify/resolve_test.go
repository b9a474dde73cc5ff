package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/vpce-verify/vpce-verify/internal/lab"
	"github.com/vpce-verify/vpce-verify/internal/testenv"
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
			map[string][]string{"www.example.com A": {"93.184.215.14 public-non-aws"}}, "none of the 1 names asked is an S3 name", nil},
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
		"Resolvers:\n  " + public + " (--resolver)\n",
		"ip-ranges.json: embedded, created 2026-08-22-15-17-05, syncToken 1787411825",
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
// without sending them anything: the only name is invalid, so no query
// leaves the host.
func TestResolveVPCResolverFlag(t *testing.T) {
	res := runCmd(t, nil, "resolve", "--format", "json", "--vpc-resolver", "bad..name")
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
