package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vpce-verify/vpce-verify/report"
)

var testNow = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// host describes a generated report: a live capture's (capture, verify),
// so its provenance names the host.
type host struct {
	instance, hostname string
	verdict            string
	violations         int // listed
	omitted            int // violations_omitted
	start              time.Time
}

// writeReport writes the report of h as report.Report.WriteJSON writes it
// (the same bytes a host's --evidence bundle holds) at dir/rel.
func writeReport(t testing.TB, dir, rel string, h host) string {
	t.Helper()
	r := genReport(h)
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func genReport(h host) *report.Report {
	if h.start.IsZero() {
		h.start = time.Date(2026, 11, 22, 5, 34, 4, 0, time.UTC)
	}
	ts := func(d time.Duration) string { return h.start.Add(d).Format(time.RFC3339Nano) }
	r := &report.Report{Schema: report.Schema, Tool: report.Tool{Name: "vpce-verify", Version: "v0.9.0"},
		Verdict: h.verdict, Reason: "the reason of " + h.verdict, Policy: "interface-endpoint",
		GeneratedAt: ts(time.Minute), Inputs: []report.Input{{Name: "ens5", Format: "live", Complete: true}},
		Capture:           &report.Capture{Interfaces: []string{"ens5"}, Started: ts(0), Stopped: ts(10 * time.Second)},
		Violations:        []report.Flow{},
		ViolationsOmitted: h.omitted,
		Flows:             []report.Flow{}, DNS: []report.DNS{}, Warnings: []string{},
		Provenance: &report.Provenance{Host: report.Host{Hostname: h.hostname},
			Window: &report.Window{First: ts(0), Last: ts(10 * time.Second), Duration: 10}},
	}
	if h.instance != "" {
		r.Provenance.Host.EC2 = &report.EC2{InstanceID: h.instance, AccountID: "123456789012", Region: "ap-south-1", VPCID: "vpc-0abc"}
	}
	for i := range h.violations {
		r.Violations = append(r.Violations, report.Flow{
			Client: fmt.Sprintf("10.0.1.25:%d", 40000+i), Server: "52.219.64.10:443", ConnState: "SF", Established: true,
			FirstTS: ts(time.Duration(i) * time.Millisecond), Bytes: [2]uint64{700, uint64(1000 + 100*i)},
			SNI: "my-bucket.s3.ap-south-1.amazonaws.com", S3: true, S3Name: "my-bucket.s3.ap-south-1.amazonaws.com",
			Path: "public-aws", AWS: &report.AWS{Services: []string{"AMAZON", "S3"}, Region: "ap-south-1", Prefix: "52.219.64.0/22"},
		})
	}
	return r
}

func merge(t testing.TB, paths ...string) *Fleet {
	t.Helper()
	return Merge(context.Background(), paths, Options{Tool: Tool{"vpce-verify", "test"}, Now: func() time.Time { return testNow }})
}

func TestVerdictRules(t *testing.T) {
	tests := []struct {
		name  string
		hosts []host
		want  string
	}{
		{"all pass", []host{{instance: "i-1", verdict: Pass}, {instance: "i-2", verdict: Pass}}, Pass},
		{"one fail", []host{{instance: "i-1", verdict: Pass}, {instance: "i-2", verdict: Fail, violations: 1}, {instance: "i-3", verdict: Inconclusive}}, Fail},
		{"one inconclusive", []host{{instance: "i-1", verdict: Pass}, {instance: "i-2", verdict: Inconclusive}}, Inconclusive},
		{"one error", []host{{instance: "i-1", verdict: Pass}, {instance: "i-2", verdict: Error}}, Inconclusive},
		// A report that says pass but lists a leak is counted as fail.
		{"pass with a violation", []host{{instance: "i-1", verdict: Pass, violations: 1}}, Fail},
		{"pass with violations omitted", []host{{instance: "i-1", verdict: Pass, omitted: 3}}, Fail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for i, h := range tt.hosts {
				writeReport(t, dir, fmt.Sprintf("cmd/%s/run%d/report.json", h.instance, i), h)
			}
			f := merge(t, dir)
			if f.Verdict != tt.want {
				t.Errorf("verdict %s (%s), want %s", f.Verdict, f.Reason, tt.want)
			}
			if f.Totals.Hosts != len(tt.hosts) || f.Totals.Reports != len(tt.hosts) {
				t.Errorf("totals %+v, want %d hosts and reports", f.Totals, len(tt.hosts))
			}
		})
	}
}

func TestNoReport(t *testing.T) {
	empty := t.TempDir()
	f := merge(t, empty, filepath.Join(empty, "missing"))
	// Paths that hold no report: an error (a wrong path, most likely),
	// each named.
	if f.Verdict != Error || f.Reason != "no report found: 2 paths could not be read" || len(f.Unreadable) != 2 ||
		!strings.Contains(f.Unreadable[0], "no report.json under this folder") {
		t.Errorf("empty folder: verdict %s (%s), unreadable %q", f.Verdict, f.Reason, f.Unreadable)
	}
	// Beside a report, an empty folder makes the fleet inconclusive.
	writeReport(t, empty, "sub/report.json", host{instance: "i-1", verdict: Pass})
	if f := merge(t, filepath.Join(empty, "sub"), filepath.Join(empty, "missing")); f.Verdict != Inconclusive {
		t.Errorf("a report and a missing path: %s", f.Verdict)
	}
	f = Merge(context.Background(), nil, Options{})
	if f.Verdict != Error || f.Reason != "no report found" {
		t.Errorf("no path: %s: %s", f.Verdict, f.Reason)
	}
}

func TestHostsAndDuplicates(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC)
	writeReport(t, dir, "c1/i-0aaa/vpce-verify/report.json", host{instance: "i-0aaa", hostname: "ip-10-0-1-5", verdict: Pass, start: t0})
	writeReport(t, dir, "c2/i-0aaa/vpce-verify/report.json", host{instance: "i-0aaa", hostname: "ip-10-0-1-5", verdict: Fail, violations: 5, start: t0.Add(time.Hour)})
	writeReport(t, dir, "c3/i-0aaa/vpce-verify/report.json", host{instance: "i-0aaa", hostname: "ip-10-0-1-5", verdict: Pass, start: t0.Add(2 * time.Hour)})
	// No instance ID: named by hostname; two runs of it.
	writeReport(t, dir, "laptop/a/report.json", host{hostname: "build-7", verdict: Inconclusive, start: t0})
	writeReport(t, dir, "laptop/b/report.json", host{hostname: "build-7", verdict: Pass, start: t0})
	// Neither: named by its file.
	anon := writeReport(t, dir, "anon/report.json", host{verdict: Pass, start: t0})
	// Files beside reports that are not named report.json are not read.
	os.WriteFile(filepath.Join(dir, "c1", "i-0aaa", "vpce-verify", "connections.ndjson"), []byte("{}\n"), 0o644)

	f := merge(t, dir)
	if f.Verdict != Fail {
		t.Fatalf("verdict %s: %s", f.Verdict, f.Reason)
	}
	want := "1 of 3 hosts sent S3 traffic to a public address (5 violations); 1 inconclusive, 1 pass"
	if f.Reason != want {
		t.Errorf("reason %q\nwant   %q", f.Reason, want)
	}
	if len(f.Hosts) != 3 {
		t.Fatalf("%d hosts, want 3: %+v", len(f.Hosts), f.Hosts)
	}
	h := f.Hosts[0]
	if h.Host != "i-0aaa" || h.IdentifiedBy != ByInstanceID || h.Verdict != Fail || h.Hostname != "ip-10-0-1-5" || h.AccountID != "123456789012" {
		t.Errorf("first host %+v", h)
	}
	// Every run kept, in time order; the time is the failing run's.
	if len(h.Runs) != 3 || h.Runs[0].Verdict != Pass || h.Runs[1].Verdict != Fail || h.Runs[2].Verdict != Pass {
		t.Errorf("runs %+v", h.Runs)
	}
	if h.Time != t0.Add(time.Hour).Format(time.RFC3339Nano) {
		t.Errorf("time %s, want the failing run's", h.Time)
	}
	// Top violations: the three largest (bytes 700+1000+100*i), largest first.
	if h.Violations != 5 || len(h.TopViolations) != 3 || h.TopViolations[0].Bytes != 2100 || h.TopViolations[2].Bytes != 1900 ||
		h.TopViolations[0].Client != "10.0.1.25:40004" || h.TopViolations[0].Name != "my-bucket.s3.ap-south-1.amazonaws.com" || h.TopViolations[0].Prefix != "52.219.64.0/22" {
		t.Errorf("violations %d, top %+v", h.Violations, h.TopViolations)
	}
	if b := f.Hosts[1]; b.Host != "build-7" || b.IdentifiedBy != ByHostname || b.Verdict != Inconclusive || len(b.Runs) != 2 {
		t.Errorf("second host %+v", b)
	}
	if c := f.Hosts[2]; c.Host != anon || c.IdentifiedBy != ByFile || c.Verdict != Pass {
		t.Errorf("third host %+v", c)
	}
	if tt := f.Totals; tt.Hosts != 3 || tt.Reports != 6 || tt.Duplicates != 2 || tt.Violations != 5 ||
		tt.ByVerdict != (ByVerdict{Pass: 1, Fail: 1, Inconclusive: 1}) {
		t.Errorf("totals %+v", tt)
	}
}

// An analyze report's provenance names where the files were read, not
// where they were captured: each such report is its own host.
func TestAnalyzeReportsAreNamedByFile(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"a", "b"} {
		r := genReport(host{instance: "i-0laptop", hostname: "laptop", verdict: Pass})
		r.Capture = nil
		p := filepath.Join(dir, n, "report.json")
		os.MkdirAll(filepath.Dir(p), 0o755)
		var b bytes.Buffer
		r.WriteJSON(&b)
		os.WriteFile(p, b.Bytes(), 0o644)
	}
	f := merge(t, dir)
	if len(f.Hosts) != 2 || f.Hosts[0].IdentifiedBy != ByFile || f.Hosts[0].Runs[0].AnalysedOn != "i-0laptop" {
		t.Errorf("hosts %+v", f.Hosts)
	}
}

// Damaged and foreign files: each is a run named by its file, counted as
// inconclusive, with a one-line error that says what was wrong.
func TestUnreadable(t *testing.T) {
	dir := t.TempDir()
	good := genReport(host{instance: "i-0good", verdict: Pass})
	var gb bytes.Buffer
	good.WriteJSON(&gb)
	goodJSON := gb.String()
	files := map[string]struct {
		content string
		err     string
	}{
		"empty.json":       {"", "empty file"},
		"spaces.json":      {"  \n\t ", "empty file"},
		"truncated.json":   {goodJSON[:len(goodJSON)/2], fmt.Sprintf("not a whole JSON document: it ends at byte %d (truncated?)", len(goodJSON)/2)},
		"garbage.json":     {"{\"schema\": \"vpce-verify/report/v1\", \"verdict\": pass}", "not JSON at byte offset 47: invalid character 'p' looking for beginning of value"},
		"pcap.json":        {"\xd4\xc3\xb2\xa1\x02\x00\x04\x00", "not JSON at byte offset 0: invalid character 'Ô' looking for beginning of value"},
		"array.json":       {"[1, 2]", "not a vpce-verify report: the JSON is a array, not an object"},
		"foreign.json":     {`{"Reservations": []}`, `not a vpce-verify report: no "schema" field`},
		"v2.json":          {strings.Replace(goodJSON, "report/v1", "report/v2", 1), `schema "vpce-verify/report/v2": not a report this version reads (vpce-verify/report/v1)`},
		"fleet.json":       {`{"schema": "vpce-verify/fleet/v1", "verdict": "pass"}`, `schema "vpce-verify/fleet/v1": not a report this version reads (vpce-verify/report/v1)`},
		"noverdict.json":   {`{"schema": "vpce-verify/report/v1"}`, `damaged report: no "verdict" field`},
		"badword.json":     {strings.Replace(goodJSON, `"verdict": "pass"`, `"verdict": "ok"`, 1), `damaged report: verdict "ok" is not pass, fail, inconclusive or error`},
		"badtype.json":     {strings.Replace(goodJSON, `"violations_omitted": 0`, `"violations_omitted": "none"`, 1), "damaged report before byte offset"},
		"nullverdict.json": {strings.Replace(goodJSON, `"verdict": "pass"`, `"verdict": null`, 1), `damaged report: no "verdict" field`},
	}
	var paths []string
	for name, c := range files {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(c.content), 0o644)
		paths = append(paths, p)
	}
	// Larger than any report: not read at all (a sparse file).
	big := filepath.Join(dir, "big.json")
	bf, _ := os.Create(big)
	bf.Truncate(MaxReportBytes + 1)
	bf.Close()
	paths = append(paths, big, filepath.Join(dir, "missing.json"))
	good.WriteJSON(&gb)
	os.WriteFile(filepath.Join(dir, "good.json"), []byte(goodJSON), 0o644)
	paths = append(paths, filepath.Join(dir, "good.json"))

	var told []string
	f := Merge(context.Background(), paths, Options{Unreadable: func(r Run) { told = append(told, r.File) }})
	if f.Verdict != Inconclusive {
		t.Errorf("verdict %s: %s", f.Verdict, f.Reason)
	}
	nBad := len(files) + 2
	if f.Totals.Unreadable != nBad || len(f.Unreadable) != nBad || len(told) != nBad || f.Totals.Reports != nBad+1 || f.Totals.Hosts != nBad+1 {
		t.Errorf("totals %+v, %d listed, %d told", f.Totals, len(f.Unreadable), len(told))
	}
	byFile := map[string]Host{}
	for _, h := range f.Hosts {
		byFile[h.Host] = h
	}
	for name, c := range files {
		h := byFile[filepath.Join(dir, name)]
		if h.Verdict != Inconclusive || len(h.Runs) != 1 || !strings.HasPrefix(h.Runs[0].Error, c.err) || strings.Contains(h.Runs[0].Error, "\n") {
			t.Errorf("%s: %+v\nwant error %q", name, h, c.err)
		}
	}
	if e := byFile[big].Runs[0].Error; !strings.Contains(e, "larger than a report can be (64 MiB)") {
		t.Errorf("big: %s", e)
	}
	if e := byFile[filepath.Join(dir, "missing.json")].Runs[0].Error; e != "no such file or directory" {
		t.Errorf("missing: %s", e)
	}
	if h := byFile["i-0good"]; h.Verdict != Pass {
		t.Errorf("the good report: %+v", h)
	}
}

// An error report whose partial verdict is fail is a fail: older reports
// wrote a proven leak in a damaged capture that way.
func TestPartialFail(t *testing.T) {
	dir := t.TempDir()
	r := genReport(host{instance: "i-1", verdict: Error})
	r.PartialVerdict = Fail
	var b bytes.Buffer
	r.WriteJSON(&b)
	os.WriteFile(filepath.Join(dir, "report.json"), b.Bytes(), 0o644)
	f := merge(t, dir)
	if f.Verdict != Fail || f.Hosts[0].Runs[0].Note == "" {
		t.Errorf("%s: %+v", f.Verdict, f.Hosts)
	}
}

func TestHostCap(t *testing.T) {
	dir := t.TempDir()
	for i := range 10 {
		v := Pass
		if i == 9 {
			v = Fail
		}
		writeReport(t, dir, fmt.Sprintf("r%02d/report.json", i), host{instance: fmt.Sprintf("i-%02d", i), verdict: v})
	}
	f := Merge(context.Background(), []string{dir}, Options{Limits: Limits{Hosts: 4}, Workers: 4})
	// Beyond the cap hosts are not listed, but still count: the one
	// failure among them fails the fleet.
	if len(f.Hosts) != 4 || f.HostsOmitted != 6 || f.Totals.Hosts != 10 || f.Verdict != Fail || f.Totals.ByVerdict.Fail != 1 {
		t.Errorf("%d hosts listed, %d omitted, totals %+v, verdict %s", len(f.Hosts), f.HostsOmitted, f.Totals, f.Verdict)
	}
	// The listed ones are the first found, whichever worker was faster.
	for i, h := range f.Hosts {
		if want := fmt.Sprintf("i-%02d", i); h.Host != want {
			t.Errorf("host %d: %s, want %s", i, h.Host, want)
		}
	}
}

func TestInterrupted(t *testing.T) {
	dir := t.TempDir()
	writeReport(t, dir, "a/report.json", host{instance: "i-1", verdict: Pass})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f := Merge(ctx, []string{dir}, Options{})
	if !f.Interrupted || f.Verdict == Pass {
		t.Errorf("interrupted %v verdict %s", f.Interrupted, f.Verdict)
	}
}

func TestRenderings(t *testing.T) {
	dir := t.TempDir()
	writeReport(t, dir, "a/report.json", host{instance: "i-0fail", verdict: Fail, violations: 2})
	writeReport(t, dir, "b/report.json", host{instance: "i-0pass", verdict: Pass})
	// A hostile hostname: markup and a terminal escape.
	writeReport(t, dir, "c/report.json", host{hostname: "<script>alert(1)</script>\x1b[2J", verdict: Inconclusive})
	os.WriteFile(filepath.Join(dir, "d-report.json"), []byte("nope"), 0o644)
	f := merge(t, dir, filepath.Join(dir, "d-report.json"))

	var txt bytes.Buffer
	if err := f.WriteText(&txt, false); err != nil {
		t.Fatal(err)
	}
	s := txt.String()
	for _, want := range []string{
		"FAIL: 1 of 4 hosts sent S3 traffic to a public address (2 violations); 2 inconclusive, 1 pass; 1 report could not be read\n",
		"\nHosts: 4 (fail 1, error 0, inconclusive 2, pass 1), from 4 reports (1 unreadable)\n",
		"\ni-0fail ", "  violation: 10.0.1.25:40001 -> 52.219.64.10:443 my-bucket.s3.ap-south-1.amazonaws.com 1.8 kB public-aws ap-south-1 52.219.64.0/22 at 2026-11-22T05:34:04Z\n",
		"<script>alert(1)</script>?[2J", "  the reason of inconclusive\n",
		"  unreadable report: not JSON at byte offset 1: invalid character 'o' in literal null (expecting 'u')\n",
		"\n1 host passed (--all lists them).\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("text lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "i-0pass") || strings.Contains(s, "\x1b") {
		t.Errorf("text lists a host that passed, or an escape:\n%s", s)
	}
	txt.Reset()
	f.WriteText(&txt, true)
	if !strings.Contains(txt.String(), "\ni-0pass ") || strings.Contains(txt.String(), "--all lists") {
		t.Errorf("--all:\n%s", txt.String())
	}

	var js bytes.Buffer
	if err := f.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Fleet
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatalf("JSON does not parse: %v\n%s", err, js.String())
	}
	if back.Schema != Schema || back.Verdict != Fail || back.Totals != f.Totals || len(back.Hosts) != 4 || back.Hosts[0].Host != "i-0fail" ||
		len(back.Hosts[0].TopViolations) != 2 || len(back.Unreadable) != 1 {
		t.Errorf("JSON round trip: %+v", back)
	}
	// The same bytes json.MarshalIndent gives for the whole value.
	want, _ := json.MarshalIndent(f, "", "  ")
	if js.String() != string(want)+"\n" {
		t.Errorf("streamed JSON differs from MarshalIndent:\n%s\nwant\n%s", js.String(), want)
	}

	var h bytes.Buffer
	if err := f.WriteHTML(&h); err != nil {
		t.Fatal(err)
	}
	page := h.String()
	for _, want := range []string{`<h1>FAIL</h1>`, `<td class="w-fail">fail</td>`, "i-0fail", "i-0pass", "&lt;script&gt;alert(1)&lt;/script&gt;?[2J",
		"10.0.1.25:40001 -&gt; 52.219.64.10:443", "not JSON at byte offset 1"} {
		if !strings.Contains(page, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	for _, bad := range []string{"<script", "http://", "https://", "src=", "@import", "url("} {
		if strings.Contains(page, bad) {
			t.Errorf("HTML holds %q: not self-contained", bad)
		}
	}
}
