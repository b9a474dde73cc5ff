package report

import (
	"bytes"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vpce-verify/vpce-verify/resolve"
	"github.com/vpce-verify/vpce-verify/resolve/ipranges"
)

func answer(server, name, qtype string, status resolve.Status, addrs ...string) *resolve.Answer {
	a := &resolve.Answer{Name: name, Type: qtype, Server: resolve.Server{Addr: netip.MustParseAddrPort(server)},
		Transport: "udp", Status: status, Chain: []string{name}, RCode: "NOERROR"}
	for _, s := range addrs {
		a.Addresses = append(a.Addresses, resolve.Address{Addr: netip.MustParseAddr(s), TTL: 60})
	}
	if status.Failed() {
		a.RCode, a.Err = "", errors.New("dns: resolver "+server+": no reply in 2 tries of 2s")
	}
	return a
}

func buildResolve(ev ResolveEvidence) *ResolveReport {
	return BuildResolve(ev, Config{
		Classifier: resolve.NewClassifier(ipranges.Embedded(), nil, nil, nil),
		Ranges:     ipranges.Embedded(),
		Now:        time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC),
	})
}

func TestResolveReportResolvers(t *testing.T) {
	stub := resolve.Server{Addr: netip.MustParseAddrPort("127.0.0.53:53"), Source: "/etc/resolv.conf",
		Upstream: []netip.AddrPort{netip.MustParseAddrPort("10.0.0.2:53")}, UpstreamSource: "/run/systemd/resolve/resolv.conf"}
	vpc := resolve.Server{Addr: resolve.VPCResolvers[0], Source: "--vpc-resolver"}
	base2 := resolve.Server{Addr: netip.MustParseAddrPort("10.0.0.2:53"), Source: "--resolver"}
	r := buildResolve(ResolveEvidence{
		Resolvers: []resolve.Server{stub, vpc, base2},
		Answers:   []*resolve.Answer{answer("127.0.0.53:53", "s3.ap-south-1.amazonaws.com", "A", resolve.StatusAnswer, "10.0.2.50")},
		VPCCIDRs:  []netip.Prefix{netip.MustParsePrefix("10.0.0.0/16")},
	})
	var got []bool
	for _, s := range r.Resolvers {
		got = append(got, s.VPCResolver)
	}
	if len(got) != 3 || got[0] || !got[1] || !got[2] || r.Resolvers[0].UpstreamSource != stub.UpstreamSource || r.Resolvers[0].Upstream[0] != "10.0.0.2:53" {
		t.Errorf("resolvers %+v", r.Resolvers)
	}
	var b bytes.Buffer
	r.WriteText(&b)
	for _, want := range []string{
		"  127.0.0.53:53 (/etc/resolv.conf): systemd-resolved's stub, forwarding to 10.0.0.2:53 (/run/systemd/resolve/resolv.conf)\n",
		"  169.254.169.253:53 (--vpc-resolver), the VPC resolver\n",
		"  10.0.0.2:53 (--resolver), the VPC resolver\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text does not say %q:\n%s", want, b.String())
		}
	}
	if r.Verdict != Pass || len(r.Warnings) == 0 || !strings.Contains(r.Warnings[0], "taken for an interface endpoint only because") {
		t.Errorf("verdict %s, warnings %q", r.Verdict, r.Warnings)
	}
}

func TestResolveReportVerdicts(t *testing.T) {
	const s = "10.0.0.2:53"
	tests := []struct {
		name             string
		answers          []*resolve.Answer
		verdict, partial string
		reason           string
	}{
		{"public wins over private", []*resolve.Answer{
			answer(s, "s3.ap-south-1.amazonaws.com", "A", resolve.StatusAnswer, "10.0.2.50"),
			answer(s, "my-bucket.s3.ap-south-1.amazonaws.com", "A", resolve.StatusAnswer, "52.219.64.10"),
		}, Fail, "", "1 of 2 addresses of S3 names are public: my-bucket.s3.ap-south-1.amazonaws.com A 52.219.64.10"},
		{"NODATA and NXDOMAIN only", []*resolve.Answer{
			answer(s, "s3.ap-south-1.amazonaws.com", "AAAA", resolve.StatusNoData),
			answer(s, "nope.s3.ap-south-1.amazonaws.com", "A", resolve.StatusNXDomain),
		}, Inconclusive, "", "no S3 name resolved to an address (1 NODATA, 1 NXDOMAIN)"},
		{"a timeout beside a public answer", []*resolve.Answer{
			answer(s, "my-bucket.s3.ap-south-1.amazonaws.com", "A", resolve.StatusAnswer, "52.219.64.10"),
			answer(s, "my-bucket.s3.ap-south-1.amazonaws.com", "AAAA", resolve.StatusTimeout),
		}, Fail, "", "1 of 1 addresses of S3 names are public: my-bucket.s3.ap-south-1.amazonaws.com A 52.219.64.10 (public-aws, AMAZON+S3 ap-south-1 52.219.64.0/22); 1 of 2 queries got no answer (my-bucket.s3.ap-south-1.amazonaws.com AAAA"},
		{"nothing answered", []*resolve.Answer{
			answer(s, "s3.ap-south-1.amazonaws.com", "A", resolve.StatusTimeout),
		}, Error, "", "none of the 1 queries got an answer"},
		{"a non-S3 name is not judged", []*resolve.Answer{
			answer(s, "s3.ap-south-1.amazonaws.com", "A", resolve.StatusAnswer, "10.0.2.50"),
			answer(s, "www.example.com", "A", resolve.StatusAnswer, "192.0.2.1"),
		}, Pass, "", "the 1 address of 1 S3 name is an interface endpoint address"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := buildResolve(ResolveEvidence{Answers: tc.answers})
			if r.Verdict != tc.verdict || r.PartialVerdict != tc.partial || !strings.Contains(r.Reason, tc.reason) {
				t.Errorf("verdict %s partial %q reason %q; want %s %q %q", r.Verdict, r.PartialVerdict, r.Reason, tc.verdict, tc.partial, tc.reason)
			}
		})
	}
}

func TestResolveReportSingleLabel(t *testing.T) {
	r := buildResolve(ResolveEvidence{Answers: []*resolve.Answer{answer("10.0.0.2:53", "my-bucket", "A", resolve.StatusNXDomain)}})
	if w := strings.Join(r.Warnings, "\n"); !strings.Contains(w, "my-bucket has no dot: it was asked as the top-level name my-bucket. (search domains are never applied)") {
		t.Errorf("warnings %q", w)
	}
}

func TestResolveReportDifferences(t *testing.T) {
	const p, c = "10.0.0.2:53", "1.1.1.1:53"
	name := "s3.ap-south-1.amazonaws.com"
	r := buildResolve(ResolveEvidence{
		Answers:         []*resolve.Answer{answer(p, name, "A", resolve.StatusAnswer, "52.219.64.10", "52.219.66.5"), answer(p, name, "AAAA", resolve.StatusNoData)},
		CompareResolver: resolve.Server{Addr: netip.MustParseAddrPort(c)},
		Compare:         []*resolve.Answer{answer(c, name, "A", resolve.StatusAnswer, "52.219.66.5", "52.219.64.10"), answer(c, name, "AAAA", resolve.StatusNoData)},
	})
	if len(r.Compare.Differences) != 0 {
		t.Errorf("the same set in another order is no difference: %+v", r.Compare.Differences)
	}
	r = buildResolve(ResolveEvidence{
		Answers:         []*resolve.Answer{answer(p, name, "A", resolve.StatusAnswer, "52.219.64.10")},
		CompareResolver: resolve.Server{Addr: netip.MustParseAddrPort(c)},
		Compare:         []*resolve.Answer{answer(c, name, "A", resolve.StatusAnswer, "52.219.66.5")},
	})
	var b bytes.Buffer
	r.WriteText(&b)
	if len(r.Compare.Differences) != 1 || !strings.Contains(b.String(), "(other addresses, same path: public S3 names rotate their addresses)") {
		t.Errorf("differences %+v, text:\n%s", r.Compare.Differences, b.String())
	}
}
