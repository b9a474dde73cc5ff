package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vpce-verify/vpce-verify/report"
	"github.com/vpce-verify/vpce-verify/resolve"
	"github.com/vpce-verify/vpce-verify/resolve/ipranges"
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

// The AWS facts are those published with the shared snapshots for the embedded
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

	// A line too long to be addresses is an error for that line; the
	// lines after it are still read, CRLF or not, to the last one without
	// a line end.
	long := strings.Repeat("1", 5000)
	res = runCmd(t, []byte("10.0.2.50\r\n"+long+"\n52.219.64.10\r\n"+long+"\r\n8.8.8.8"), "classify", "--format", "json")
	out = decodeClassified(t, res)
	got = nil
	for _, c := range out {
		got = append(got, c.Addr+" "+c.Path+" "+c.Error)
	}
	want = []string{"10.0.2.50 private-other ", "11111111111111111111111111111111...  a line longer than 4096 bytes; skipped",
		"52.219.64.10 public-aws ", "11111111111111111111111111111111...  a line longer than 4096 bytes; skipped", "8.8.8.8 public-non-aws "}
	if res.code != exitError || !slices.Equal(got, want) ||
		!strings.Contains(res.stderr, "classify: standard input line 2: a line longer than 4096 bytes; skipped") ||
		!strings.Contains(res.stderr, "standard input line 4: a line longer") {
		t.Errorf("long lines: exit %d, items %q, stderr %q", res.code, got, res.stderr)
	}
	res = runCmd(t, nil, "classify", "--endpoints", td(t, "s3-endpoint.pcap"), "10.0.2.50")
	if res.code != exitError || !strings.Contains(res.stderr, "s3-endpoint.pcap") {
		t.Errorf("unknown inventory: exit %d, stderr %q", res.code, res.stderr)
	}
}

// addrSource produces n lines of addresses of every kind (S3, EC2, an
// endpoint, private, IPv6, with ports, outside AWS, and now and then one
// that is not an address) without holding them: the input of a memory test
// must not be what fills the memory.
type addrSource struct {
	n, i int
	buf  []byte
}

// sourceAddr is the i-th address of addrSource; bad reports whether it is
// one that cannot be read.
func sourceAddr(i int) (s string, bad bool) {
	switch i % 8 {
	case 0:
		return fmt.Sprintf("52.219.%d.%d", 64+i>>8&3, i&255), false
	case 1:
		return fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), false
	case 2:
		return fmt.Sprintf("2406:da60:a000::%x", i&0xffff), false
	case 3:
		return fmt.Sprintf("[fd00::%x]:443", i&0xffff), false
	case 4:
		return fmt.Sprintf("8.%d.%d.%d:443", i>>16&255, i>>8&255, i&255), false
	case 5:
		return "10.0.2.50", false
	case 6:
		return fmt.Sprintf("18.196.%d.%d", i>>8&255, i&255), false
	}
	if i%1000 == 7 {
		return fmt.Sprintf("no-address-%d", i), true
	}
	return fmt.Sprintf("3.5.%d.%d", 208+i>>8&3, i&255), false
}

func (s *addrSource) Read(p []byte) (int, error) {
	for len(s.buf) < len(p) && s.i < s.n {
		a, _ := sourceAddr(s.i)
		s.buf = append(append(s.buf, a...), '\n')
		s.i++
	}
	if len(s.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.buf)
	s.buf = s.buf[:copy(s.buf, s.buf[n:])]
	return n, nil
}

// peakHeap samples the live heap until stop is closed and returns the
// largest value seen.
func peakHeap(stop <-chan struct{}) <-chan uint64 {
	peak := make(chan uint64, 1)
	go func() {
		var high uint64
		var ms runtime.MemStats
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			high = max(high, ms.HeapAlloc)
			select {
			case <-stop:
				peak <- high
				return
			case <-tick.C:
			}
		}
	}()
	return peak
}

// shapeCheck reads an output as it is written, keeping only counts: the
// lines, the lines that start an item, the first and last bytes.
type shapeCheck struct {
	lines, items int
	itemStart    string // how a line that starts an item begins
	head, tail   []byte
	partial      []byte // the start of the line being written
}

func (c *shapeCheck) Write(p []byte) (int, error) {
	if len(c.head) < 64 {
		c.head = append(c.head, p[:min(len(p), 64-len(c.head))]...)
	}
	c.tail = append(c.tail, p...)
	c.tail = c.tail[max(0, len(c.tail)-64):]
	for rest := p; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			c.partial = append(c.partial, rest...)
			break
		}
		line := append(c.partial, rest[:i]...)
		if strings.HasPrefix(string(line), c.itemStart) {
			c.items++
		}
		c.lines++
		c.partial, rest = line[:0], rest[i+1:]
	}
	return len(p), nil
}

// A million addresses on standard input go through in bounded memory, in
// both formats: the command used to hold every result until the end (1.6
// GB for this input). That the streamed JSON is one valid list, item for
// item, is TestClassifyStreamMatchesReport's business; here the counts
// and the ends of the output say every address came out.
func TestClassifyStreamsAMillionAddresses(t *testing.T) {
	const n = 1_000_000
	for _, tt := range []struct {
		format, itemStart, head, tail string
		lines                         int
	}{
		{"json", "  {", "[\n  {\n    \"addr\": \"52.219.64.0\",\n", "\n  }\n]\n", 0},
		{"text", "", "ADDRESS ", "\n", n + 1},
	} {
		t.Run(tt.format, func(t *testing.T) {
			runtime.GC()
			stop := make(chan struct{})
			peak := peakHeap(stop)
			out := &shapeCheck{itemStart: tt.itemStart}
			var stderr bytes.Buffer
			code := testRun(context.Background(), []string{"classify", "--format", tt.format, "--endpoint-ip", "10.0.2.50"}, &addrSource{n: n}, out, &stderr)
			close(stop)
			if tt.itemStart == "" {
				out.items = out.lines - 1 // every line but the header
			}
			if out.items != n || tt.lines != 0 && out.lines != tt.lines || !strings.HasPrefix(string(out.head), tt.head) ||
				!strings.HasSuffix(string(out.tail), tt.tail) || len(out.partial) != 0 {
				t.Errorf("%d items in %d lines, starting %q, ending %q; want %d", out.items, out.lines, out.head, out.tail, n)
			}
			if bad := strings.Count(stderr.String(), "not an IP address"); code != exitError || bad != n/1000 {
				t.Errorf("exit %d, %d bad items reported; want 2 and %d", code, bad, n/1000)
			}
			// The embedded ip-ranges.json and the classifier take about
			// 20 MB; holding the results took over 1 GB.
			if p := <-peak; p > 150<<20 {
				t.Errorf("peak heap %d MB for %d addresses; want well under 150 MB", p>>20, n)
			} else {
				t.Logf("peak heap %d MB", p>>20)
			}
		})
	}
}

// What classify streams is, byte for byte, what the report package renders
// for the whole list: JSON that decodes to an item per address, in order,
// and text whose header comes once however many blocks the lines are
// aligned in.
func TestClassifyStreamMatchesReport(t *testing.T) {
	const n = 3*textBlock + 17
	var stdin strings.Builder
	var want report.Classification
	c := resolve.NewClassifier(ipranges.Embedded(), nil, []netip.Addr{netip.MustParseAddr("10.0.2.50")}, nil)
	for i := range n {
		a, _ := sourceAddr(i)
		stdin.WriteString(a + "\n")
		want = append(want, report.ClassifyAddr(c, a))
	}
	t.Run("json", func(t *testing.T) {
		res := runCmd(t, []byte(stdin.String()), "classify", "--format", "json", "--endpoint-ip", "10.0.2.50")
		var whole bytes.Buffer
		if err := want.WriteJSON(&whole); err != nil {
			t.Fatal(err)
		}
		if res.stdout != whole.String() {
			t.Errorf("streamed JSON differs from WriteJSON's (%d and %d bytes)", len(res.stdout), whole.Len())
		}
		if out := decodeClassified(t, res); len(out) != n || out[n-1].Addr != want[n-1].Addr {
			t.Errorf("%d items; want %d", len(out), n)
		}
		for _, args := range [][]string{{"classify", "--format", "json"}, {"classify", "--format", "json", "-"}} {
			if res := runCmd(t, []byte("# nothing\n"), args...); res.stdout != "[]\n" || res.code != exitPass {
				t.Errorf("%q with no address: exit %d, output %q; want an empty list", args, res.code, res.stdout)
			}
		}
	})
	t.Run("text", func(t *testing.T) {
		res := runCmd(t, []byte(stdin.String()), "classify", "--endpoint-ip", "10.0.2.50")
		lines := strings.Split(strings.TrimSuffix(res.stdout, "\n"), "\n")
		if len(lines) != n+1 || strings.Count(res.stdout, "ADDRESS") != 1 || !strings.HasPrefix(lines[0], "ADDRESS ") {
			t.Fatalf("%d lines, %d headers; want %d and 1", len(lines), strings.Count(res.stdout, "ADDRESS"), n+1)
		}
		for i, l := range lines[1:] {
			f := strings.Fields(l)
			path := want[i].Path
			if want[i].Error != "" {
				path = "error"
			}
			if len(f) < 3 || f[0] != want[i].Addr || f[1] != path {
				t.Fatalf("line %d %q; want %s %s", i+1, l, want[i].Addr, path)
			}
		}
		if res := runCmd(t, nil, "classify"); res.stdout != "ADDRESS  PATH  WHY  DETAIL\n" {
			t.Errorf("no address: %q; want the header alone", res.stdout)
		}
	})
}

// An --endpoints inventory is the truth, so one that proves nothing stops
// every command at load time, naming the file and what to run instead.
func TestEndpointsInventoryIsTheTruth(t *testing.T) {
	aws := func(name string) string { return td(t, "aws", name) }
	tests := []struct {
		name  string
		args  []string
		addrs map[string]string // addr -> "path endpoint", when the inventory is accepted
		err   string            // the error line, when it is not
	}{
		{"an S3 interface endpoint and its interface", []string{"--endpoints", aws("endpoint-interface.json"), "--endpoints", aws("endpoint-enis.json")},
			map[string]string{"10.0.2.50": "interface-endpoint vpce-0a1b2c3d4e5f67890"}, ""},
		{"route tables and the prefix list: a gateway endpoint for --require private", []string{"--endpoints", aws("gateway-routes.json"), "--endpoints", aws("s3-prefix-list.json")},
			map[string]string{"52.219.62.20": "gateway-endpoint vpce-032a826a"}, ""},
		{"the S3 gateway endpoint and its route table", []string{"--endpoints", aws("endpoint-gateway.json"), "--endpoints", aws("gateway-routes.json")},
			map[string]string{"52.219.62.20": "gateway-endpoint vpce-032a826a"}, ""},
		{"the endpoint without its interfaces, but --endpoint-ip", []string{"--endpoints", aws("endpoint-interface.json"), "--endpoint-ip", "10.0.2.50"},
			map[string]string{"10.0.2.50": "interface-endpoint "}, ""},
		{"S3 Express One Zone and Multi-Region Access Point endpoints", []string{"--endpoints", aws("endpoint-s3express.json"), "--endpoints", aws("endpoint-mrap.json"), "--endpoints", aws("enis-s3express-mrap.json")},
			map[string]string{"10.0.2.60": "interface-endpoint vpce-0e1f2a3b4c5d6e7f8", "10.0.2.70": "interface-endpoint vpce-0f2a3b4c5d6e7f8a9"}, ""},

		{"describe-vpc-endpoints of another region", []string{"--endpoints", aws("endpoints-empty.json"), "--endpoints", aws("endpoint-enis.json")}, nil,
			"--endpoints " + aws("endpoints-empty.json") + ": describe-vpc-endpoints lists no endpoint at all (wrong region or profile?)"},
		{"describe-vpc-endpoints of other services", []string{"--endpoints", aws("endpoints-other-services.json")}, nil,
			"--endpoints " + aws("endpoints-other-services.json") + ": describe-vpc-endpoints lists no S3 endpoint, only 2 of other services (com.amazonaws.ap-south-1.sqs, com.amazonaws.ap-south-1.dynamodb) (wrong region or profile?)"},
		{"describe-network-interfaces of another region", []string{"--endpoints", aws("endpoint-interface.json"), "--endpoints", aws("enis-empty.json")}, nil,
			"--endpoints " + aws("enis-empty.json") + ": describe-network-interfaces lists no network interface at all (wrong region or profile?)"},
		{"an instance's interface instead of the endpoint's", []string{"--endpoints", aws("endpoint-interface.json"), "--endpoints", aws("enis-instance.json")}, nil,
			"--endpoints " + aws("enis-instance.json") + ": describe-network-interfaces lists 1 network interface, none of a VPC endpoint (wrong region or profile?)"},
		{"the endpoint without its interfaces", []string{"--endpoints", aws("endpoint-interface.json")}, nil,
			"--endpoints " + aws("endpoint-interface.json") + ": the addresses of S3 interface endpoint vpce-0a1b2c3d4e5f67890 are unknown; add the output of aws ec2 describe-network-interfaces --network-interface-ids eni-0aaa1111bbbb2222c (or give --endpoint-ip)"},
		{"a Multi-Region Access Point endpoint without its interfaces", []string{"--endpoints", aws("endpoint-mrap.json")}, nil,
			"are unknown; add the output of aws ec2 describe-network-interfaces --network-interface-ids eni-0f2a3b4c5d6e7f8a9 (or give --endpoint-ip)"},
		{"route tables without a gateway route", []string{"--endpoints", aws("route-tables-nat-only.json"), "--endpoint-ip", "10.0.2.50"}, nil,
			"--endpoints " + aws("route-tables-nat-only.json") + ": no S3 interface endpoint address and no route to a gateway endpoint (wrong region or profile?)"},
		{"the S3 gateway endpoint without its route table", []string{"--endpoints", aws("endpoint-gateway.json")}, nil,
			"no route to a gateway endpoint (wrong region or profile?); the S3 gateway endpoint's routes are in the output of aws ec2 describe-route-tables --route-table-ids rtb-3d560345"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"classify", "--format", "json"}, tt.args...)
			for a := range tt.addrs {
				args = append(args, a)
			}
			res := runCmd(t, nil, args...)
			if tt.err != "" {
				if res.code != exitError || res.stdout != "" || !strings.Contains(res.stderr, "vpce-verify: error: ") ||
					!strings.Contains(res.stderr, tt.err) || strings.Count(res.stderr, "\n") != 1 {
					t.Fatalf("exit %d, stdout %q, stderr %q\nwant one error line saying %q", res.code, res.stdout, res.stderr, tt.err)
				}
				// analyze loads the same way, before reading any capture.
				if res := runCmd(t, nil, append(append([]string{"analyze"}, tt.args...), td(t, "s3-endpoint.pcap"))...); res.code != exitError || !strings.Contains(res.stderr, tt.err) {
					t.Errorf("analyze: exit %d, stderr %q", res.code, res.stderr)
				}
				return
			}
			out := decodeClassified(t, res)
			if res.code != exitPass || len(out) != len(tt.addrs) {
				t.Fatalf("exit %d, %d items; stderr %s", res.code, len(out), res.stderr)
			}
			for _, c := range out {
				if got := c.Path + " " + c.EndpointID; got != tt.addrs[c.Addr] {
					t.Errorf("%s: %s, want %s", c.Addr, got, tt.addrs[c.Addr])
				}
			}
		})
	}
}

// A flow to an S3 Express One Zone or Multi-Region Access Point interface
// endpoint has the endpoint itself for S3 evidence, as one to the
// regional S3 endpoint has.
func TestAnalyzeEndpointServicesAreS3(t *testing.T) {
	base, err := os.ReadFile(td(t, "aws", "endpoint-interface.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, service := range []string{"com.amazonaws.ap-south-1.s3", "com.amazonaws.ap-south-1.s3express", "com.amazonaws.s3-global.accesspoint"} {
		t.Run(service, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "endpoints.json")
			doc := strings.Replace(string(base), `"com.amazonaws.ap-south-1.s3"`, strconv.Quote(service), 1)
			if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
			res := runCmd(t, nil, "analyze", "--format", "json", "--endpoints", file, "--endpoints", td(t, "aws", "endpoint-enis.json"), td(t, "s3-endpoint.pcap"))
			r := decodeReport(t, res.stdout)
			found := false
			for _, f := range r.Flows {
				if f.Server == "10.0.2.50:443" {
					found = true
					if !slices.Contains(f.S3Evidence, "endpoint-address") || f.Path != "interface-endpoint" {
						t.Errorf("flow to the endpoint: evidence %q, path %s; want endpoint-address among the evidence", f.S3Evidence, f.Path)
					}
				}
			}
			if !found || res.code != exitPass {
				t.Fatalf("exit %d, flows %+v; stderr %s", res.code, r.Flows, res.stderr)
			}
		})
	}
}
