package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vpce-verify/vpce-verify/internal/testenv"
)

// testClock stamps the reports of the in-process tests with a fixed time,
// so that the snapshot age is stable.
func testClock() time.Time { return time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC) }

// testRun is run with the tests' clock and host files.
func testRun(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, now: testClock, sys: testFiles}
	return e.run(args)
}

// result is one run of the command.
type result struct {
	code           int
	stdout, stderr string
}

func runCmd(t *testing.T, stdin []byte, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := testRun(context.Background(), args, bytes.NewReader(stdin), &out, &errb)
	return result{code, out.String(), errb.String()}
}

// td returns the path of a file in the repository's testdata.
func td(t *testing.T, elem ...string) string {
	return filepath.Join(append([]string{testenv.RepoRoot(t), "testdata"}, elem...)...)
}

// report is the part of the JSON report the tests look at, decoded
// independently of the report package's types.
type jsonReport struct {
	Schema         string `json:"schema"`
	Verdict        string `json:"verdict"`
	PartialVerdict string `json:"partial_verdict"`
	Reason         string `json:"reason"`
	Inputs         []struct {
		Name     string  `json:"name"`
		Packets  int     `json:"packets"`
		Complete bool    `json:"complete"`
		Error    *string `json:"error"`
		Format   string  `json:"format"`
	} `json:"inputs"`
	Flows []struct {
		Server       string   `json:"server"`
		ConnState    string   `json:"conn_state"`
		S3           bool     `json:"s3"`
		S3Evidence   []string `json:"s3_evidence"`
		Path         string   `json:"path"`
		PathEvidence string   `json:"path_evidence"`
		SNI          string   `json:"sni"`
	} `json:"flows"`
	Warnings []string `json:"warnings"`
}

func decodeReport(t *testing.T, s string) jsonReport {
	t.Helper()
	var r jsonReport
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, s)
	}
	return r
}

func TestAnalyzeVerdicts(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		code    int
		verdict string
		paths   map[string]string // server -> path
		reason  []string          // substrings of the reason
		warn    []string          // substrings some warning must hold
	}{
		{"endpoint given", []string{"--endpoint-ip", "10.0.2.50", td(t, "s3-endpoint.pcap")}, 0, "pass",
			map[string]string{"10.0.2.50:443": "interface-endpoint"}, []string{"all 1 established S3 connections"}, nil},
		{"endpoint inferred from DNS", []string{td(t, "s3-endpoint.pcap")}, 0, "pass",
			map[string]string{"10.0.2.50:443": "interface-endpoint"}, []string{"only from DNS or endpoint names"}, []string{"10.0.2.50 is taken for an interface endpoint only because a DNS answer for s3.ap-south-1.amazonaws.com"}},
		{"endpoint from the AWS CLI inventory", []string{"--endpoints", td(t, "aws", "endpoint-interface.json"), "--endpoints", td(t, "aws", "endpoint-enis.json"), td(t, "s3-endpoint.pcap")}, 0, "pass",
			map[string]string{"10.0.2.50:443": "interface-endpoint"}, nil, nil},
		{"leak to public S3", []string{"--endpoint-ip", "10.0.2.50", td(t, "s3-public.pcap")}, 1, "fail",
			map[string]string{"52.219.64.10:443": "public-aws"}, []string{"1 of 1 established S3 connections went to a public address", "52.219.64.10:443", "ap-south-1", "52.219.64.0/22"}, nil},
		{"one leak among two", []string{"--endpoint-ip", "10.0.2.50", td(t, "s3-mixed.pcapng")}, 1, "fail",
			map[string]string{"10.0.2.50:443": "interface-endpoint", "52.219.64.10:443": "public-aws"}, []string{"1 of 2"}, nil},
		{"blocked endpoint", []string{"--endpoint-ip", "10.0.2.50", "--endpoint-ip", "10.0.3.50", td(t, "s3-blocked.pcap")}, 3, "inconclusive",
			nil, []string{"no established S3 connection"}, []string{"refused (REJ)", "never answered (S0)"}},
		{"legacy global name", []string{td(t, "global-name.pcap")}, 1, "fail",
			map[string]string{"52.216.25.1:443": "public-aws"}, nil, []string{"global S3 name"}},
		{"SNI lost to the snap length", []string{"--endpoint-ip", "10.0.2.50", td(t, "snaplen-public.pcap")}, 1, "fail",
			map[string]string{"52.219.64.10:443": "public-aws"}, nil, []string{"cut by the snap length"}},
		{"gateway route, default policy", []string{"--endpoints", td(t, "aws", "gateway-routes.json"), "--endpoints", td(t, "aws", "s3-prefix-list.json"), td(t, "gateway-route.pcap")}, 1, "fail",
			map[string]string{"52.219.62.20:443": "gateway-endpoint"}, nil, nil},
		{"gateway route, --require private", []string{"--require", "private", "--endpoints", td(t, "aws", "gateway-routes.json"), "--endpoints", td(t, "aws", "s3-prefix-list.json"), td(t, "gateway-route.pcap")}, 0, "pass",
			map[string]string{"52.219.62.20:443": "gateway-endpoint"}, []string{"gateway endpoint"}, nil},
		{"public S3 is never a gateway endpoint without routes", []string{"--require", "private", td(t, "gateway-route.pcap")}, 1, "fail",
			map[string]string{"52.219.62.20:443": "public-aws"}, nil, nil},
		{"IPv6 endpoint", []string{"--endpoint-ip", "fd00:10:0:2::50", td(t, "ipv6-endpoint.pcap")}, 0, "pass",
			map[string]string{"[fd00:10:0:2::50]:443": "interface-endpoint"}, nil, nil},
		{"IPv6 public S3", []string{td(t, "ipv6-public.pcap")}, 1, "fail",
			map[string]string{"[2406:da60:a000::10]:443": "public-aws"}, nil, nil},
		{"ClientHello split and reordered", []string{"--endpoint-ip", "10.0.2.50", td(t, "split-hello.pcap")}, 0, "pass",
			map[string]string{"10.0.2.50:443": "interface-endpoint"}, nil, nil},
		{"DNS over TCP", []string{td(t, "dns-tcp.pcap")}, 0, "pass",
			map[string]string{"10.0.2.50:443": "interface-endpoint"}, nil, nil},
		{"two files are one capture", []string{"--endpoint-ip", "10.0.2.50", td(t, "s3-endpoint.pcap"), td(t, "s3-public.pcap")}, 1, "fail",
			map[string]string{"10.0.2.50:443": "interface-endpoint", "52.219.64.10:443": "public-aws"}, nil, nil},
	}
	for _, link := range []string{"link-sll.pcap", "link-sll2.pcap", "link-raw.pcap", "link-ipv4.pcap", "link-null.pcap", "link-loop.pcap", "link-vlan.pcap", "link-qinq.pcap", "vxlan-mirror.pcap", "geneve-gwlb.pcap"} {
		tests = append(tests, struct {
			name    string
			args    []string
			code    int
			verdict string
			paths   map[string]string
			reason  []string
			warn    []string
		}{link, []string{"--endpoint-ip", "10.0.2.50", td(t, link)}, 0, "pass", map[string]string{"10.0.2.50:443": "interface-endpoint"}, nil, nil})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := runCmd(t, nil, append([]string{"analyze", "--format", "json"}, tc.args...)...)
			if res.code != tc.code {
				t.Errorf("exit code %d, want %d\nstderr: %s", res.code, tc.code, res.stderr)
			}
			r := decodeReport(t, res.stdout)
			if r.Verdict != tc.verdict {
				t.Errorf("verdict %s, want %s (%s)", r.Verdict, tc.verdict, r.Reason)
			}
			for server, path := range tc.paths {
				found := false
				for _, f := range r.Flows {
					if f.Server == server {
						found = true
						if f.Path != path || !f.S3 {
							t.Errorf("flow to %s: path %s s3 %v, want %s and S3", server, f.Path, f.S3, path)
						}
					}
				}
				if !found {
					t.Errorf("no flow to %s", server)
				}
			}
			for _, s := range tc.reason {
				if !strings.Contains(r.Reason, s) {
					t.Errorf("reason %q does not say %q", r.Reason, s)
				}
			}
			for _, s := range tc.warn {
				if !strings.Contains(strings.Join(r.Warnings, "\n"), s) {
					t.Errorf("no warning says %q; warnings:\n%s", s, strings.Join(r.Warnings, "\n"))
				}
			}
		})
	}
}

func TestAnalyzeDamagedInput(t *testing.T) {
	corrupt := testenv.Shared(t, "corpus", "tls_DER-incomplete-header.pcap")
	res := runCmd(t, nil, "analyze", "--format", "json", corrupt)
	if res.code != exitError {
		t.Errorf("exit code %d, want %d", res.code, exitError)
	}
	// One line naming the file, the record and the byte offset.
	lines := strings.Split(strings.TrimSpace(res.stderr), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "vpce-verify: error: "+corrupt+": record 7 at byte 5035: ") {
		t.Errorf("stderr = %q, want one error line naming record 7 at byte 5035", res.stderr)
	}
	r := decodeReport(t, res.stdout)
	if r.Verdict != "error" || r.PartialVerdict != "inconclusive" || len(r.Inputs) != 1 ||
		r.Inputs[0].Complete || r.Inputs[0].Packets != 6 || r.Inputs[0].Error == nil {
		t.Errorf("report = %+v, want verdict error, the 6 packets read, input incomplete", r)
	}
	if len(r.Flows) != 1 || r.Flows[0].ConnState == "" {
		t.Errorf("the connection in the 6 packets read must still be reported: %+v", r.Flows)
	}
}

// A file that cannot be opened or read is an error for that input only:
// the other files are analysed and reported, and the unreadable one has no
// SHA-256 (a digest of nothing is no evidence's hash). A leak the readable
// file proves is still a fail: no damage elsewhere undoes it; without a
// leak the incomplete evidence is an error, and partial_verdict says what
// the rest showed.
func TestAnalyzeUnreadableInput(t *testing.T) {
	tests := []struct {
		name, good, bad, stderr string
		code                    int
		verdict, partial        string
	}{
		{"missing file beside a leak", "s3-public.pcap", filepath.Join(t.TempDir(), "missing.pcap"), "no such file or directory", exitFail, "fail", ""},
		{"directory beside a leak", "s3-public.pcap", t.TempDir(), "is a directory", exitFail, "fail", ""},
		{"missing file beside a pass", "s3-endpoint.pcap", filepath.Join(t.TempDir(), "missing.pcap"), "no such file or directory", exitError, "error", "pass"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			good := td(t, tc.good)
			res := runCmd(t, nil, "analyze", "--format", "json", good, tc.bad)
			if res.code != tc.code || strings.Count(res.stderr, "\n") != 1 || !strings.Contains(res.stderr, tc.stderr) {
				t.Errorf("exit %d stderr %q; want %d and one line saying %q", res.code, res.stderr, tc.code, tc.stderr)
			}
			var r struct {
				Verdict        string `json:"verdict"`
				PartialVerdict string `json:"partial_verdict"`
				Reason         string `json:"reason"`
				Inputs         []struct {
					Name     string `json:"name"`
					SHA256   string `json:"sha256"`
					Packets  int    `json:"packets"`
					Complete bool   `json:"complete"`
				} `json:"inputs"`
			}
			if err := json.Unmarshal([]byte(res.stdout), &r); err != nil {
				t.Fatalf("no report: %v; stdout %q", err, res.stdout)
			}
			if r.Verdict != tc.verdict || r.PartialVerdict != tc.partial || len(r.Inputs) != 2 {
				t.Fatalf("verdict %s partial %q, %d inputs; want %s, %q, 2", r.Verdict, r.PartialVerdict, len(r.Inputs), tc.verdict, tc.partial)
			}
			if !strings.Contains(r.Reason, "is incomplete") {
				t.Errorf("reason %q does not name the unreadable input", r.Reason)
			}
			if in := r.Inputs[0]; !in.Complete || len(in.SHA256) != 64 || in.Packets == 0 {
				t.Errorf("good input %+v", in)
			}
			if in := r.Inputs[1]; in.Name != tc.bad || in.Complete || in.SHA256 != "" || in.Packets != 0 {
				t.Errorf("unreadable input %+v: want incomplete, no sha256", in)
			}
		})
	}
}

func TestAnalyzeStdinGzip(t *testing.T) {
	raw, err := os.ReadFile(td(t, "s3-public.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	res := runCmd(t, gz.Bytes(), "analyze", "--format", "json", "-")
	r := decodeReport(t, res.stdout)
	if res.code != exitFail || r.Verdict != "fail" || r.Inputs[0].Name != "-" || r.Inputs[0].Format != "pcap" {
		t.Errorf("exit %d verdict %s inputs %+v; stderr %s", res.code, r.Verdict, r.Inputs, res.stderr)
	}
}

func TestAnalyzeErrors(t *testing.T) {
	dir := t.TempDir()
	html := filepath.Join(dir, "page.pcap")
	os.WriteFile(html, []byte("<html><body>not a capture</body></html>\n"), 0o644)
	// A pcap whose link type (105, 802.11) the decoder does not know.
	wifi := filepath.Join(dir, "wifi.pcap")
	hdr := []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 105, 0, 0, 0}
	rec := []byte{1, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 1, 2, 3, 4}
	os.WriteFile(wifi, append(hdr, rec...), 0o644)
	// A sparse file far larger than any AWS JSON: read whole, it would
	// cost its size in memory before failing to parse.
	huge := filepath.Join(dir, "huge.json")
	os.WriteFile(huge, nil, 0o644)
	if err := os.Truncate(huge, 100<<20); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"no file", []string{"analyze"}, "vpce-verify: error: analyze: no capture file given"},
		{"missing file", []string{"analyze", filepath.Join(dir, "nope.pcap")}, "no such file"},
		{"not a capture", []string{"analyze", html}, "not a pcap or pcapng file"},
		{"unsupported link type", []string{"analyze", wifi}, "link type"},
		{"bad endpoint address", []string{"analyze", "--endpoint-ip", "10.0.2", td(t, "s3-endpoint.pcap")}, `--endpoint-ip "10.0.2": not an IP address`},
		{"endpoint address with a zone", []string{"analyze", "--endpoint-ip", "fd00:10:0:2::50%eth0", td(t, "ipv6-endpoint.pcap")}, `--endpoint-ip "fd00:10:0:2::50%eth0": an endpoint address has no zone; give fd00:10:0:2::50`},
		{"bad CIDR", []string{"analyze", "--vpc-cidr", "10.0.0.0", td(t, "s3-endpoint.pcap")}, `--vpc-cidr "10.0.0.0"`},
		{"bad format", []string{"analyze", "--format", "xml", td(t, "s3-endpoint.pcap")}, `--format "xml"`},
		// Known before reading the capture, not after.
		{"report into a missing directory", []string{"analyze", "-o", filepath.Join(dir, "missing", "r.json"), td(t, "s3-endpoint.pcap")}, "-o " + filepath.Join(dir, "missing", "r.json") + ": stat "},
		{"report onto a directory", []string{"analyze", "-o", dir, td(t, "s3-endpoint.pcap")}, "-o " + dir + ": is a directory"},
		{"bad policy", []string{"analyze", "--require", "gateway", td(t, "s3-endpoint.pcap")}, `--require "gateway"`},
		{"unknown flag", []string{"analyze", "--bogus", td(t, "s3-endpoint.pcap")}, "unknown flag: --bogus"},
		{"unknown inventory shape", []string{"analyze", "--endpoints", td(t, "s3-endpoint.pcap"), td(t, "s3-endpoint.pcap")}, "s3-endpoint.pcap"},
		{"huge inventory", []string{"analyze", "--endpoints", huge, td(t, "s3-endpoint.pcap")}, "--endpoints: " + huge + ": more than 67108864 bytes"},
		{"huge ip-ranges", []string{"analyze", "--ip-ranges", huge, td(t, "s3-endpoint.pcap")}, "--ip-ranges: " + huge + ": more than 67108864 bytes"},
		// Without a bound, reading a device that never ends runs the
		// process out of memory (a Go stack trace, not an error).
		{"endless inventory", []string{"analyze", "--endpoints", "/dev/zero", td(t, "s3-endpoint.pcap")}, "--endpoints: /dev/zero: more than 67108864 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := runCmd(t, nil, tc.args...)
			if res.code != exitError {
				t.Errorf("exit code %d, want %d", res.code, exitError)
			}
			if !strings.Contains(res.stderr, tc.stderr) {
				t.Errorf("stderr %q does not say %q", res.stderr, tc.stderr)
			}
			if strings.Contains(res.stderr, "goroutine") || strings.Contains(res.stderr, "panic") {
				t.Errorf("stack trace on stderr: %s", res.stderr)
			}
		})
	}
}

func TestUsage(t *testing.T) {
	if res := runCmd(t, nil); res.code != exitError || !strings.Contains(res.stderr, "Usage:") {
		t.Errorf("no arguments: exit %d, stderr %q", res.code, res.stderr)
	}
	if res := runCmd(t, nil, "--help"); res.code != exitPass || !strings.Contains(res.stdout, "analyze") {
		t.Errorf("--help: exit %d, stdout %q", res.code, res.stdout)
	}
	if res := runCmd(t, nil, "analyze", "--help"); res.code != exitPass || !strings.Contains(res.stdout, "--endpoint-ip") {
		t.Errorf("analyze --help: exit %d, stdout %q", res.code, res.stdout)
	}
	// A bad flag is one error line and a hint, not the help.
	if res := runCmd(t, nil, "analyze", "--bogus", "x.pcap"); res.code != exitError ||
		res.stderr != "vpce-verify: error: analyze: unknown flag: --bogus\nvpce-verify: hint: vpce-verify analyze --help lists the flags\n" {
		t.Errorf("unknown flag: exit %d, stderr %q", res.code, res.stderr)
	}
	if res := runCmd(t, nil, "ranges", "diff", "--service"); res.code != exitError ||
		res.stderr != "vpce-verify: error: ranges diff: flag needs an argument: --service\nvpce-verify: hint: vpce-verify ranges diff --help lists the flags\n" {
		t.Errorf("missing flag value: exit %d, stderr %q", res.code, res.stderr)
	}
	if res := runCmd(t, nil, "frobnicate"); res.code != exitError || !strings.Contains(res.stderr, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: exit %d, stderr %q", res.code, res.stderr)
	}
	if res := runCmd(t, nil, "--version"); res.code != exitPass || !strings.HasPrefix(res.stdout, "vpce-verify ") {
		t.Errorf("--version: exit %d, stdout %q", res.code, res.stdout)
	}
}

// TestJSONContract checks the report against the field list in
// docs/report-json.md, key by key, so that renaming a field breaks a test.
func TestJSONContract(t *testing.T) {
	res := runCmd(t, nil, "analyze", "--format", "json", "--endpoint-ip", "10.0.2.50", td(t, "s3-mixed.pcapng"))
	var r map[string]any
	if err := json.Unmarshal([]byte(res.stdout), &r); err != nil {
		t.Fatal(err)
	}
	need := func(obj map[string]any, where string, keys ...string) {
		for _, k := range keys {
			if _, ok := obj[k]; !ok {
				t.Errorf("%s: no %q", where, k)
			}
		}
	}
	need(r, "report", "schema", "tool", "verdict", "reason", "ip_ranges", "inputs", "dns", "flows", "warnings")
	if r["schema"] != "vpce-verify/report/v1" {
		t.Errorf("schema = %v", r["schema"])
	}
	need(r["tool"].(map[string]any), "tool", "name", "version")
	need(r["ip_ranges"].(map[string]any), "ip_ranges", "sync_token", "create_date", "source", "sha256")
	in := r["inputs"].([]any)[0].(map[string]any)
	need(in, "inputs[0]", "name", "sha256", "format", "link_types", "packets", "bytes", "complete", "error")
	if lt := in["link_types"].([]any); len(lt) != 2 || lt[0] != "EN10MB" || lt[1] != "LINUX_SLL2" {
		t.Errorf("link_types = %v, want [EN10MB LINUX_SLL2]", lt)
	}
	d := r["dns"].([]any)[0].(map[string]any)
	need(d, "dns[0]", "ts", "client", "server", "transport", "qname", "qtype", "rcode", "answers")
	need(d["answers"].([]any)[0].(map[string]any), "dns[0].answers[0]", "name", "type", "data", "ttl")
	for i, f := range r["flows"].([]any) {
		need(f.(map[string]any), "flows", "client", "server", "conn_state", "established", "history", "first_ts", "last_ts",
			"packets", "bytes", "sni", "dns_names", "s3", "s3_evidence", "path", "aws")
		if i == 1 {
			aws := f.(map[string]any)["aws"].(map[string]any)
			need(aws, "flows[1].aws", "services", "region", "prefix")
		}
	}
	ts := r["flows"].([]any)[0].(map[string]any)["first_ts"].(string)
	if _, err := time.Parse(time.RFC3339Nano, ts); err != nil || !strings.HasSuffix(ts, "Z") {
		t.Errorf("first_ts %q is not RFC 3339 UTC", ts)
	}
}
