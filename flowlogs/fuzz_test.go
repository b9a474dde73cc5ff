package flowlogs

import (
	"bytes"
	"strings"
	"testing"

	"github.com/vpce-verify/vpce-verify/flowlogs/flowlogstest"
)

func checkRecord(t *testing.T, r *Record) {
	if r.SrcPort > 65535 || r.DstPort > 65535 || r.Protocol > 255 || r.TCPFlags > 255 || r.TrafficPath > 255 {
		t.Fatalf("out of range: %+v", r)
	}
	for _, a := range []interface{ IsValid() bool }{r.Src, r.Dst, r.PktSrc, r.PktDst} {
		_ = a.IsValid()
	}
	// Whatever was read is written out whole (an evidence bundle's
	// records.log.gz) as a line that reads back to the same record.
	line := r.AppendText(nil)
	if len(line) > maxLine || bytes.IndexAny(line, "\r\n") >= 0 || (line[0] >= 'a' && line[0] <= 'z') {
		t.Fatalf("written as %q", line)
	}
	var again Record
	if err := parseLine(AllFields(), line, &again); err != nil {
		t.Fatalf("%q does not read back: %v", line, err)
	}
	if back := again.AppendText(nil); !bytes.Equal(back, line) {
		t.Fatalf("%q reads back as %q", line, back)
	}
}

// FuzzText: any bytes as a text flow log give records and bad lines, never
// a panic, and no more of them together than there are lines.
func FuzzText(f *testing.F) {
	var b bytes.Buffer
	flowlogstest.Text(&b, flowlogstest.CustomFormat, true, flowlogstest.Records())
	f.Add(b.Bytes())
	f.Add([]byte(flowlogstest.DefaultExample + "\n"))
	f.Add([]byte("version srcaddr\n2 10.0.0.1\n2 ::1\n2 -\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var n, bad int
		err := readText(bytes.NewReader(data), nil, func(r *Record) { n++; checkRecord(t, r) }, func(string, error) { bad++ })
		if err != nil {
			t.Fatalf("reading from memory failed: %v", err)
		}
		if lines := bytes.Count(data, []byte("\n")) + 1; n+bad > lines {
			t.Fatalf("%d records and %d bad lines from %d lines", n, bad, lines)
		}
	})
}

// FuzzCloudWatch: any bytes as CloudWatch Logs JSON, never a panic.
func FuzzCloudWatch(f *testing.F) {
	var b bytes.Buffer
	flowlogstest.CloudWatch(&b, flowlogstest.Records()[:3])
	f.Add(b.Bytes())
	f.Add([]byte(`{"events":[{"message":1},{"message":"2 x"},3]}{"events":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		readCloudWatch(bytes.NewReader(data), nil, func(r *Record) { checkRecord(t, r) }, func(string, error) {})
	})
}

// FuzzParquet: any bytes as a Parquet file end in records or an error,
// never a panic out of the reader.
func FuzzParquet(f *testing.F) {
	var b bytes.Buffer
	flowlogstest.Parquet(&b, flowlogstest.Records(), 5)
	f.Add(b.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		readParquet(bytes.NewReader(data), int64(len(data)), func(r *Record) { checkRecord(t, r) }, func(string, error) {})
	})
}

func TestParseFormat(t *testing.T) {
	f, err := ParseFormat("${version} ${vpc-id} ${pkt-dstaddr} ${ecs-cluster-name} ${traffic-path}")
	if err != nil {
		t.Fatal(err)
	}
	if !f.Has(FieldPktDstAddr) || !f.Has(FieldTrafficPath) || f.Has(FieldSrcAddr) || f.Fields[3] != FieldOther {
		t.Errorf("%+v", f)
	}
	for _, bad := range []string{"", "version version", "version 2", "version ${srcaddr", strings.Repeat("version ", 200)} {
		if _, err := ParseFormat(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for line, want := range map[string]bool{
		"version account-id interface-id": true,
		"vpc-abcdef subnet-abc":           false, // a record of a custom format that begins with vpc-id
		"ingress egress":                  false,
		"version 2":                       false,
	} {
		if isHeader([]byte(line)) != want {
			t.Errorf("isHeader(%q) = %v", line, !want)
		}
	}
}
