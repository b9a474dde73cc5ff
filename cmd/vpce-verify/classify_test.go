package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

type classifiedJSON struct {
	Addr         string `json:"addr"`
	Path         string `json:"path"`
	PathEvidence string `json:"path_evidence"`
	EndpointID   string `json:"endpoint_id"`
	Route        string `json:"route"`
	AWS          *struct {
		Services           []string `json:"services"`
		Region             string   `json:"region"`
		Prefix             string   `json:"prefix"`
		NetworkBorderGroup string   `json:"network_border_group"`
	} `json:"aws"`
	Error string `json:"error"`
}

func decodeClassified(t *testing.T, res result) []classifiedJSON {
	t.Helper()
	var out []classifiedJSON
	if err := json.Unmarshal([]byte(res.stdout), &out); err != nil {
		t.Fatalf("output is not a JSON list: %v\n%s", err, res.stdout)
	}
	return out
}

// The AWS facts are those of shared/data/SOURCES.md for the embedded
// snapshot.
func TestClassify(t *testing.T) {
	inv := []string{"--endpoints", td(t, "aws", "endpoint-interface.json"), "--endpoints", td(t, "aws", "endpoint-enis.json"),
		"--endpoints", td(t, "aws", "gateway-routes.json"), "--endpoints", td(t, "aws", "s3-prefix-list.json")}
	tests := []struct {
		name     string
		args     []string
		addr     string
		path     string
		evidence string
		endpoint string
		aws      string // "services region prefix nbg"
	}{
		{"endpoint address given", []string{"--endpoint-ip", "10.0.2.50"}, "10.0.2.50", "interface-endpoint", "endpoint-ip", "", ""},
		{"endpoint ENI from the inventory", inv, "10.0.2.50", "interface-endpoint", "endpoint-eni", "vpce-0a1b2c3d4e5f67890", ""},
		{"endpoint IPv6 inside an AWS range", []string{"--endpoint-ip", "2406:da60:a000::10"}, "2406:da60:a000::10", "interface-endpoint", "endpoint-ip", "", "AMAZON,EC2,S3 ap-south-1 2406:da60:a000::/40 ap-south-1"},
		{"public S3", nil, "52.219.64.10", "public-aws", "ip-ranges", "", "AMAZON,S3 ap-south-1 52.219.64.0/22 ap-south-1"},
		{"public S3 with a port", nil, "52.219.64.10:443", "public-aws", "ip-ranges", "", "AMAZON,S3 ap-south-1 52.219.64.0/22 ap-south-1"},
		{"global S3 range", nil, "52.216.25.1", "public-aws", "ip-ranges", "", "AMAZON,S3 us-east-1 52.216.0.0/15 us-east-1"},
		{"gateway endpoint route", inv, "52.219.62.20", "gateway-endpoint", "route-table", "vpce-032a826a", "AMAZON,S3 ap-south-1 52.219.62.0/23 ap-south-1"},
		{"private", nil, "10.0.3.7", "private-other", "private-range", "", ""},
		{"VPC CIDR outside RFC 1918", []string{"--vpc-cidr", "100.96.0.0/16"}, "100.96.1.1", "private-other", "vpc-cidr", "", ""},
		{"not AWS", nil, "192.0.2.1", "public-non-aws", "none", "", ""},
		{"IPv6 with a port", nil, "[fd00::1]:443", "private-other", "private-range", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := runCmd(t, nil, append(append([]string{"classify", "--format", "json"}, tc.args...), tc.addr)...)
			out := decodeClassified(t, res)
			if res.code != exitPass || len(out) != 1 {
				t.Fatalf("exit %d, %d items; stderr %s", res.code, len(out), res.stderr)
			}
			c := out[0]
			aws := ""
			if c.AWS != nil {
				aws = strings.Join(c.AWS.Services, ",") + " " + c.AWS.Region + " " + c.AWS.Prefix + " " + c.AWS.NetworkBorderGroup
			}
			if c.Addr != tc.addr || c.Path != tc.path || c.PathEvidence != tc.evidence || c.EndpointID != tc.endpoint || aws != tc.aws || c.Error != "" {
				t.Errorf("got %+v (aws %q); want %s %s %s %q", c, aws, tc.path, tc.evidence, tc.endpoint, tc.aws)
			}
		})
	}
}

func TestClassifyStdinAndBadItems(t *testing.T) {
	stdin := "# from ss -tn\n10.0.2.50\n52.219.64.10:443 8.8.8.8  # two on a line\n\n10.0.2\n2406:da60:a000::10\n"
	res := runCmd(t, []byte(stdin), "classify", "--format", "json", "--endpoint-ip", "10.0.2.50")
	out := decodeClassified(t, res)
	var got []string
	for _, c := range out {
		got = append(got, c.Addr+" "+c.Path)
	}
	want := []string{"10.0.2.50 interface-endpoint", "52.219.64.10:443 public-aws", "8.8.8.8 public-non-aws", "10.0.2 ", "2406:da60:a000::10 public-aws"}
	if !slices.Equal(got, want) {
		t.Errorf("items %q, want %q", got, want)
	}
	if res.code != exitError || !strings.Contains(res.stderr, `classify: standard input line 5: "10.0.2": not an IP address`) || out[3].Error == "" {
		t.Errorf("exit %d, stderr %q, item %+v", res.code, res.stderr, out[3])
	}

	res = runCmd(t, nil, "classify", "10.0.2.50", "bogus", "52.219.64.10")
	lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
	if res.code != exitError || len(lines) != 4 || !strings.HasPrefix(lines[0], "ADDRESS") ||
		!strings.Contains(lines[2], "bogus") || !strings.Contains(lines[2], "error") ||
		!strings.Contains(lines[3], "public-aws") || !strings.Contains(lines[3], "AMAZON+S3 ap-south-1 52.219.64.0/22") {
		t.Errorf("exit %d, text:\n%s", res.code, res.stdout)
	}

	long := strings.Repeat("1", 5000) + "\n"
	res = runCmd(t, []byte("10.0.2.50\n"+long), "classify", "--format", "json")
	if out := decodeClassified(t, res); res.code != exitError || len(out) != 1 || !strings.Contains(res.stderr, "longer than 4096 bytes") {
		t.Errorf("long line: exit %d, %d items, stderr %q", res.code, len(out), res.stderr)
	}
	res = runCmd(t, nil, "classify", "--endpoints", td(t, "s3-endpoint.pcap"), "10.0.2.50")
	if res.code != exitError || !strings.Contains(res.stderr, "s3-endpoint.pcap") {
		t.Errorf("unknown inventory: exit %d, stderr %q", res.code, res.stderr)
	}
}
