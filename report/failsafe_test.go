package report

import (
	"strings"
	"testing"
)

// wantConn is what a fail-safe case says about one connection, found by
// its server.
type wantConn struct {
	server   string
	s3       bool
	path     string // "" to leave unchecked
	kind     string // s3_kind; "" to leave unchecked
	evidence string // one s3_evidence word it must carry; "" to leave unchecked
}

// TestFailSafe: every case here said PASS (or nothing certain) in an
// earlier build while S3 traffic bypassed the endpoint. Each now gets the
// verdict a compliance reviewer would defend.
func TestFailSafe(t *testing.T) {
	tests := []struct {
		name    string
		setup   setup
		files   []string
		verdict string
		reason  []string
		conns   []wantConn
		warn    []string
	}{
		{name: "S3 front doors are S3", setup: setup{endpointIPs: []string{"10.0.2.50"}}, files: []string{"front-doors.pcap"},
			verdict: Fail, reason: []string{"3 of 4 established S3 connections went to a public address"},
			conns: []wantConn{
				{server: "10.0.2.50:443", s3: true, path: "interface-endpoint"},
				{server: "13.224.0.10:443", s3: true, path: "public-aws", kind: "accelerate", evidence: "sni"},
				{server: "99.83.128.10:443", s3: true, path: "public-aws", kind: "mrap", evidence: "sni"},
				{server: "3.5.208.10:443", s3: true, path: "public-aws", kind: "express", evidence: "aws-range"},
			}},
		{name: "plain HTTP with an S3 Host is S3", files: []string{"http-plain.pcap"},
			verdict: Fail, reason: []string{"52.219.64.10:80"},
			conns: []wantConn{
				{server: "52.219.64.10:80", s3: true, path: "public-aws", evidence: "http-host"},
				{server: "3.5.208.20:80", s3: false},
			}},
		{name: "a CONNECT proxy is never the endpoint, with an inventory", setup: setup{endpointIPs: []string{"10.0.2.50"}}, files: []string{"proxy.pcap"},
			verdict: Inconclusive, reason: []string{"2 of 2 established S3 connections went through an HTTP proxy", "10.0.3.10:3128"},
			conns: []wantConn{
				{server: "10.0.3.10:3128", s3: true, path: "proxy", evidence: "proxy-target"},
			}},
		{name: "a CONNECT proxy is never the endpoint, without one", files: []string{"proxy.pcap"},
			verdict: Inconclusive, reason: []string{"through an HTTP proxy"},
			conns: []wantConn{{server: "10.0.3.10:3128", s3: true, path: "proxy"}}},
		{name: "a proxy beside a leak still fails", setup: setup{endpointIPs: []string{"10.0.2.50"}}, files: []string{"proxy.pcap", "s3-public.pcap"},
			verdict: Fail, reason: []string{"1 of 3 established S3 connections went to a public address"}},
		{name: "a transfer already under way is traffic", files: []string{"midstream-upload.pcap"},
			verdict: Fail, reason: []string{"52.219.64.10:443", "S3 by address only"},
			conns: []wantConn{{server: "52.219.64.10:443", s3: true, path: "public-aws", evidence: "aws-range"}}},
		{name: "names against prefixes", files: []string{"prefix-evidence.pcap"},
			verdict: Fail, reason: []string{"2 of 2 established S3 connections went to a public address"},
			conns: []wantConn{
				{server: "3.5.208.30:443", s3: false},
				{server: "3.5.212.10:443", s3: true, path: "public-aws", evidence: "aws-range"},
				{server: "52.219.160.10:443", s3: true, path: "public-aws", evidence: "aws-range"},
			},
			warn: []string{"named www.example.com, not an S3 host, but its address is in 52.219.160.0/23, which only S3 uses", "counted as S3 by address only (3.5.212.0/23"}},
		{name: "an inventory is the truth", setup: setup{endpointIPs: []string{"fd00:10:0:2::99"}}, files: []string{"ipv6-endpoint.pcap"},
			verdict: Inconclusive, reason: []string{"private address the endpoint inventory does not list", "[fd00:10:0:2::50]:443"},
			conns: []wantConn{{server: "[fd00:10:0:2::50]:443", s3: true, path: "private-unknown"}}},
		{name: "without an inventory the endpoint is inferred, and said so", files: []string{"ipv6-endpoint.pcap"},
			verdict: Pass, reason: []string{"identified as an endpoint only from DNS"},
			conns: []wantConn{{server: "[fd00:10:0:2::50]:443", s3: true, path: "interface-endpoint"}},
			warn:  []string{"fd00:10:0:2::50 is taken for an interface endpoint only because a DNS answer for s3.ap-south-1.amazonaws.com pointed to it"}},
		{name: "lost packets keep a pass from being one", setup: setup{endpointIPs: []string{"10.0.2.50"}, drops: 12}, files: []string{"s3-endpoint.pcap"},
			verdict: Inconclusive, reason: []string{"the 1 established S3 connection went to the interface endpoint, but the capture lost 12 packets"}},
		{name: "an interrupted reading keeps a pass from being one", setup: setup{endpointIPs: []string{"10.0.2.50"}, interrupted: true}, files: []string{"s3-endpoint.pcap"},
			verdict: Inconclusive, reason: []string{"went to the interface endpoint, but the reading of testdata/s3-endpoint.pcap was interrupted after"}},
		{name: "an interrupted reading does not undo a leak", setup: setup{interrupted: true}, files: []string{"s3-public.pcap"},
			verdict: Fail, reason: []string{"went to a public address"}},
		{name: "an unnamed connection to an edge address keeps a pass from being one", setup: setup{endpointIPs: []string{"10.0.2.50"}}, files: []string{"edge-unnamed.pcap"},
			verdict: Inconclusive, reason: []string{"1 established connection to CloudFront or Global Accelerator addresses carried no server name", "13.224.0.20:443"},
			conns: []wantConn{{server: "13.224.0.20:443", s3: false}}},
		{name: "a connection whose first bytes were cut before any name keeps a pass from being one", setup: setup{endpointIPs: []string{"10.0.2.50"}}, files: []string{"unread.pcapng"},
			verdict: Inconclusive, reason: []string{"the 1 established S3 connection went to the interface endpoint, but 3 established connections that nothing shows to be S3 began with a ClientHello or HTTP request that the capture does not hold whole",
				"10.0.3.10:3128 (private-other, HTTP request cut", "10.0.5.20:443 (private-other, ClientHello cut", "10.0.5.21:8443 (private-other, payload not captured", "tcpdump -s 0"},
			conns: []wantConn{{server: "10.0.3.10:3128", s3: false}, {server: "10.0.5.20:443", s3: false}, {server: "10.0.5.21:8443", s3: false}},
			warn: []string{"10.0.1.25:43761 -> 10.0.3.10:3128 had the HTTP request cut before any server name", "10.0.1.25:43762 -> 10.0.5.20:443 had the ClientHello cut before any server name",
				"10.0.1.25:43763 -> 10.0.5.21:8443 had none of the payload captured before any server name, with nothing else to tell whether S3 went through it"}},
		{name: "a download from a proxy already under way keeps a pass from being one", setup: setup{endpointIPs: []string{"10.0.2.50"}}, files: []string{"midstream-download.pcap"},
			verdict: Inconclusive, reason: []string{"began before the capture", "10.0.1.25:43799 -> 10.0.3.10:3128 (private-other, start not captured"},
			conns: []wantConn{{server: "10.0.3.10:3128", s3: false}}},
		{name: "a keep-alive request to a proxy cut after its host leaves the next ones unread", setup: setup{endpointIPs: []string{"10.0.2.50"}}, files: []string{"proxy-cut-keepalive.pcapng"},
			verdict: Inconclusive, reason: []string{"10.0.1.25:43801 -> 10.0.3.10:3128 (private-other, HTTP request cut"},
			conns: []wantConn{{server: "10.0.3.10:3128", s3: false}}},
		{name: "cut first bytes do not undo a leak", setup: setup{endpointIPs: []string{"10.0.2.50"}}, files: []string{"unread.pcapng", "s3-public.pcap"},
			verdict: Fail, reason: []string{"1 of 2 established S3 connections went to a public address"}},
		{name: "a cut banner of another protocol, or a whole name, clears a connection", setup: setup{endpointIPs: []string{"10.0.2.50"}}, files: []string{"unread-clear.pcapng"},
			verdict: Pass, reason: []string{"the 1 established S3 connection went to the interface endpoint"},
			conns: []wantConn{{server: "10.0.5.22:22", s3: false}, {server: "10.0.5.23:5432", s3: false}, {server: "10.0.5.24:443", s3: false}, {server: "10.0.3.10:3128", s3: false}}},
		{name: "an upload through NAT64 (64:ff9b::/96) is judged by the IPv4 address it embeds", setup: setup{endpointIPs: []string{"10.0.2.50"}}, files: []string{"nat64-upload.pcap"},
			verdict: Fail, reason: []string{"1 of 2 established S3 connections went to a public address", "[64:ff9b::34db:400b]:443 (S3 by address only, public-aws, AMAZON+S3 ap-south-1 52.219.64.0/22"},
			conns: []wantConn{{server: "[64:ff9b::34db:400b]:443", s3: true, path: "public-aws", evidence: "aws-range"}}},
		{name: "a DNS64 answer for a bucket leads to public S3 through NAT64", files: []string{"nat64-named.pcap"},
			verdict: Fail, reason: []string{"[64:ff9b::34db:400a]:443 (SNI my-bucket.s3.ap-south-1.amazonaws.com, public-aws"},
			conns: []wantConn{{server: "[64:ff9b::34db:400a]:443", s3: true, path: "public-aws", evidence: "aws-range"}}},
		{name: "a connection to a private address already under way when the capture began keeps a pass from being one", setup: setup{endpointIPs: []string{"10.0.2.50"}}, files: []string{"midstream-private.pcap"},
			verdict: Inconclusive, reason: []string{"the 1 established S3 connection went to the interface endpoint, but 2 established connections to a web or proxy port of a private address that nothing shows to be S3 began before the capture",
				"10.0.3.10:3128 (private-other, start not captured", "10.0.2.51:443 (private-other, start not captured", "start the capture before the connections"},
			conns: []wantConn{{server: "10.0.3.10:3128", s3: false}, {server: "10.0.2.51:443", s3: false}, {server: "10.0.5.22:22", s3: false}},
			warn:  []string{"2 connections began before the capture, with nothing else to tell whether S3 went through it (a proxy, an endpoint not listed): the verdict cannot pass"}},
		{name: "a new SYN on a 4-tuple whose connection did not end in the capture is a new connection", setup: setup{endpointIPs: []string{"10.0.2.50"}}, files: []string{"port-reuse.pcap"},
			verdict: Fail, reason: []string{"1 of 2 established S3 connections went to a public address", "10.0.1.25:43800 -> 3.5.208.10:443 (SNI my-bucket.s3.ap-south-1.amazonaws.com, public-aws"}},
		{name: "a ClientHello sent again with another name does not clear an S3 address", setup: setup{endpointIPs: []string{"10.0.2.50"}}, files: []string{"resent-hello.pcap"},
			verdict: Fail, reason: []string{"1 of 2 established S3 connections went to a public address", "10.0.1.25:43810 -> 3.5.208.10:443 (S3 by address only, public-aws"},
			conns: []wantConn{{server: "3.5.208.10:443", s3: true, path: "public-aws", evidence: "aws-range"}}},
		{name: "a CONNECT sent again with another target keeps a pass from being one", setup: setup{endpointIPs: []string{"10.0.2.50"}}, files: []string{"resent-connect.pcap"},
			verdict: Inconclusive, reason: []string{"but 1 established connection that nothing shows to be S3 sent its first bytes twice, with different contents", "10.0.1.25:43811 -> 10.0.3.10:3128 (private-other, first bytes sent twice, differently"},
			conns: []wantConn{{server: "10.0.3.10:3128", s3: false}},
			warn:  []string{"10.0.1.25:43811 -> 10.0.3.10:3128 sent its first bytes twice, with different contents"}},
		{name: "S3 inside a GRE tunnel is judged by the inner addresses", setup: setup{endpointIPs: []string{"10.0.2.50"}}, files: []string{"gre-tunnel.pcap"},
			verdict: Fail, reason: []string{"1 of 2 established S3 connections went to a public address", "10.0.1.25:43820 -> 52.219.64.10:443 (SNI my-bucket.s3.ap-south-1.amazonaws.com, public-aws"}},
		{name: "later requests on a keep-alive connection to a proxy are read", setup: setup{endpointIPs: []string{"10.0.2.50"}}, files: []string{"proxy-keepalive.pcap"},
			verdict: Inconclusive, reason: []string{"1 of 2 established S3 connections went through an HTTP proxy", "10.0.1.25:43830 -> 10.0.3.10:3128 (proxy target my-bucket.s3.ap-south-1.amazonaws.com, proxy"},
			warn: []string{"10.0.1.25:43832 -> 10.0.3.10:3128 asked an HTTP proxy for more than the capture could read on one connection"}},
		{name: "a proxy asked for an S3 address, or for a tunnel whose ClientHello names S3, is a proxy", setup: setup{endpointIPs: []string{"10.0.2.50"}}, files: []string{"proxy-ip-target.pcap"},
			verdict: Inconclusive, reason: []string{"3 of 4 established S3 connections went through an HTTP proxy", "10.0.1.25:43840 -> 10.0.3.10:3128 (", "10.0.1.25:43841 -> 10.0.3.10:3128 (proxy target my-bucket.s3.ap-south-1.amazonaws.com, proxy", "10.0.1.25:43842 -> 10.0.3.10:3128 ("}},
		{name: "VXLAN on Linux's port 8472 is decapsulated", setup: setup{endpointIPs: []string{"10.0.2.50"}}, files: []string{"vxlan-8472.pcap"},
			verdict: Inconclusive, reason: []string{"1 of 2 established S3 connections went through an HTTP proxy", "10.244.1.7:43850 -> 10.244.2.9:3128"}},
		{name: "a client that acknowledged a SYN-ACK the capture missed was answered", setup: setup{endpointIPs: []string{"10.0.2.50"}}, files: []string{"one-way.pcap"},
			verdict: Fail, reason: []string{"1 of 2 established S3 connections went to a public address", "10.0.1.25:43860 -> 52.219.64.10:443 (SNI my-bucket.s3.ap-south-1.amazonaws.com, public-aws"}},
		{name: "S3 to another service's interface endpoint is not S3 to the endpoint", setup: setup{inventory: []string{"endpoint-interface.json", "endpoint-enis.json", "endpoints-other-services.json", "enis-sqs.json"}}, files: []string{"other-service-endpoint.pcap"},
			verdict: Inconclusive, reason: []string{"1 of 2 established S3 connections went to a private address the endpoint inventory does not list", "10.0.1.25:43870 -> 10.0.2.80:443 (SNI my-bucket.s3.ap-south-1.amazonaws.com, private-unknown"},
			conns: []wantConn{{server: "10.0.2.80:443", s3: true, path: "private-unknown"}}},
		{name: "a second ClientHello for another name does not clear an S3 address", setup: setup{endpointIPs: []string{"10.0.2.50"}}, files: []string{"hello-retry.pcap"},
			verdict: Fail, reason: []string{"1 of 2 established S3 connections went to a public address", "10.0.1.25:43880 -> 3.5.208.10:443 (SNI my-bucket.s3.ap-south-1.amazonaws.com, public-aws"}},
		{name: "S3 through a proxy on a public address left by a public path", setup: setup{endpointIPs: []string{"10.0.2.50"}}, files: []string{"proxy-public.pcap"},
			verdict: Fail, reason: []string{"1 of 2 established S3 connections went to a public address", "10.0.1.25:43890 -> 198.51.100.7:3128 (proxy target my-bucket.s3.ap-south-1.amazonaws.com, public-non-aws"},
			conns: []wantConn{{server: "198.51.100.7:3128", s3: true, path: "public-non-aws", evidence: "proxy-target"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := build(t, tc.setup, tc.files...)
			if r.Verdict != tc.verdict {
				t.Errorf("verdict %s, want %s; reason %q", r.Verdict, tc.verdict, r.Reason)
			}
			for _, s := range tc.reason {
				if !strings.Contains(r.Reason, s) {
					t.Errorf("reason %q does not say %q", r.Reason, s)
				}
			}
			for _, w := range tc.conns {
				found := false
				for _, f := range r.Flows {
					if f.Server != w.server {
						continue
					}
					found = true
					if f.S3 != w.s3 || (w.path != "" && f.Path != w.path) || (w.kind != "" && f.S3Kind != w.kind) ||
						(w.evidence != "" && !contains(f.S3Evidence, w.evidence)) {
						t.Errorf("%s: s3 %v path %s kind %q evidence %v; want %+v", w.server, f.S3, f.Path, f.S3Kind, f.S3Evidence, w)
					}
				}
				if !found {
					t.Errorf("no connection to %s", w.server)
				}
			}
			for _, s := range tc.warn {
				if !hasWarning(r, s) {
					t.Errorf("no warning says %q; warnings:\n%s", s, strings.Join(r.Warnings, "\n"))
				}
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
