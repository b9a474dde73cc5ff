package flowlogs_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vpce-verify/vpce-verify/flowlogs"
	"github.com/vpce-verify/vpce-verify/flowlogs/flowlogstest"
	"github.com/vpce-verify/vpce-verify/resolve"
	"github.com/vpce-verify/vpce-verify/resolve/ipranges"
)

func classifier(endpoints ...string) *resolve.Classifier {
	var eps []netip.Addr
	for _, e := range endpoints {
		eps = append(eps, netip.MustParseAddr(e))
	}
	return resolve.NewClassifier(ipranges.Embedded(), nil, eps, nil)
}

func config() flowlogs.Config {
	return flowlogs.Config{Classifier: classifier(flowlogstest.EndpointIPv4, flowlogstest.EndpointIPv6), EndpointKnown: true}
}

// write makes a file in dir from what fill writes.
func write(t *testing.T, dir, name string, fill func(*bytes.Buffer) error) string {
	t.Helper()
	var b bytes.Buffer
	if err := fill(&b); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func gz(fill func(*bytes.Buffer) error) func(*bytes.Buffer) error {
	return func(out *bytes.Buffer) error {
		var b bytes.Buffer
		if err := fill(&b); err != nil {
			return err
		}
		zw := gzip.NewWriter(out)
		zw.Write(b.Bytes())
		return zw.Close()
	}
}

func textOf(fields []string, header bool, recs []flowlogstest.Rec) func(*bytes.Buffer) error {
	return func(b *bytes.Buffer) error { return flowlogstest.Text(b, fields, header, recs) }
}

func parquetOf(recs []flowlogstest.Rec, perGroup int) func(*bytes.Buffer) error {
	return func(b *bytes.Buffer) error { return flowlogstest.Parquet(b, recs, perGroup) }
}

// analyze reads the files (folders walked) and gives the report.
func analyze(t *testing.T, cfg flowlogs.Config, args ...string) *flowlogs.Report {
	t.Helper()
	files, errs := flowlogs.Expand(args, cfg.Since, cfg.Until)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	a := flowlogs.NewAnalyzer(cfg)
	var inputs []flowlogs.Input
	for _, p := range files.Paths {
		inputs = append(inputs, flowlogs.ReadFile(p, nil, a.Add))
	}
	return a.Report(inputs, flowlogs.Meta{Ranges: ipranges.Embedded(), Now: time.Unix(flowlogstest.T0, 0), Files: files})
}

// verdicts maps each group to its verdict.
func verdicts(r *flowlogs.Report) map[string]string {
	m := map[string]string{}
	for _, g := range r.Groups {
		m[g.Key] = g.Verdict
	}
	return m
}

func group(t *testing.T, r *flowlogs.Report, key string) flowlogs.Group {
	t.Helper()
	for _, g := range r.Groups {
		if g.Key == key {
			return g
		}
	}
	t.Fatalf("no group %s in %v", key, verdicts(r))
	return flowlogs.Group{}
}

func TestDefaultFormatExample(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "example.log", func(b *bytes.Buffer) error {
		b.WriteString(flowlogstest.DefaultExample + "\n")
		return nil
	})
	var got []flowlogs.Record
	in := flowlogs.ReadFile(p, nil, func(r *flowlogs.Record) {
		c := *r
		c.InterfaceID = bytes.Clone(r.InterfaceID)
		c.AccountID = bytes.Clone(r.AccountID)
		got = append(got, c)
	})
	if !in.Complete || in.Records != 1 || len(got) != 1 {
		t.Fatalf("input %+v, records %d", in, len(got))
	}
	r := got[0]
	want := flowlogs.Record{Version: 2, AccountID: []byte("123456789010"), InterfaceID: []byte("eni-1235b8ca123456789"),
		Src: netip.MustParseAddr("172.31.16.139"), Dst: netip.MustParseAddr("172.31.16.21"), SrcPort: 20641, DstPort: 22,
		Protocol: 6, TCPFlags: -1, Packets: 20, Bytes: 4249, Start: 1418530010, End: 1418530070,
		Action: flowlogs.ActionAccept, Status: flowlogs.StatusOK}
	if string(r.AccountID) != string(want.AccountID) || string(r.InterfaceID) != string(want.InterfaceID) {
		t.Errorf("ids %s %s", r.AccountID, r.InterfaceID)
	}
	r.AccountID, r.InterfaceID, want.AccountID, want.InterfaceID = nil, nil, nil, nil
	if !reflect.DeepEqual(r, want) {
		t.Errorf("record\n got %+v\nwant %+v", r, want)
	}
	rep := analyze(t, config(), p)
	if rep.Verdict != flowlogs.Inconclusive || rep.Summary.NotWeb != 1 {
		t.Errorf("SSH only: %s (%s), not web %d", rep.Verdict, rep.Reason, rep.Summary.NotWeb)
	}
}

// The scenario in every format: the same records give the same groups.
func TestScenarioEveryFormat(t *testing.T) {
	dir := t.TempDir()
	recs := flowlogstest.Records()
	custom := map[string]string{
		"custom.log":       write(t, dir, "custom.log", textOf(flowlogstest.CustomFormat, true, recs)),
		"custom.log.gz":    write(t, dir, "custom.log.gz", gz(textOf(flowlogstest.CustomFormat, true, recs))),
		"all.log":          write(t, dir, "all.log", textOf(flowlogstest.Names, true, recs)),
		"scenario.parquet": write(t, dir, "scenario.parquet", parquetOf(recs, 4)),
	}
	var first *flowlogs.Report
	for name, p := range custom {
		t.Run(name, func(t *testing.T) {
			r := analyze(t, config(), p)
			if r.Verdict != flowlogs.Fail {
				t.Fatalf("verdict %s: %s", r.Verdict, r.Reason)
			}
			want := map[string]string{"eni-0aaa": "pass", "eni-0bbb": "fail", "eni-0ccc": "fail", "eni-0ddd": "fail",
				"eni-0nat": "fail", "eni-0eee": "pass", "eni-0ggg": "inconclusive"}
			if got := verdicts(r); !equalMaps(got, want) {
				t.Errorf("groups %v, want %v", got, want)
			}
			a := group(t, r, "eni-0aaa")
			if ep := a.S3ByPath["interface-endpoint"]; ep.Records != 3 || ep.Bytes != 150000+2500000+700 {
				t.Errorf("eni-0aaa to the endpoint: %+v", ep)
			}
			c := group(t, r, "eni-0ccc")
			if gw := c.S3ByPath["gateway-endpoint"]; gw.Records != 1 || gw.Bytes != 4000 {
				t.Errorf("eni-0ccc through the gateway endpoint (traffic-path 7): %+v", c.S3ByPath)
			}
			// The NAT gateway's record of the packets from the instance
			// has its own address as dstaddr: pkt-dstaddr is the server,
			// pkt-srcaddr the instance.
			nat := group(t, r, "eni-0nat")
			if n := nat.S3ByPath["public-aws"].Records; n != 2 {
				t.Errorf("eni-0nat: %d public S3 records, want 2 (pkt-dstaddr before dstaddr)", n)
			}
			if len(nat.PublicSources) != 2 || nat.PublicSources[0].Addr != "10.0.1.40" {
				t.Errorf("the NAT gateway's record names the instance (pkt-srcaddr): %+v", nat.PublicSources)
			}
			// pkt-dst-aws-service: an address the ip-ranges.json in use
			// does not list is S3 on its word.
			var bySvc *flowlogs.Destination
			for i, d := range r.PublicDestinations {
				if d.Server == "203.0.113.80:443" {
					bySvc = &r.PublicDestinations[i]
				}
			}
			if bySvc == nil || bySvc.Path != "public-aws" || bySvc.PathEvidence != flowlogs.BasisAWSService || bySvc.Bytes != 1500 {
				t.Errorf("203.0.113.80 (pkt-dst-aws-service S3): %+v", bySvc)
			}
			// ... and a private address it calls S3 that is no known
			// endpoint leaves the group inconclusive, never passing.
			if g := group(t, r, "eni-0ggg"); g.S3ByPath["private-other"].Records != 1 {
				t.Errorf("eni-0ggg: %+v", g.S3ByPath)
			}
			if _, ok := verdicts(r)["eni-0fff"]; ok || r.Summary.WebNotS3 != 1 {
				t.Errorf("HTTPS to a non-AWS address is S3: %v, %d not S3", verdicts(r), r.Summary.WebNotS3)
			}
			if e := group(t, r, "eni-0eee"); e.RejectedRecords != 1 || e.S3ByPath["interface-endpoint"].Bytes != 70000 {
				t.Errorf("eni-0eee: rejected %d, endpoint %+v", e.RejectedRecords, e.S3ByPath["interface-endpoint"])
			}
			s := r.Summary
			if s.NoData != 1 || s.SkipData != 1 || s.Records != uint64(len(recs)) {
				t.Errorf("summary %+v", s)
			}
			if !hasWarning(r, "SKIPDATA") || !hasWarning(r, "1 record to the interface endpoint 10.0.2.50:443 was rejected") {
				t.Errorf("warnings %q", r.Warnings)
			}
			if first == nil {
				first = r
			} else if !sameGroups(first, r) {
				t.Errorf("%s gives other groups than the first format", name)
			}
		})
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func sameGroups(a, b *flowlogs.Report) bool {
	x, _ := json.Marshal(a.Groups)
	y, _ := json.Marshal(b.Groups)
	return bytes.Equal(x, y)
}

func hasWarning(r *flowlogs.Report, s string) bool {
	for _, w := range r.Warnings {
		if strings.Contains(w, s) {
			return true
		}
	}
	return false
}

// The default format has no traffic-path nor pkt-dstaddr: the gateway
// endpoint cannot be told from the internet gateway, and the NAT gateway's
// interface names itself.
func TestDefaultFormatAndCloudWatch(t *testing.T) {
	dir := t.TempDir()
	recs := flowlogstest.Records()
	text := write(t, dir, "default.log", textOf(flowlogstest.DefaultFormat, true, recs))
	cw := write(t, dir, "events.json", func(b *bytes.Buffer) error { return flowlogstest.CloudWatch(b, recs) })
	rt, rc := analyze(t, config(), text), analyze(t, config(), cw)
	if rc.Inputs[0].Format != "cloudwatch-json" || !rc.Inputs[0].Complete {
		t.Fatalf("input %+v", rc.Inputs[0])
	}
	if !sameGroups(rt, rc) {
		t.Errorf("CloudWatch JSON and the text file differ:\n%v\n%v", verdicts(rt), verdicts(rc))
	}
	c := group(t, rt, "eni-0ccc")
	if c.S3ByPath["public-aws"].Records != 1 || c.S3ByPath["gateway-endpoint"].Records != 0 {
		t.Errorf("without traffic-path a public S3 address is public-aws: %+v", c.S3ByPath)
	}
	// Without pkt-dstaddr, the NAT gateway's record of the packets from
	// the instance names the NAT gateway itself as the destination.
	nat := group(t, rt, "eni-0nat")
	if len(nat.PublicSources) != 1 || nat.PublicSources[0].Addr != "10.0.0.5" || nat.S3ByPath["public-aws"].Records != 1 {
		t.Errorf("sources %+v, paths %+v", nat.PublicSources, nat.S3ByPath)
	}
}

func TestPolicyPrivatePassesGatewayEndpoint(t *testing.T) {
	dir := t.TempDir()
	var recs []flowlogstest.Rec
	for _, r := range flowlogstest.Records() {
		if r["interface-id"] == "eni-0ccc" || r["interface-id"] == "eni-0aaa" {
			recs = append(recs, r)
		}
	}
	p := write(t, dir, "gw.log", textOf(flowlogstest.CustomFormat, true, recs))
	r := analyze(t, config(), p)
	if r.Verdict != flowlogs.Fail || verdicts(r)["eni-0ccc"] != flowlogs.Fail {
		t.Errorf("interface-endpoint policy: %s %v", r.Verdict, verdicts(r))
	}
	cfg := config()
	cfg.Policy = flowlogs.PolicyPrivate
	r = analyze(t, cfg, p)
	if r.Verdict != flowlogs.Inconclusive || !strings.Contains(r.Reason, "SKIPDATA") {
		t.Errorf("private policy with a SKIPDATA record: %s: %s", r.Verdict, r.Reason)
	}
	if verdicts(r)["eni-0ccc"] != flowlogs.Pass {
		t.Errorf("private: %v", verdicts(r))
	}
}

func TestPassAndInconclusive(t *testing.T) {
	dir := t.TempDir()
	var endpointOnly []flowlogstest.Rec
	for _, r := range flowlogstest.Records()[1:4] {
		endpointOnly = append(endpointOnly, r)
	}
	p := write(t, dir, "ok.log", textOf(flowlogstest.CustomFormat, true, endpointOnly))
	r := analyze(t, config(), p)
	if r.Verdict != flowlogs.Pass || !strings.Contains(r.Reason, "1 ENI (2.7 MB in 3 records) went to the interface endpoint") {
		t.Errorf("%s: %s", r.Verdict, r.Reason)
	}
	cfg := config()
	cfg.Classifier, cfg.EndpointKnown = classifier(), false
	r = analyze(t, cfg, p)
	if r.Verdict != flowlogs.Inconclusive || !strings.Contains(r.Reason, "without --endpoint-ip or --endpoints") {
		t.Errorf("no endpoint known: %s: %s", r.Verdict, r.Reason)
	}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil || !strings.HasPrefix(b.String(), "INCONCLUSIVE: no S3 traffic") {
		t.Errorf("text: %v\n%s", err, b.String())
	}
}

// A bad line is described with its line number and the rest is read; with
// no leak the verdict is error (what the rest says is kept), with a leak
// it is fail.
func TestDamagedLines(t *testing.T) {
	dir := t.TempDir()
	recs := flowlogstest.Records()
	var b bytes.Buffer
	flowlogstest.Text(&b, flowlogstest.CustomFormat, true, recs[1:4])
	b.WriteString("5 vpc-1 subnet-a i-0aaa eni-0aaa\n")                                            // line 5: too few fields
	b.WriteString(strings.Replace(strings.Split(b.String(), "\n")[1], " 443 ", " 4x3 ", 1) + "\n") // line 6: a bad port
	b.WriteString(strings.Repeat("x", 20000) + "\n")                                               // line 7: too long
	flowlogstest.Text(&b, flowlogstest.CustomFormat, false, recs[1:2])                             // line 8: good
	p := filepath.Join(dir, "damaged.log")
	os.WriteFile(p, b.Bytes(), 0o644)
	r := analyze(t, config(), p)
	in := r.Inputs[0]
	if in.Records != 4 || in.BadRecords != 3 || in.Complete {
		t.Fatalf("input %+v", in)
	}
	want := []string{"line 5: 5 fields, the header line names 25", `line 6: dstport "4x3": want a port`, "line 7: a line longer than 16384 bytes"}
	for i, w := range want {
		if i >= len(in.Problems) || in.Problems[i] != w {
			t.Errorf("problem %d: %q, want %q", i, in.Problems, w)
			break
		}
	}
	if r.Verdict != flowlogs.Error || r.PartialVerdict != flowlogs.Pass {
		t.Errorf("%s (%s): %s", r.Verdict, r.PartialVerdict, r.Reason)
	}
	// The same damage beside a leak: the leak stands.
	var leak bytes.Buffer
	leak.Write(b.Bytes())
	flowlogstest.Text(&leak, flowlogstest.CustomFormat, false, recs[4:5])
	os.WriteFile(p, leak.Bytes(), 0o644)
	if r := analyze(t, config(), p); r.Verdict != flowlogs.Fail || !strings.Contains(r.Reason, "but the records read prove the leak") {
		t.Errorf("%s: %s", r.Verdict, r.Reason)
	}
}

func TestDamagedFiles(t *testing.T) {
	dir := t.TempDir()
	recs := flowlogstest.Records()
	var whole bytes.Buffer
	gz(textOf(flowlogstest.CustomFormat, true, recs))(&whole)
	cut := write(t, dir, "cut.log.gz", func(b *bytes.Buffer) error { b.Write(whole.Bytes()[:whole.Len()-12]); return nil })
	var pq bytes.Buffer
	flowlogstest.Parquet(&pq, recs, 4)
	pqCut := write(t, dir, "cut.parquet", func(b *bytes.Buffer) error { b.Write(pq.Bytes()[:pq.Len()/2]); return nil })
	hugeFooter := write(t, dir, "footer.parquet", func(b *bytes.Buffer) error {
		b.WriteString("PAR1")
		b.Write(bytes.Repeat([]byte{0}, 64))
		b.Write([]byte{0xff, 0xff, 0xff, 0x7f})
		b.WriteString("PAR1")
		return nil
	})
	garbled := write(t, dir, "garbled.parquet", func(b *bytes.Buffer) error {
		x := bytes.Clone(pq.Bytes())
		for i := 200; i < len(x)-200; i += 7 {
			x[i] ^= 0x5a
		}
		b.Write(x)
		return nil
	})
	cw := write(t, dir, "cut.json", func(b *bytes.Buffer) error {
		var x bytes.Buffer
		flowlogstest.CloudWatch(&x, recs)
		b.Write(x.Bytes()[:x.Len()/2])
		return nil
	})
	for _, tc := range []struct{ path, want string }{
		{cut, "gzip:"},
		{pqCut, "parquet:"},
		{hugeFooter, "a footer of 2147483647 bytes"},
		{garbled, ""},
		{cw, "the JSON ends early"},
	} {
		t.Run(filepath.Base(tc.path), func(t *testing.T) {
			in := flowlogs.ReadFile(tc.path, nil, func(*flowlogs.Record) {})
			if in.Complete {
				t.Fatalf("a damaged file read whole: %+v", in)
			}
			if tc.want != "" && (in.Error == nil || !strings.Contains(*in.Error, tc.want)) {
				t.Errorf("error %v, want %q", in.Error, tc.want)
			}
		})
	}
	// The records before the damage count.
	if in := flowlogs.ReadFile(cut, nil, func(*flowlogs.Record) {}); in.Records == 0 {
		t.Errorf("nothing read before the cut: %+v", in)
	}
}

// A CloudWatch export whose one value is huge is an error, not a reason
// to hold it all: what the decoder buffers is capped.
func TestCloudWatchHugeValue(t *testing.T) {
	dir := t.TempDir()
	for name, fill := range map[string]string{
		"message.json": `{"events": [{"message": "2 123456789010 eni-0aaa 10.0.1.10 10.0.2.50 40001 443 6 1 1 1 2 ACCEPT OK"}, {"message": "` + strings.Repeat("x", 64<<20) + `"}]}`,
		"other.json":   `{"searchedLogStreams": ["` + strings.Repeat("x", 64<<20) + `"], "events": []}`,
		"streams.json": `{"searchedLogStreams": [` + strings.Repeat(`{"logStreamName": "eni-0123456789abcdef0-all", "searchedCompletely": true}, `, 100000) + `{}], "events": []}`,
	} {
		p := write(t, dir, name, func(b *bytes.Buffer) error { b.WriteString(fill); return nil })
		if name == "streams.json" {
			// 7 MB of stream names beside the events: read, not refused.
			if in := flowlogs.ReadFile(p, nil, func(*flowlogs.Record) {}); !in.Complete {
				t.Errorf("%s: %+v", name, in)
			}
			continue
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		in := flowlogs.ReadFile(p, nil, func(*flowlogs.Record) {})
		runtime.ReadMemStats(&after)
		if in.Complete || in.Error == nil || !strings.Contains(*in.Error, "a JSON value longer than 1 MiB") {
			t.Errorf("%s: %+v", name, in)
		}
		if name == "message.json" && in.Records != 1 {
			t.Errorf("the event before the damage was not read: %+v", in)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 16<<20 {
			t.Errorf("%s: %d MB allocated", name, n>>20)
		}
	}
}

func TestGroupBy(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "custom.log", textOf(flowlogstest.CustomFormat, true, flowlogstest.Records()))
	for _, tc := range []struct {
		by   string
		want map[string]string
	}{
		{"instance", map[string]string{"i-0aaa": "pass", "i-0bbb": "fail", "i-0ccc": "fail", "i-0ddd": "fail", "-": "fail", "i-0eee": "pass", "i-0ggg": "inconclusive"}},
		{"subnet", map[string]string{"subnet-a": "pass", "subnet-b": "fail", "subnet-c": "fail", "subnet-pub": "fail", "subnet-d": "inconclusive"}},
		{"vpc", map[string]string{"vpc-0123456789abcdef0": "fail"}},
	} {
		cfg := config()
		var err error
		if cfg.GroupBy, err = flowlogs.ParseGroupBy(tc.by); err != nil {
			t.Fatal(err)
		}
		r := analyze(t, cfg, p)
		if got := verdicts(r); !equalMaps(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.by, got, tc.want)
		}
		if tc.by == "instance" && !hasWarning(r, "carry no instance-id") {
			t.Errorf("no warning about the NAT gateway's records: %q", r.Warnings)
		}
	}
	if _, err := flowlogs.ParseGroupBy("host"); err == nil {
		t.Error("--group-by host accepted")
	}
}

// An S3 delivery folder is walked; days outside --since/--until are not
// read, and records outside the window are not counted.
func TestDeliveryLayoutAndWindow(t *testing.T) {
	dir := t.TempDir()
	recs := flowlogstest.Records()
	base := filepath.Join(dir, "AWSLogs", "123456789010", "vpcflowlogs", "ap-south-1")
	day := func(d string, rs []flowlogstest.Rec) {
		write(t, base, filepath.Join(d, "123456789010_vpcflowlogs_ap-south-1_fl-1234abcd_"+strings.ReplaceAll(d, "/", "")+"T1000Z_fe123456.log.gz"),
			gz(textOf(flowlogstest.CustomFormat, true, rs)))
	}
	day("2026/07/01", recs[1:4]) // endpoint only
	day("2026/06/20", recs[4:6]) // a leak, ten days earlier
	write(t, base, "2026/06/20/notes.md", func(b *bytes.Buffer) error { b.WriteString("# not a log"); return nil })
	r := analyze(t, config(), filepath.Join(dir, "AWSLogs"))
	if r.Verdict != flowlogs.Fail || r.Summary.Files != 2 || r.Summary.FilesIgnored != 1 {
		t.Errorf("whole folder: %s, %d files, %d ignored", r.Verdict, r.Summary.Files, r.Summary.FilesIgnored)
	}
	cfg := config()
	cfg.Since = time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	r = analyze(t, cfg, filepath.Join(dir, "AWSLogs"))
	if r.Verdict != flowlogs.Pass || r.Summary.Files != 1 || r.Summary.FilesSkipped != 1 {
		t.Errorf("since July: %s (%s), %d files, %d skipped", r.Verdict, r.Reason, r.Summary.Files, r.Summary.FilesSkipped)
	}
	// Records are judged by their own times too: a window that ends
	// before the July records starts keeps nothing of them.
	cfg = config()
	cfg.Since = time.Unix(flowlogstest.T0-3600, 0)
	cfg.Until = time.Unix(flowlogstest.T0-60, 0)
	r = analyze(t, cfg, filepath.Join(base, "2026/07/01"))
	if r.Summary.OutsideWindow != 3 || r.Verdict != flowlogs.Inconclusive {
		t.Errorf("window before the records: %+v %s", r.Summary, r.Verdict)
	}
	// A SKIPDATA record outside the window says nothing of the window.
	all := flowlogstest.Records()
	withSkip := write(t, dir, "skip.log", textOf(flowlogstest.CustomFormat, true, append(slices.Clone(all[1:4]), all[len(all)-1])))
	if r := analyze(t, config(), withSkip); r.Verdict != flowlogs.Inconclusive {
		t.Errorf("a SKIPDATA record in the logs: %s (%s)", r.Verdict, r.Reason)
	}
	cfg = config()
	cfg.Since, cfg.Until = time.Unix(flowlogstest.T0, 0), time.Unix(flowlogstest.T0+350, 0)
	if r := analyze(t, cfg, withSkip); r.Verdict != flowlogs.Pass || r.Summary.SkipData != 0 || r.Summary.OutsideWindow != 1 {
		t.Errorf("a SKIPDATA record after --until: %s (%s), %+v", r.Verdict, r.Reason, r.Summary)
	}
	// Hive-style and hourly folders are dates too.
	hive := filepath.Join(dir, "hive", "AWSLogs", "aws-account-id=123456789010", "aws-service=vpcflowlogs", "aws-region=ap-south-1", "year=2026", "month=06", "day=20", "hour=10")
	write(t, hive, "x.log.gz", gz(textOf(flowlogstest.CustomFormat, true, recs[4:6])))
	cfg = config()
	cfg.Since = time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	files, _ := flowlogs.Expand([]string{filepath.Join(dir, "hive")}, cfg.Since, cfg.Until)
	if len(files.Paths) != 0 || files.Skipped != 1 {
		t.Errorf("hive folder of June 20 with --since July 1: %+v", files)
	}
}

func TestHeaderMidStream(t *testing.T) {
	// Two delivered files concatenated (zcat *.gz > all.log): each header
	// sets the format of the lines after it.
	dir := t.TempDir()
	recs := flowlogstest.Records()
	p := write(t, dir, "cat.log", func(b *bytes.Buffer) error {
		flowlogstest.Text(b, flowlogstest.DefaultFormat, true, recs[1:4])
		return flowlogstest.Text(b, flowlogstest.CustomFormat, true, recs[7:8])
	})
	r := analyze(t, config(), p)
	if !r.Inputs[0].Complete || group(t, r, "eni-0ccc").S3ByPath["gateway-endpoint"].Records != 1 {
		t.Errorf("%+v %v", r.Inputs[0], verdicts(r))
	}
}

// Bounded: past the group cap the groups are counted, and a leak in them
// still fails the run.
func TestGroupCap(t *testing.T) {
	dir := t.TempDir()
	var recs []flowlogstest.Rec
	for i := 0; i < 50; i++ {
		r := flowlogstest.Records()[1]
		r["interface-id"] = "eni-ok" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		recs = append(recs, r)
	}
	recs = append(recs, flowlogstest.Records()[4])
	p := write(t, dir, "many.log", textOf(flowlogstest.CustomFormat, true, recs))
	cfg := config()
	cfg.Limits.Groups = 10
	r := analyze(t, cfg, p)
	if len(r.Groups) != 10 || r.GroupsOmittedRecords != 41 || r.Verdict != flowlogs.Fail {
		t.Errorf("%d groups, %d omitted records, %s", len(r.Groups), r.GroupsOmittedRecords, r.Verdict)
	}
}

func TestJSONSchema(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "custom.log", textOf(flowlogstest.CustomFormat, true, flowlogstest.Records()))
	r := analyze(t, config(), p)
	var b bytes.Buffer
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"schema", "verdict", "reason", "policy", "group_by", "ip_ranges", "inputs", "summary", "groups", "public_destinations", "rejected", "warnings"} {
		if _, ok := m[k]; !ok {
			t.Errorf("no %q in the JSON", k)
		}
	}
	if m["schema"] != flowlogs.Schema || flowlogs.Schema != "vpce-verify/flowlogs/v1" {
		t.Errorf("schema %v", m["schema"])
	}
}

// Files read in parallel give the report of files read one by one.
func TestReadAllInParallel(t *testing.T) {
	dir := t.TempDir()
	recs := flowlogstest.Records()
	var paths []string
	for i := 0; i < 12; i++ {
		rs := make([]flowlogstest.Rec, 0, len(recs))
		for _, r := range recs {
			c := flowlogstest.Rec{}
			for k, v := range r {
				c[k] = v
			}
			c["pkt-srcaddr"] = "-"
			c["srcaddr"] = strings.Replace(r["srcaddr"], "10.0.1.", "10.0."+string(rune('1'+i%9))+".", 1)
			rs = append(rs, c)
		}
		paths = append(paths, write(t, dir, "f"+string(rune('a'+i))+".log.gz", gz(textOf(flowlogstest.CustomFormat, true, rs))))
	}
	// Below the caps the result does not depend on the order the files
	// are read in (past them, which rows are kept does).
	cfg := config()
	one, inOne := flowlogs.ReadAll(context.Background(), paths, nil, cfg, 1, nil)
	four, inFour := flowlogs.ReadAll(context.Background(), paths, nil, cfg, 4, nil)
	meta := flowlogs.Meta{Ranges: ipranges.Embedded(), Now: time.Unix(flowlogstest.T0, 0)}
	r1, r4 := one.Report(inOne, meta), four.Report(inFour, meta)
	j1, _ := json.Marshal(r1)
	j4, _ := json.Marshal(r4)
	if !bytes.Equal(j1, j4) {
		t.Errorf("one worker:\n%s\nfour:\n%s", j1, j4)
	}
	if r1.Summary.Records != uint64(12*len(recs)) || len(inFour) != 12 {
		t.Errorf("%d records, %d inputs", r1.Summary.Records, len(inFour))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, in := flowlogs.ReadAll(ctx, paths, nil, cfg, 2, nil); len(in) != 0 {
		t.Errorf("a cancelled read started %d files", len(in))
	}
}
