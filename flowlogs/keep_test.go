package flowlogs_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/vpce-verify/vpce-verify/flowlogs"
	"github.com/vpce-verify/vpce-verify/flowlogs/flowlogstest"
	"github.com/vpce-verify/vpce-verify/resolve/ipranges"
)

// keepAll reads the files with Config.Keep and returns the analysis.
func keepAll(t *testing.T, cfg flowlogs.Config, lim flowlogs.KeepLimits, workers int, paths ...string) (*flowlogs.Analyzer, *flowlogs.Report) {
	t.Helper()
	cfg.Keep = &lim
	a, inputs := flowlogs.ReadAll(context.Background(), paths, nil, cfg, workers, nil)
	return a, a.Report(inputs, flowlogs.Meta{Ranges: ipranges.Embedded(), Now: time.Unix(flowlogstest.T0, 0)})
}

// kept writes what a kept and reads it back as an evidence check does:
// the lines written, and the report of those records alone.
func kept(t *testing.T, cfg flowlogs.Config, a *flowlogs.Analyzer) ([]string, *flowlogs.Report) {
	t.Helper()
	var b bytes.Buffer
	if err := a.WriteKept(&b); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "records.log")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	again := flowlogs.NewAnalyzer(cfg)
	in := flowlogs.ReadFile(p, nil, again.Add)
	if !in.Complete {
		t.Fatalf("the records kept do not read back: %+v", in)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	return lines, again.Report([]flowlogs.Input{in}, flowlogs.Meta{Ranges: ipranges.Embedded(), Now: time.Unix(flowlogstest.T0, 0)})
}

// TestKeptRecords: from text, Parquet and CloudWatch JSON alike, the
// records kept are the S3 ones (every path, rejected too) and SKIPDATA,
// each written with every field it was read with; read back, they give
// the same verdict for the run and for each group.
func TestKeptRecords(t *testing.T) {
	dir := t.TempDir()
	recs := flowlogstest.Records()
	// The records of the scenario that are S3 or SKIPDATA: all but the
	// SSH record, HTTPS to 198.51.100.7 and the NODATA record.
	var want []flowlogstest.Rec
	for _, r := range recs {
		if r["dstport"] == "22" || r["dstaddr"] == "198.51.100.7" || r["log-status"] == "NODATA" {
			continue
		}
		want = append(want, r)
	}
	if len(want) != 15 {
		t.Fatalf("%d records to keep, want 15", len(want))
	}
	// fields writes the records as KeptHeader's format says: every field,
	// "-" for those the file's format does not carry.
	fields := func(rs []flowlogstest.Rec, has []string) []string {
		var b strings.Builder
		var cut []flowlogstest.Rec
		for _, r := range rs {
			c := flowlogstest.Rec{}
			for _, f := range has {
				c[f] = r[f]
			}
			cut = append(cut, c)
		}
		if err := flowlogstest.Text(&b, flowlogstest.Names, true, cut); err != nil {
			t.Fatal(err)
		}
		return strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	}
	for _, tc := range []struct {
		name string
		file string
		want []string
	}{
		{"custom text", write(t, dir, "custom.log", textOf(flowlogstest.CustomFormat, true, recs)), fields(want, flowlogstest.CustomFormat)},
		{"parquet", write(t, dir, "all.parquet", parquetOf(recs, 5)), fields(want, flowlogstest.Names)},
		{"cloudwatch", write(t, dir, "events.json", func(b *bytes.Buffer) error { return flowlogstest.CloudWatch(b, recs) }), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, r := keepAll(t, config(), flowlogs.DefaultKeep, 1, tc.file)
			lines, again := kept(t, config(), a)
			if lines[0] != flowlogs.KeptHeader || lines[0] != strings.Join(flowlogstest.Names, " ") {
				t.Errorf("header %q, want the fields of versions 2 to 5 in AWS's order", lines[0])
			}
			if tc.want != nil && strings.Join(lines, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("records kept:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(tc.want, "\n"))
			}
			if n, omitted := a.Kept(); int(n) != len(lines)-1 || omitted != 0 {
				t.Errorf("Kept: %d, %d omitted; %d lines written", n, omitted, len(lines)-1)
			}
			if again.Verdict != r.Verdict || !maps.Equal(verdicts(again), verdicts(r)) {
				t.Errorf("read back: %s %v, the whole file: %s %v", again.Verdict, verdicts(again), r.Verdict, verdicts(r))
			}
		})
	}
}

// logLines writes n records of one group and destination each, text in
// the default format.
func logLines(b *strings.Builder, eni, src, dst string, n int, action, status string) {
	for i := range n {
		fmt.Fprintf(b, "2 123456789010 %s %s %s %d 443 6 10 1000 %d %d %s %s\n", eni, src, dst, 30000+i, flowlogstest.T0+i, flowlogstest.T0+i+60, action, status)
	}
}

// TestKeptBounded: past the bounds the records are counted, not kept: at
// most PerDestination per group, server and path, and Leaks (or Records)
// in all besides the first of each kind; the verdict read back is still
// the verdict.
func TestKeptBounded(t *testing.T) {
	var b strings.Builder
	logLines(&b, "eni-a", "10.0.1.10", flowlogstest.EndpointIPv4, 1500, "ACCEPT", "OK")
	for i := 1; i <= 100; i++ {
		logLines(&b, "eni-b", "10.0.1.20", fmt.Sprintf("52.219.64.%d", i), 5, "ACCEPT", "OK")
	}
	logLines(&b, "eni-c", "10.0.1.30", "10.0.9.9", 3000, "ACCEPT", "OK") // not S3: never kept
	p := filepath.Join(t.TempDir(), "many.log")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name          string
		lim           flowlogs.KeepLimits
		kept, omitted uint64
	}{
		// eni-a: 10 to its one destination; eni-b: 5 to each of 100.
		{"default", flowlogs.DefaultKeep, 10 + 500, 1490},
		// eni-b: its first leak, and 100 more.
		{"leaks bounded", flowlogs.KeepLimits{Leaks: 100}, 10 + 1 + 100, 2000 - 111},
		// eni-a: its first record (the first of its kind) and 1 more;
		// eni-b: its first and 1 more, to the first server.
		{"1 more in all", flowlogs.KeepLimits{Records: 1, Leaks: 1}, 2 + 2, 2000 - 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, r := keepAll(t, config(), tc.lim, 1, p)
			if n, omitted := a.Kept(); n != tc.kept || omitted != tc.omitted {
				t.Errorf("kept %d, %d omitted; want %d, %d", n, omitted, tc.kept, tc.omitted)
			}
			lines, again := kept(t, config(), a)
			if uint64(len(lines)-1) != tc.kept {
				t.Errorf("%d lines written, want %d", len(lines)-1, tc.kept)
			}
			if r.Verdict != flowlogs.Fail || again.Verdict != r.Verdict || !maps.Equal(verdicts(again), verdicts(r)) {
				t.Errorf("read back: %s %v, the whole file: %s %v", again.Verdict, verdicts(again), r.Verdict, verdicts(r))
			}
		})
	}
}

// TestKeptPassEveryGroup: a pass is read back as a pass when each group
// keeps one record of the traffic the policy allows: the first of each
// group is kept for the first Groups groups, whatever Records says. Past
// Groups, the run's verdict still holds (its first record of each kind is
// kept), but groups go missing from the table read back.
func TestKeptPassEveryGroup(t *testing.T) {
	var b strings.Builder
	for i := range 300 {
		logLines(&b, fmt.Sprintf("eni-%03d", i), "10.0.1.10", flowlogstest.EndpointIPv4, 3, "ACCEPT", "OK")
	}
	p := filepath.Join(t.TempDir(), "pass.log")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	a, r := keepAll(t, config(), flowlogs.KeepLimits{Records: 5}, 1, p)
	if n, _ := a.Kept(); n != 300+5 {
		t.Errorf("kept %d, want the first of each of 300 groups and 5 more", n)
	}
	_, again := kept(t, config(), a)
	if r.Verdict != flowlogs.Pass || again.Verdict != flowlogs.Pass || !maps.Equal(verdicts(again), verdicts(r)) {
		t.Errorf("read back: %s, %d groups; the whole file: %s, %d groups", again.Verdict, len(again.Groups), r.Verdict, len(r.Groups))
	}

	a, r = keepAll(t, config(), flowlogs.KeepLimits{Records: 5, Groups: 10}, 1, p)
	if n, _ := a.Kept(); n != 10+5 {
		t.Errorf("kept %d, want the first of each of 10 groups and 5 more", n)
	}
	_, again = kept(t, config(), a)
	if again.Verdict != flowlogs.Pass || len(again.Groups) >= len(r.Groups) {
		t.Errorf("read back: %s, %d groups; the whole file: %s, %d groups", again.Verdict, len(again.Groups), r.Verdict, len(r.Groups))
	}
}

// TestKeptSkipData: SKIPDATA records turn a pass into inconclusive; they
// are kept (up to SkipData), so the records read back say so too.
func TestKeptSkipData(t *testing.T) {
	var b strings.Builder
	logLines(&b, "eni-a", "10.0.1.10", flowlogstest.EndpointIPv4, 3, "ACCEPT", "OK")
	for i := range 25 {
		fmt.Fprintf(&b, "2 123456789010 eni-a - - - - - - - %d %d - SKIPDATA\n", flowlogstest.T0+i, flowlogstest.T0+i+60)
	}
	p := filepath.Join(t.TempDir(), "skip.log")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	a, r := keepAll(t, config(), flowlogs.DefaultKeep, 1, p)
	if n, omitted := a.Kept(); n != 3+10 || omitted != 15 {
		t.Errorf("kept %d, %d omitted; want 3 and 10 SKIPDATA, 15 omitted", n, omitted)
	}
	lines, again := kept(t, config(), a)
	if r.Verdict != flowlogs.Inconclusive || again.Verdict != flowlogs.Inconclusive {
		t.Errorf("read back: %s (%s); the whole file %s", again.Verdict, again.Reason, r.Verdict)
	}
	if want := "2 123456789010 eni-a - - - - - - - 1782900000 1782900060 - SKIPDATA - - - - - - - - - - - - - - -"; lines[4] != want {
		t.Errorf("a SKIPDATA record kept as\n%s\nwant\n%s", lines[4], want)
	}
}

// TestKeptInParallel: below the bounds, the records kept do not depend on
// how many files are read at once: they are written in the order of the
// files and of the records in each.
func TestKeptInParallel(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for i := range 8 {
		var b strings.Builder
		logLines(&b, fmt.Sprintf("eni-%d", i), "10.0.1.10", flowlogstest.EndpointIPv4, 4, "ACCEPT", "OK")
		logLines(&b, fmt.Sprintf("eni-%d", i), "10.0.1.10", "52.219.64.9", 2, "ACCEPT", "OK")
		paths = append(paths, write(t, dir, fmt.Sprintf("f%d.log", i), func(out *bytes.Buffer) error { out.WriteString(b.String()); return nil }))
	}
	var outs []string
	for _, workers := range []int{1, 4} {
		a, _ := keepAll(t, config(), flowlogs.DefaultKeep, workers, paths...)
		var b bytes.Buffer
		if err := a.WriteKept(&b); err != nil {
			t.Fatal(err)
		}
		if n, _ := a.Kept(); n != 8*6 {
			t.Errorf("%d workers: kept %d, want 48", workers, n)
		}
		outs = append(outs, b.String())
	}
	if outs[0] != outs[1] {
		t.Errorf("one worker:\n%s\nfour:\n%s", outs[0], outs[1])
	}
}

// TestKeptOddValues: a Parquet string may hold spaces and control bytes,
// and be long: the record kept stays one line of as many fields, and
// reads back into the same group.
func TestKeptOddValues(t *testing.T) {
	r := flowlogstest.Records()[4] // eni-0bbb's leak
	r["interface-id"] = "eni 0bbb\tx"
	r["instance-id"] = strings.Repeat("i", 300)
	p := write(t, t.TempDir(), "odd.parquet", parquetOf([]flowlogstest.Rec{r}, 1))
	a, whole := keepAll(t, config(), flowlogs.DefaultKeep, 1, p)
	lines, again := kept(t, config(), a)
	f := strings.Fields(lines[1])
	if len(lines) != 2 || len(f) != len(flowlogstest.Names) || f[2] != "eni_0bbb_x" || f[16] != strings.Repeat("i", 256) {
		t.Fatalf("kept:\n%s", strings.Join(lines, "\n"))
	}
	if whole.Verdict != flowlogs.Fail || again.Verdict != flowlogs.Fail || again.Groups[0].Key != "eni_0bbb_x" {
		t.Errorf("read back: %s %v; the file: %s %v", again.Verdict, verdicts(again), whole.Verdict, verdicts(whole))
	}
}

// numericIDRow is a Parquet row whose account ID column holds numbers, as
// a writer other than the S3 delivery may store it.
type numericIDRow struct {
	Version     *int32  `parquet:"version,optional"`
	AccountID   *int64  `parquet:"account_id,optional"`
	InterfaceID *string `parquet:"interface_id,optional"`
	SrcAddr     *string `parquet:"srcaddr,optional"`
	DstAddr     *string `parquet:"dstaddr,optional"`
	SrcPort     *int32  `parquet:"srcport,optional"`
	DstPort     *int32  `parquet:"dstport,optional"`
	Protocol    *int64  `parquet:"protocol,optional"`
	Packets     *int64  `parquet:"packets,optional"`
	Bytes       *int64  `parquet:"bytes,optional"`
	Start       *int64  `parquet:"start,optional"`
	End         *int64  `parquet:"end,optional"`
	Action      *string `parquet:"action,optional"`
	LogStatus   *string `parquet:"log_status,optional"`
}

// TestParquetNumbersKeepTheirText: every number of a row keeps its own
// text, also a string field written as a number (the account ID, here)
// followed by other number columns; protocol is read as INT64 too, the
// type Athena's documented Parquet table gives it (bigint).
func TestParquetNumbersKeepTheirText(t *testing.T) {
	i32 := func(v int32) *int32 { return &v }
	i64 := func(v int64) *int64 { return &v }
	str := func(v string) *string { return &v }
	row := numericIDRow{i32(2), i64(123456789010), str("eni-0bbb"), str("10.0.1.20"), str("52.219.64.10"), i32(40003), i32(443), i64(6),
		i64(30), i64(9000), i64(flowlogstest.T0), i64(flowlogstest.T0 + 60), str("ACCEPT"), str("OK")}
	var b bytes.Buffer
	w := parquet.NewGenericWriter[numericIDRow](&b)
	if _, err := w.Write([]numericIDRow{row}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "ids.parquet")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	a, whole := keepAll(t, config(), flowlogs.DefaultKeep, 1, p)
	lines, _ := kept(t, config(), a)
	if len(lines) != 2 {
		t.Fatalf("kept:\n%s", strings.Join(lines, "\n"))
	}
	f := strings.Fields(lines[1])
	want := []string{"2", "123456789010", "eni-0bbb", "10.0.1.20", "52.219.64.10", "40003", "443", "6", "30", "9000"}
	if len(f) < len(want) || !slices.Equal(f[:len(want)], want) {
		t.Errorf("kept record %q, want it to begin %q", f, want)
	}
	if whole.Verdict != flowlogs.Fail {
		t.Errorf("verdict %s, want fail (TCP 443 to public S3): %s", whole.Verdict, whole.Reason)
	}
}
