package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fleetJSON is the part of report merge's JSON the tests look at, decoded
// independently of the fleet package's types.
type fleetJSON struct {
	Schema  string `json:"schema"`
	Verdict string `json:"verdict"`
	Reason  string `json:"reason"`
	Totals  struct {
		Hosts      int            `json:"hosts"`
		ByVerdict  map[string]int `json:"by_verdict"`
		Reports    int            `json:"reports"`
		Unreadable int            `json:"unreadable"`
		Duplicates int            `json:"duplicate_hosts"`
		Violations int            `json:"violations"`
	} `json:"totals"`
	Unreadable []string `json:"unreadable"`
	Hosts      []struct {
		Host          string `json:"host"`
		IdentifiedBy  string `json:"identified_by"`
		Verdict       string `json:"verdict"`
		Time          string `json:"time"`
		Violations    int    `json:"violations"`
		TopViolations []struct {
			Client, Server string
			Bytes          uint64 `json:"bytes"`
		} `json:"top_violations"`
		Runs []struct {
			File    string `json:"file"`
			Verdict string `json:"verdict"`
		} `json:"runs"`
	} `json:"hosts"`
}

var verdictOfCode = map[int]string{0: "pass", 1: "fail", 2: "error", 3: "inconclusive"}

// analyzeInto runs analyze on a real capture and keeps its JSON report as
// dir/NAME/report.json, as an evidence bundle holds it; it returns the
// report's verdict (from analyze's exit code) and the decoded report.
func analyzeInto(t *testing.T, dir, capture string) (string, map[string]any) {
	t.Helper()
	out := filepath.Join(dir, strings.TrimSuffix(capture, filepath.Ext(capture)), "report.json")
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	r := runCmd(t, nil, "analyze", "--endpoint-ip", "10.0.2.50", "--endpoint-ip", "fd00:10:0:2::50", "--format", "json", "-o", out, td(t, "real", capture))
	v, ok := verdictOfCode[r.code]
	if !ok {
		t.Fatalf("analyze %s: exit %d: %s", capture, r.code, r.stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep map[string]any
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep["verdict"] != v {
		t.Fatalf("%s: exit %d but verdict %v", capture, r.code, rep["verdict"])
	}
	return v, rep
}

func mergeJSON(t *testing.T, args ...string) (fleetJSON, result) {
	t.Helper()
	r := runCmd(t, nil, append([]string{"report", "merge", "--format", "json"}, args...)...)
	var f fleetJSON
	if err := json.Unmarshal([]byte(r.stdout), &f); err != nil {
		t.Fatalf("report merge: not JSON (%v): %s\n%s", err, r.stdout, r.stderr)
	}
	return f, r
}

// The repository's real captures, analysed one by one, then merged: each
// capture is a host (analyze's reports are named by file), its verdict
// the one analyze gave; the fleet's is the worst, with analyze's exit
// codes.
func TestReportMergeRealCaptures(t *testing.T) {
	dir := t.TempDir()
	captures, _ := filepath.Glob(td(t, "real", "*.pcap*"))
	if len(captures) < 5 {
		t.Fatalf("only %d real captures", len(captures))
	}
	want := map[string]string{} // report file -> verdict
	count := map[string]int{}
	var passDirs, inconclusiveDirs []string
	violations := 0
	for _, c := range captures {
		v, rep := analyzeInto(t, dir, filepath.Base(c))
		file := filepath.Join(dir, strings.TrimSuffix(filepath.Base(c), filepath.Ext(c)), "report.json")
		want[file] = v
		count[v]++
		violations += len(rep["violations"].([]any)) + int(rep["violations_omitted"].(float64))
		switch v {
		case "pass":
			passDirs = append(passDirs, filepath.Dir(file))
		case "inconclusive":
			inconclusiveDirs = append(inconclusiveDirs, filepath.Dir(file))
		}
	}
	if count["fail"] == 0 || len(passDirs) == 0 || len(inconclusiveDirs) == 0 {
		t.Fatalf("the real captures should give every verdict: %v", count)
	}

	f, r := mergeJSON(t, dir)
	if r.code != exitFail || f.Verdict != "fail" || r.stderr != "" {
		t.Errorf("exit %d, verdict %s, stderr %q", r.code, f.Verdict, r.stderr)
	}
	if f.Totals.Hosts != len(captures) || f.Totals.Reports != len(captures) || f.Totals.Violations != violations {
		t.Errorf("totals %+v, want %d hosts, %d violations", f.Totals, len(captures), violations)
	}
	for v, n := range count {
		if f.Totals.ByVerdict[v] != n {
			t.Errorf("%d hosts %s, want %d", f.Totals.ByVerdict[v], v, n)
		}
	}
	for _, h := range f.Hosts {
		if h.IdentifiedBy != "file" || want[h.Host] != h.Verdict {
			t.Errorf("host %s by %s: %s, analyze said %s", h.Host, h.IdentifiedBy, h.Verdict, want[h.Host])
		}
	}
	if f.Hosts[0].Verdict != "fail" || f.Hosts[len(f.Hosts)-1].Verdict != "pass" {
		t.Errorf("hosts not worst first: %s ... %s", f.Hosts[0].Verdict, f.Hosts[len(f.Hosts)-1].Verdict)
	}

	// Only passes: pass. Passes and inconclusives: inconclusive.
	if r := runCmd(t, nil, append([]string{"report", "merge"}, passDirs...)...); r.code != exitPass || !strings.HasPrefix(r.stdout, "PASS: all ") {
		t.Errorf("passes: exit %d\n%s", r.code, r.stdout)
	}
	if r := runCmd(t, nil, append([]string{"report", "merge", passDirs[0]}, inconclusiveDirs...)...); r.code != exitInconclusive || !strings.HasPrefix(r.stdout, "INCONCLUSIVE: no host failed") {
		t.Errorf("passes and inconclusives: exit %d\n%s", r.code, r.stdout)
	}
	// A damaged report among passes: inconclusive, the file named.
	bad := filepath.Join(dir, "damaged", "report.json")
	os.MkdirAll(filepath.Dir(bad), 0o755)
	b, _ := os.ReadFile(filepath.Join(passDirs[0], "report.json"))
	os.WriteFile(bad, b[:len(b)-10], 0o644)
	r = runCmd(t, nil, append([]string{"report", "merge", filepath.Dir(bad)}, passDirs...)...)
	if r.code != exitInconclusive || r.stderr != "vpce-verify: error: "+bad+": not a whole JSON document: it ends at byte "+itoa(len(b)-10)+" (truncated?)\n" {
		t.Errorf("damaged: exit %d, stderr %q", r.code, r.stderr)
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// Reports of live captures name their host by the instance ID in their
// provenance: two runs on one instance are one host with both runs, whose
// verdict is the worse.
func TestReportMergeSameInstance(t *testing.T) {
	dir := t.TempDir()
	for i, c := range []string{"endpoint-pass.pcap", "public-fail.pcap"} {
		_, rep := analyzeInto(t, dir, c)
		// What verify on that instance would have written: a live
		// capture, and the instance from IMDS.
		rep["capture"] = map[string]any{"interfaces": []string{"ens5"}, "started": "2026-11-22T05:34:00Z"}
		prov := rep["provenance"].(map[string]any)
		prov["host"] = map[string]any{"hostname": "ip-10-0-1-25", "ec2": map[string]any{"instance_id": "i-0123456789abcdef0", "account_id": "123456789012", "region": "ap-south-1"}}
		b, _ := json.Marshal(rep)
		p := filepath.Join(dir, "s3", "cmd-"+itoa(i), "i-0123456789abcdef0", "vpce-verify", "report.json")
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, r := mergeJSON(t, filepath.Join(dir, "s3"))
	if r.code != exitFail || len(f.Hosts) != 1 || f.Totals.Duplicates != 1 {
		t.Fatalf("exit %d, %+v", r.code, f)
	}
	h := f.Hosts[0]
	if h.Host != "i-0123456789abcdef0" || h.IdentifiedBy != "instance-id" || h.Verdict != "fail" || len(h.Runs) != 2 ||
		h.Violations != 1 || len(h.TopViolations) != 1 || h.TopViolations[0].Server != "52.219.64.10:443" {
		t.Errorf("host %+v", h)
	}
	verdicts := h.Runs[0].Verdict + " " + h.Runs[1].Verdict
	if verdicts != "pass fail" {
		t.Errorf("runs %s, want pass then fail (capture time order)", verdicts)
	}
}

func TestReportMergeUsage(t *testing.T) {
	for _, tt := range []struct {
		args []string
		err  string
	}{
		{[]string{"report"}, "vpce-verify: error: report: no subcommand: want merge\n"},
		{[]string{"report", "join"}, "vpce-verify: error: report: unknown subcommand \"join\": want merge\n"},
		{[]string{"report", "merge"}, "vpce-verify: error: report merge: no report or folder given\n"},
		{[]string{"report", "merge", "--format", "xml", "x"}, "vpce-verify: error: report merge: --format \"xml\": want text, json or html\n"},
		{[]string{"report", "merge", "--top", "0", "x"}, "vpce-verify: error: report merge: --top 0: want 1 to 1000\n"},
	} {
		r := runCmd(t, nil, tt.args...)
		if r.code != exitError || !strings.HasPrefix(r.stderr, tt.err) {
			t.Errorf("%v: exit %d, stderr %q", tt.args, r.code, r.stderr)
		}
	}
}

// Evidence bundles (--evidence DIR) are what the SSM document leaves: a
// folder of them is merged as it is, each bundle's report.json read.
func TestReportMergeEvidenceBundles(t *testing.T) {
	dir := t.TempDir()
	want := map[string]string{}
	for _, c := range []string{"endpoint-pass.pcap", "public-fail.pcap", "refused-endpoint.pcap"} {
		b := filepath.Join(dir, "bundles", strings.TrimSuffix(c, ".pcap"))
		r := runCmd(t, nil, "analyze", "--endpoint-ip", "10.0.2.50", "--evidence", b, td(t, "real", c))
		want[filepath.Join(b, "report.json")] = verdictOfCode[r.code]
	}
	f, r := mergeJSON(t, filepath.Join(dir, "bundles"))
	if r.code != exitFail || f.Totals.Hosts != 3 || f.Totals.Reports != 3 || f.Totals.Unreadable != 0 {
		t.Fatalf("exit %d, totals %+v\n%s", r.code, f.Totals, r.stderr)
	}
	for _, h := range f.Hosts {
		if want[h.Host] == "" || want[h.Host] != h.Verdict {
			t.Errorf("%s: %s, analyze said %q", h.Host, h.Verdict, want[h.Host])
		}
	}
	if f.Hosts[0].Verdict != "fail" || f.Hosts[1].Verdict != "inconclusive" || f.Hosts[2].Verdict != "pass" {
		t.Errorf("order: %s %s %s", f.Hosts[0].Verdict, f.Hosts[1].Verdict, f.Hosts[2].Verdict)
	}
}

// TestReportMergeHTML opens the fleet page in headless Chromium: the DOM
// holds the verdict, every host and the failing host's violation, and the
// page asks for nothing over the network.
func TestReportMergeHTML(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []string{"endpoint-pass.pcap", "public-fail.pcap", "refused-endpoint.pcap"} {
		analyzeInto(t, dir, c)
	}
	page := filepath.Join(dir, "fleet.html")
	if r := runCmd(t, nil, "report", "merge", "--format", "html", "-o", page, dir); r.code != exitFail || r.stdout != "" {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	dom, asked := chromium(t, dir, "file://"+page, "--dump-dom")
	for _, want := range []string{`<h1>FAIL</h1>`, "1 of 3 hosts sent S3 traffic to a public address",
		filepath.Join(dir, "endpoint-pass", "report.json"), filepath.Join(dir, "refused-endpoint", "report.json"),
		"10.0.1.25:42002 -&gt; 52.219.64.10:443 s3.ap-south-1.amazonaws.com 2.5 kB public-aws ap-south-1 52.219.64.0/22"} {
		if !strings.Contains(string(dom), want) {
			t.Errorf("the DOM lacks %q", want)
		}
	}
	if len(asked) > 0 {
		t.Errorf("the page asked for %q", asked)
	}
}
