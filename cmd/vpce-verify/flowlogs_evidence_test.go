package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vpce-verify/vpce-verify/internal/testenv"
)

// flowlogsBundle is the part of a flowlogs bundle's report.json the tests
// look at, decoded independently of the flowlogs package's types.
type flowlogsBundle struct {
	Schema         string `json:"schema"`
	Verdict        string `json:"verdict"`
	PartialVerdict string `json:"partial_verdict"`
	IPRanges       struct {
		SHA256 string `json:"sha256"`
	} `json:"ip_ranges"`
	Provenance struct {
		CommandLine []string `json:"command_line"`
		EndpointIPs []string `json:"endpoint_ips"`
		Policy      string   `json:"policy"`
		GroupBy     string   `json:"group_by"`
		Since       string   `json:"since"`
		Until       string   `json:"until"`
		Files       []struct {
			Role string `json:"role"`
		} `json:"files"`
	} `json:"provenance"`
	Bundle *struct {
		Records        string `json:"records_file"`
		RecordsKept    int    `json:"records_kept"`
		RecordsOmitted int    `json:"records_omitted"`
		Reanalysis     string `json:"reanalysis_verdict"`
		ReanalysisNote string `json:"reanalysis_note"`
	} `json:"evidence_bundle"`
}

func readFlowlogsBundle(t *testing.T, dir string) flowlogsBundle {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r flowlogsBundle
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	if r.Bundle == nil {
		t.Fatalf("report.json has no evidence_bundle:\n%s", data)
	}
	return r
}

// gunzipLines reads a gzip text file with the standard library's reader.
func gunzipLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

func gzipLines(t *testing.T, path string, lines []string) {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(strings.Join(lines, "\n") + "\n"))
	zw.Close()
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// flowlogsSums writes SHA256SUMS again with sha256sum, as a forger would.
func flowlogsSums(t *testing.T, b string) {
	t.Helper()
	cmd := exec.Command("sh", "-c", "sha256sum report.json report.txt records.log.gz inputs/* > SHA256SUMS")
	cmd.Dir = b
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sha256sum: %v\n%s", err, out)
	}
}

// The header line of records.log.gz: every field of versions 2 to 5, in
// the order of AWS's field table.
const keptHeader = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status " +
	"vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id sublocation-type sublocation-id " +
	"pkt-src-aws-service pkt-dst-aws-service flow-direction traffic-path"

// TestFlowlogsEvidenceBundle: the auditor's commands on the README's
// bundle: flowlogs --evidence --sign-key of the S3 delivery folder in
// testdata (a FAIL) prints what it prints without --evidence, and leaves a
// folder that sha256sum -c, ssh-keygen -Y verify and vpce-verify evidence
// check accept; an edited record or verdict is found.
func TestFlowlogsEvidenceBundle(t *testing.T) {
	dir := t.TempDir()
	key, allowed := sshKey(t, dir, "key", "auditor@example.com")
	out := filepath.Join(dir, "out")
	logs := td(t, "flowlogs", "AWSLogs")
	plain := runCmd(t, nil, "flowlogs", "--endpoint-ip", "10.0.2.50", logs)
	res := runCmd(t, nil, "flowlogs", "--endpoint-ip", "10.0.2.50", "--evidence", out, "--sign-key", key, logs)
	if res.code != exitFail || plain.code != exitFail || res.stdout != plain.stdout {
		t.Fatalf("with --evidence: exit %d\n%s\nwithout: exit %d\n%s", res.code, res.stdout, plain.code, plain.stdout)
	}
	if want := "vpce-verify: evidence bundle in " + out + ": 4 S3 and SKIPDATA records kept, 0 not; analysed again: FAIL\n"; !strings.HasSuffix(res.stderr, want) {
		t.Errorf("stderr %q, want it to end in %q", res.stderr, want)
	}
	for _, name := range []string{"report.json", "report.txt", "records.log.gz", "inputs/ip-ranges.json", "SHA256SUMS", "SHA256SUMS.sig"} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Errorf("the bundle has no %s: %v", name, err)
		}
	}

	t.Run("records.log.gz", func(t *testing.T) {
		// The four records to or from S3 of the two files, in the order
		// of the files, each with every field the files carry; the SSH
		// and NODATA records are not kept.
		want := []string{
			keptHeader,
			"5 123456789010 eni-0bbb 10.0.1.20 52.219.64.10 40003 443 6 30 9000 1782813600 1782813660 ACCEPT OK - subnet-b i-0bbb - - 10.0.1.20 52.219.64.10 - - - - - S3 - 8",
			"5 123456789010 eni-0aaa 10.0.1.10 10.0.2.50 40001 443 6 120 150000 1782900000 1782900060 ACCEPT OK - subnet-a i-0aaa - - 10.0.1.10 10.0.2.50 - - - - - - - 1",
			"5 123456789010 eni-0aaa 10.0.2.50 10.0.1.10 443 40001 6 200 2500000 1782900000 1782900060 ACCEPT OK - subnet-a i-0aaa - - 10.0.2.50 10.0.1.10 - - - - - - - -",
			"5 123456789010 eni-0bbb 10.0.1.20 10.0.2.50 40004 443 6 10 3000 1782900060 1782900120 ACCEPT OK - subnet-b i-0bbb - - 10.0.1.20 10.0.2.50 - - - - - - - 1",
		}
		if got := gunzipLines(t, filepath.Join(out, "records.log.gz")); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("records.log.gz:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		// flowlogs reads the file as any other flow log file.
		again := runCmd(t, nil, "flowlogs", "--endpoint-ip", "10.0.2.50", filepath.Join(out, "records.log.gz"))
		if again.code != exitFail || !strings.HasPrefix(again.stdout, "FAIL: 1 ENI of 2 sent S3 traffic on a public path (9.0 kB in 1 record) to 52.219.64.10:443") {
			t.Errorf("flowlogs records.log.gz: exit %d\n%s%s", again.code, again.stdout, again.stderr)
		}
	})

	t.Run("report.json", func(t *testing.T) {
		r := readFlowlogsBundle(t, out)
		p := r.Provenance
		if r.Schema != "vpce-verify/flowlogs/v1" || r.Verdict != "fail" || p.Policy != "interface-endpoint" || p.GroupBy != "eni" ||
			strings.Join(p.EndpointIPs, ",") != "10.0.2.50" || p.Since != "" || len(p.Files) != 1 || p.Files[0].Role != "ip-ranges" ||
			!strings.Contains(strings.Join(p.CommandLine, " "), "flowlogs --endpoint-ip 10.0.2.50 --evidence") {
			t.Errorf("report.json: %+v", r)
		}
		if b := r.Bundle; b.Records != "records.log.gz" || b.RecordsKept != 4 || b.RecordsOmitted != 0 || b.Reanalysis != "fail" || b.ReanalysisNote != "" {
			t.Errorf("evidence_bundle: %+v", *b)
		}
		txt, _ := os.ReadFile(filepath.Join(out, "report.txt"))
		if !strings.HasPrefix(string(txt), plain.stdout) ||
			!strings.HasSuffix(string(txt), "\nEvidence bundle: records.log.gz holds 4 S3 or SKIPDATA records the verdict rests on; analysed again they give FAIL. Check it with vpce-verify evidence check DIR.\n") {
			t.Errorf("report.txt:\n%s", txt)
		}
		// The copy of ip-ranges.json is the one the report names.
		cmd := exec.Command(testenv.Tool(t, "sha256sum"), filepath.Join(out, "inputs", "ip-ranges.json"))
		sum, err := cmd.Output()
		if err != nil || !strings.HasPrefix(string(sum), r.IPRanges.SHA256+" ") {
			t.Errorf("sha256sum inputs/ip-ranges.json: %v %s, the report says %s", err, sum, r.IPRanges.SHA256)
		}
	})

	auditorChecks(t, out, allowed, "report.json: OK", "report.txt: OK", "records.log.gz: OK", "inputs/ip-ranges.json: OK")

	t.Run("evidence check intact", func(t *testing.T) {
		res := runCmd(t, nil, "evidence", "check", out, "--allowed-signers", allowed, "--identity", "auditor@example.com")
		if res.code != exitPass || !strings.HasSuffix(res.stdout, "the evidence holds\n") ||
			!strings.Contains(res.stdout, "ok     verdict: records.log.gz analysed again gives FAIL, as report.json says\n") ||
			!strings.Contains(res.stdout, "ok     SHA256SUMS.sig: signed by auditor@example.com") ||
			!strings.Contains(res.stdout, "ok     records.log.gz: sha256 matches SHA256SUMS\n") {
			t.Fatalf("exit %d\n%s%s", res.code, res.stdout, res.stderr)
		}
	})

	// editRecord sends the leak to the endpoint instead, as someone hiding
	// it would.
	editRecord := func(t *testing.T, b string) {
		t.Helper()
		path := filepath.Join(b, "records.log.gz")
		lines := gunzipLines(t, path)
		edited := strings.Replace(lines[1], "52.219.64.10 40003 443", "10.0.2.50 40003 443", 1)
		edited = strings.Replace(edited, "10.0.1.20 52.219.64.10", "10.0.1.20 10.0.2.50", 1)
		if edited == lines[1] {
			t.Fatalf("no leak to edit in %q", lines[1])
		}
		lines[1] = edited
		gzipLines(t, path, lines)
	}
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, b string)
		want   []string
	}{
		{"a kept record edited", editRecord, []string{"FAILED records.log.gz: altered: sha256 ",
			"FAILED verdict: records.log.gz analysed again gives PASS (all S3 traffic of 2 ENIs", "but report.json says FAIL"}},
		{"a kept record edited, the sums made again", func(t *testing.T, b string) {
			editRecord(t, b)
			flowlogsSums(t, b)
		}, []string{"ok     records.log.gz: sha256 matches", "FAILED SHA256SUMS.sig: does not verify SHA256SUMS",
			"FAILED verdict: records.log.gz analysed again gives PASS"}},
		{"the verdict edited", editVerdict, []string{"FAILED report.json: altered: sha256 ",
			"FAILED verdict: records.log.gz analysed again gives FAIL (1 ENI of 2 sent S3 traffic", "but report.json says PASS"}},
		{"the verdict edited, the sums made again", func(t *testing.T, b string) {
			editVerdict(t, b)
			flowlogsSums(t, b)
		}, []string{"ok     report.json: sha256 matches", "FAILED SHA256SUMS.sig: does not verify SHA256SUMS",
			"FAILED verdict: records.log.gz analysed again gives FAIL"}},
		{"the records removed", func(t *testing.T, b string) { os.Remove(filepath.Join(b, "records.log.gz")) },
			[]string{"FAILED records.log.gz: missing", "FAILED verdict: records.log.gz cannot be analysed again: "}},
		{"a record made unreadable", func(t *testing.T, b string) {
			path := filepath.Join(b, "records.log.gz")
			lines := gunzipLines(t, path)
			gzipLines(t, path, append(lines, "5 123456789010 eni-0bbb"))
			flowlogsSums(t, b)
		}, []string{"FAILED verdict: records.log.gz cannot be analysed again: records.log.gz: line 6: 3 fields, the header line names 29"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := copyDir(t, out)
			tc.tamper(t, b)
			res := runCmd(t, nil, "evidence", "check", b, "--allowed-signers", allowed, "--identity", "auditor@example.com")
			if res.code != exitFail || !strings.Contains(res.stdout, "the evidence does not hold") {
				t.Errorf("exit %d, want %d\n%s%s", res.code, exitFail, res.stdout, res.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(res.stdout, w) {
					t.Errorf("no %q in\n%s", w, res.stdout)
				}
			}
		})
	}
}

// TestFlowlogsEvidencePass: a PASS bundle (the July records, by --since),
// whose time window is recorded and used again; and a bundle of logs with
// a damaged file: ERROR, whose records kept say PASS, as the bundle notes.
func TestFlowlogsEvidencePass(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "pass")
	res := runCmd(t, nil, "flowlogs", "--endpoint-ip", "10.0.2.50", "--since", "2026-07-01", "--evidence", out, td(t, "flowlogs", "AWSLogs"))
	if res.code != exitPass || !strings.HasPrefix(res.stdout, "PASS: all S3 traffic of 2 ENIs (2.7 MB in 3 records) went to the interface endpoint\n") {
		t.Fatalf("exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	r := readFlowlogsBundle(t, out)
	if r.Provenance.Since != "2026-07-01T00:00:00Z" || r.Bundle.RecordsKept != 3 || r.Bundle.Reanalysis != "pass" {
		t.Errorf("report.json: %+v, %+v", r.Provenance, *r.Bundle)
	}
	if lines := gunzipLines(t, filepath.Join(out, "records.log.gz")); len(lines) != 4 || strings.Contains(strings.Join(lines, "\n"), "52.219.64.10") {
		t.Errorf("records.log.gz: the June leak, outside the window, is not kept:\n%s", strings.Join(lines, "\n"))
	}
	check := runCmd(t, nil, "evidence", "check", out)
	if check.code != exitPass || !strings.Contains(check.stdout, "ok     verdict: records.log.gz analysed again gives PASS, as report.json says\n") {
		t.Errorf("evidence check: exit %d\n%s", check.code, check.stdout)
	}

	// A damaged file: ERROR (partial result PASS) with or without
	// --evidence; the records kept give PASS, and the bundle says why the
	// report is more severe.
	logs := filepath.Join(dir, "logs")
	os.MkdirAll(logs, 0o755)
	ok := "version interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n" +
		"5 eni-0aaa 10.0.1.10 10.0.2.50 40001 443 6 10 1000 1782900000 1782900060 ACCEPT OK\n"
	os.WriteFile(filepath.Join(logs, "a.log"), []byte(ok), 0o644)
	os.WriteFile(filepath.Join(logs, "b.log"), []byte(ok+"5 eni-0aaa 10.0.1.10\n"), 0o644)
	out = filepath.Join(dir, "error")
	plain := runCmd(t, nil, "flowlogs", "--endpoint-ip", "10.0.2.50", logs)
	res = runCmd(t, nil, "flowlogs", "--endpoint-ip", "10.0.2.50", "--evidence", out, logs)
	if res.code != exitError || plain.code != exitError || res.stdout != plain.stdout || !strings.HasPrefix(res.stdout, "ERROR (partial result: PASS): ") {
		t.Fatalf("with --evidence: exit %d\n%s\nwithout: exit %d\n%s", res.code, res.stdout, plain.code, plain.stdout)
	}
	r = readFlowlogsBundle(t, out)
	if r.Verdict != "error" || r.PartialVerdict != "pass" || r.Bundle.RecordsKept != 2 || r.Bundle.Reanalysis != "pass" ||
		!strings.HasPrefix(r.Bundle.ReanalysisNote, "the records kept give PASS (all S3 traffic of 1 ENI") || !strings.HasSuffix(r.Bundle.ReanalysisNote, "; the whole logs ERROR") {
		t.Errorf("report.json: %+v", *r.Bundle)
	}
	check = runCmd(t, nil, "evidence", "check", out)
	if check.code != exitPass || !strings.Contains(check.stdout, "ok     verdict: records.log.gz analysed again gives PASS, as report.json says") {
		t.Errorf("evidence check: exit %d\n%s", check.code, check.stdout)
	}
}

// TestFlowlogsEvidenceBounded: 24,000 S3 records, 20,000 of them leaks to
// 200 destinations: the bundle keeps 10 per ENI and destination, at most
// 1,000 leaks and 1,000 others besides the first of each kind and ENI,
// counts the rest, and still says FAIL analysed again.
func TestFlowlogsEvidenceBounded(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("version interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n")
	for eni := range 4 {
		for i := range 1000 {
			fmt.Fprintf(&b, "5 eni-%d 10.0.1.%d 10.0.2.50 %d 443 6 10 1000 %d %d ACCEPT OK\n", eni, eni+1, 20000+i, 1782900000+i, 1782900060+i)
		}
		for server := range 50 {
			for i := range 100 {
				fmt.Fprintf(&b, "5 eni-%d 10.0.1.%d 52.219.64.%d %d 443 6 10 1000 %d %d ACCEPT OK\n", eni, eni+1, server+1, 30000+i, 1782900000+i, 1782900060+i)
			}
		}
	}
	logs := filepath.Join(dir, "many.log")
	os.WriteFile(logs, []byte(b.String()), 0o644)
	out := filepath.Join(dir, "out")
	res := runCmd(t, nil, "flowlogs", "--endpoint-ip", "10.0.2.50", "--evidence", out, logs)
	if res.code != exitFail {
		t.Fatalf("exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	r := readFlowlogsBundle(t, out)
	// Leaks: the first of each ENI, and 1,000 more; to the endpoint: 10
	// of each ENI (the first, and 9 more).
	const kept = 4 + 1000 + 4*10
	if r.Bundle.RecordsKept != kept || r.Bundle.RecordsOmitted != 24000-kept || r.Bundle.Reanalysis != "fail" {
		t.Errorf("evidence_bundle: %+v, want %d kept", *r.Bundle, kept)
	}
	lines := gunzipLines(t, filepath.Join(out, "records.log.gz"))
	perDest := map[string]int{}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		perDest[f[2]+" "+f[4]]++
	}
	for k, n := range perDest {
		if n > 10 {
			t.Errorf("%d records of %s kept, want at most 10", n, k)
		}
	}
	st, _ := os.Stat(filepath.Join(out, "records.log.gz"))
	if len(lines) != kept+1 || st.Size() > 64<<10 {
		t.Errorf("records.log.gz: %d lines, %d bytes", len(lines), st.Size())
	}
	if check := runCmd(t, nil, "evidence", "check", out); check.code != exitPass {
		t.Errorf("evidence check: exit %d\n%s", check.code, check.stdout)
	}
}

// TestFlowlogsEvidenceCannotWrite: a bundle that cannot be written is an
// error, and what was begun is removed; the verdict printed is the same,
// and a leak is still a fail.
func TestFlowlogsEvidenceCannotWrite(t *testing.T) {
	t.Cleanup(func() { writeBundleFile = os.WriteFile })
	writeBundleFile = func(name string, data []byte, perm os.FileMode) error {
		if filepath.Base(name) == "report.json" {
			return &os.PathError{Op: "write", Path: name, Err: errors.New("no space left on device")}
		}
		return os.WriteFile(name, data, perm)
	}
	dir := t.TempDir()
	logs := td(t, "flowlogs", "AWSLogs")
	out := filepath.Join(dir, "new")
	res := runCmd(t, nil, "flowlogs", "--endpoint-ip", "10.0.2.50", "--since", "2026-07-01", "--evidence", out, logs)
	if res.code != exitError || !strings.HasPrefix(res.stdout, "PASS: ") ||
		!strings.Contains(res.stderr, "vpce-verify: error: flowlogs: --evidence: write "+filepath.Join(out, "report.json")+": no space left on device\n") {
		t.Errorf("a pass whose bundle failed: exit %d, want %d\n%s%s", res.code, exitError, res.stdout, res.stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("the folder made for the bundle is still there: %v", err)
	}
	// A folder that was there (empty) stays, emptied again.
	out = filepath.Join(dir, "empty")
	os.Mkdir(out, 0o755)
	res = runCmd(t, nil, "flowlogs", "--endpoint-ip", "10.0.2.50", "--evidence", out, logs)
	if res.code != exitFail || !strings.HasPrefix(res.stdout, "FAIL: ") || !strings.Contains(res.stderr, "--evidence: write ") {
		t.Errorf("a fail whose bundle failed: exit %d, want %d\n%s%s", res.code, exitFail, res.stdout, res.stderr)
	}
	if ents, err := os.ReadDir(out); err != nil || len(ents) != 0 {
		t.Errorf("the folder given: %v %v", ents, err)
	}
}
