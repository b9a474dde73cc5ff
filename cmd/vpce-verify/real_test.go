package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// The captures in testdata/real were made by real clients and servers (dig,
// dnsmasq, curl, openssl s_server, Go crypto/tls) on loopback and rewritten
// into scenario addresses; testdata/real/README.md lists the facts tshark
// reports for each. These tests hold our reading to those facts.

type realFlow struct {
	client, server, state, sni string
	packets, bytes             [2]uint64
}

type realDNS struct {
	qname, qtype, transport string
	answers                 int
	tc                      bool
}

func TestRealCaptures(t *testing.T) {
	ep := []string{"--endpoint-ip", "10.0.2.50", "--endpoint-ip", "fd00:10:0:2::50"}
	tests := []struct {
		file      string
		code      int
		linkTypes []string
		packets   int
		flows     []realFlow
		dns       []realDNS
		warn      []string
	}{
		{"endpoint-pass.pcap", 0, []string{"EN10MB"}, 20,
			[]realFlow{{"10.0.1.25:41002", "10.0.2.50:443", "SF", "s3.ap-south-1.amazonaws.com", [2]uint64{9, 9}, [2]uint64{754, 1751}}},
			[]realDNS{{"s3.ap-south-1.amazonaws.com", "A", "udp", 1, false}}, nil},
		{"public-fail.pcap", 1, []string{"LINUX_SLL2"}, 20,
			[]realFlow{{"10.0.1.25:42002", "52.219.64.10:443", "SF", "s3.ap-south-1.amazonaws.com", [2]uint64{9, 9}, [2]uint64{754, 1750}}},
			[]realDNS{{"s3.ap-south-1.amazonaws.com", "A", "udp", 1, false}}, nil},
		{"mixed.pcap", 1, []string{"EN10MB"}, 40,
			[]realFlow{
				{"10.0.1.25:43002", "10.0.2.50:443", "SF", "my-bucket.s3.ap-south-1.amazonaws.com", [2]uint64{9, 9}, [2]uint64{754, 1751}},
				{"10.0.1.25:43004", "52.219.64.10:443", "SF", "logs-bucket.s3.ap-south-1.amazonaws.com", [2]uint64{10, 8}, [2]uint64{753, 1752}},
			},
			[]realDNS{{"my-bucket.s3.ap-south-1.amazonaws.com", "A", "udp", 1, false}, {"logs-bucket.s3.ap-south-1.amazonaws.com", "A", "udp", 1, false}}, nil},
		{"cname-chain.pcap", 0, []string{"EN10MB"}, 20,
			[]realFlow{{"10.0.1.25:44002", "10.0.2.50:443", "SF", "my-bucket.s3.ap-south-1.amazonaws.com", [2]uint64{9, 9}, [2]uint64{754, 1751}}},
			[]realDNS{{"my-bucket.s3.ap-south-1.amazonaws.com", "A", "udp", 2, false}}, nil},
		{"refused-endpoint.pcap", 3, []string{"EN10MB"}, 8,
			[]realFlow{
				{"10.0.1.25:45002", "10.0.2.50:443", "REJ", "", [2]uint64{1, 1}, [2]uint64{0, 0}},
				{"10.0.1.25:45003", "10.0.2.50:443", "S0", "", [2]uint64{4, 0}, [2]uint64{0, 0}},
			},
			[]realDNS{{"s3.ap-south-1.amazonaws.com", "A", "udp", 1, false}},
			[]string{"refused (REJ)", "never answered (S0)"}},
		{"dns-tcp.pcap", 3, []string{"EN10MB"}, 14,
			[]realFlow{{"10.0.1.25:46001", "10.0.0.2:53", "SF", "", [2]uint64{7, 5}, [2]uint64{70, 1658}}},
			[]realDNS{{"s3.ap-south-1.amazonaws.com", "A", "udp", 74, true}, {"s3.ap-south-1.amazonaws.com", "A", "tcp", 100, false}}, nil},
		{"ipv6.pcap", 0, []string{"EN10MB"}, 22,
			[]realFlow{{"[fd00:10:0:1::25]:47003", "[fd00:10:0:2::50]:443", "SF", "s3.ap-south-1.amazonaws.com", [2]uint64{9, 9}, [2]uint64{754, 1751}}},
			[]realDNS{{"s3.ap-south-1.amazonaws.com", "A", "udp", 1, false}, {"s3.ap-south-1.amazonaws.com", "AAAA", "udp", 1, false}}, nil},
		{"ipv6-public.pcap", 1, []string{"EN10MB"}, 22,
			[]realFlow{{"[fd00:10:0:1::25]:48003", "[2406:da60:a000::10]:443", "SF", "s3.ap-south-1.amazonaws.com", [2]uint64{9, 9}, [2]uint64{754, 1750}}},
			[]realDNS{{"s3.ap-south-1.amazonaws.com", "A", "udp", 1, false}, {"s3.ap-south-1.amazonaws.com", "AAAA", "udp", 1, false}}, nil},
		{"pq-split.pcap", 0, []string{"EN10MB"}, 23,
			[]realFlow{{"10.0.1.25:49002", "10.0.2.50:443", "SF", "my-bucket.s3.ap-south-1.amazonaws.com", [2]uint64{11, 10}, [2]uint64{1775, 2383}}},
			[]realDNS{{"my-bucket.s3.ap-south-1.amazonaws.com", "A", "udp", 1, false}}, nil},
		{"global-name.pcap", 1, []string{"EN10MB"}, 22,
			[]realFlow{{"10.0.1.25:50002", "52.216.8.10:443", "SF", "s3.amazonaws.com", [2]uint64{9, 11}, [2]uint64{743, 1751}}},
			[]realDNS{{"s3.amazonaws.com", "A", "udp", 1, false}}, []string{"global S3 name"}},
		{"example.pcapng", 1, []string{"EN10MB"}, 60,
			[]realFlow{
				{"10.0.1.25:51002", "10.0.2.50:443", "SF", "bucket.vpce-0a1b2c3d4e5f67890-9hnenorg.s3.ap-south-1.vpce.amazonaws.com", [2]uint64{10, 8}, [2]uint64{798, 1763}},
				{"10.0.1.25:51004", "10.0.2.50:443", "SF", "my-bucket.s3.ap-south-1.amazonaws.com", [2]uint64{9, 9}, [2]uint64{754, 1765}},
				{"10.0.1.25:51006", "52.219.64.10:443", "SF", "s3.dualstack.ap-south-1.amazonaws.com", [2]uint64{9, 9}, [2]uint64{763, 1752}},
			},
			[]realDNS{
				{"bucket.vpce-0a1b2c3d4e5f67890-9hnenorg.s3.ap-south-1.vpce.amazonaws.com", "A", "udp", 1, false},
				{"my-bucket.s3.ap-south-1.amazonaws.com", "A", "udp", 1, false},
				{"s3.dualstack.ap-south-1.amazonaws.com", "A", "udp", 1, false},
			}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			res := runCmd(t, nil, append([]string{"analyze", "--format", "json", td(t, "real", tc.file)}, ep...)...)
			if res.code != tc.code {
				t.Errorf("exit code %d, want %d; stderr %s", res.code, tc.code, res.stderr)
			}
			var r struct {
				Inputs []struct {
					LinkTypes []string `json:"link_types"`
					Packets   int      `json:"packets"`
				} `json:"inputs"`
				Flows []struct {
					Client    string    `json:"client"`
					Server    string    `json:"server"`
					ConnState string    `json:"conn_state"`
					SNI       string    `json:"sni"`
					Packets   [2]uint64 `json:"packets"`
					Bytes     [2]uint64 `json:"bytes"`
				} `json:"flows"`
				DNS []struct {
					QName     string            `json:"qname"`
					QType     string            `json:"qtype"`
					Transport string            `json:"transport"`
					Truncated bool              `json:"truncated"`
					Answers   []json.RawMessage `json:"answers"`
				} `json:"dns"`
				Warnings []string `json:"warnings"`
			}
			if err := json.Unmarshal([]byte(res.stdout), &r); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(r.Inputs[0].LinkTypes, tc.linkTypes) || r.Inputs[0].Packets != tc.packets {
				t.Errorf("input: link types %v packets %d, want %v %d", r.Inputs[0].LinkTypes, r.Inputs[0].Packets, tc.linkTypes, tc.packets)
			}
			if len(r.Flows) != len(tc.flows) {
				t.Fatalf("%d flows, want %d", len(r.Flows), len(tc.flows))
			}
			for i, want := range tc.flows {
				f := r.Flows[i]
				got := realFlow{f.Client, f.Server, f.ConnState, f.SNI, f.Packets, f.Bytes}
				if got != want {
					t.Errorf("flow %d:\n got %+v\nwant %+v", i, got, want)
				}
			}
			if len(r.DNS) != len(tc.dns) {
				t.Fatalf("%d DNS transactions, want %d", len(r.DNS), len(tc.dns))
			}
			for i, want := range tc.dns {
				d := r.DNS[i]
				got := realDNS{d.QName, d.QType, d.Transport, len(d.Answers), d.Truncated}
				if got != want {
					t.Errorf("dns %d: got %+v, want %+v", i, got, want)
				}
			}
			for _, s := range tc.warn {
				if !strings.Contains(strings.Join(r.Warnings, "\n"), s) {
					t.Errorf("no warning says %q: %q", s, r.Warnings)
				}
			}
		})
	}
}
