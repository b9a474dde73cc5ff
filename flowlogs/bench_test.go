package flowlogs

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"testing"

	"github.com/vpce-verify/vpce-verify/flowlogs/flowlogstest"
	"github.com/vpce-verify/vpce-verify/resolve"
	"github.com/vpce-verify/vpce-verify/resolve/ipranges"
)

// benchLog is n records of the scenario's custom format, with the
// interfaces and ports varied as a VPC's would be. It is made once.
func benchLog(n int) []byte {
	benchOnce.Do(func() {
		recs := flowlogstest.Records()[1:13]
		var b bytes.Buffer
		flowlogstest.Text(&b, flowlogstest.CustomFormat, true, nil)
		for i := 0; i < n; i++ {
			r := recs[i%len(recs)]
			r["interface-id"] = fmt.Sprintf("eni-%017x", i%500)
			r["srcport"] = fmt.Sprint(32768 + i%28000)
			flowlogstest.Text(&b, flowlogstest.CustomFormat, false, []flowlogstest.Rec{r})
		}
		benchData = b.Bytes()
		runtime.GC()
	})
	return benchData
}

var (
	benchOnce sync.Once
	benchData []byte
)

func benchAnalyzer() *Analyzer {
	c := resolve.NewClassifier(ipranges.Embedded(), nil, []netip.Addr{netip.MustParseAddr(flowlogstest.EndpointIPv4)}, nil)
	return NewAnalyzer(Config{Classifier: c, EndpointKnown: true})
}

// BenchmarkText reads and judges text records: bytes/s is the rate of
// uncompressed log, allocs/op the allocations of a whole pass (a few per
// group, none per record).
func BenchmarkText(b *testing.B) {
	data := benchLog(100000)
	a := benchAnalyzer()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := readText(bytes.NewReader(data), nil, a.Add, func(string, error) { b.Fatal("bad line") }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100000), "ns/record")
}

// BenchmarkGzip is BenchmarkText through gzip, as the S3 delivery stores
// it; bytes/s is still of the uncompressed log.
func BenchmarkGzip(b *testing.B) {
	data := benchLog(100000)
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(data)
	zw.Close()
	a := benchAnalyzer()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var in Input
		if err := readStream(&in, bytes.NewReader(z.Bytes()), nil, a.Add, func(string, error) { b.Fatal("bad line") }); err != nil || !in.Gzip {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(z.Len())/float64(len(data)), "gzip-ratio")
}

// BenchmarkParquet reads the same records from Parquet (GZIP pages).
func BenchmarkParquet(b *testing.B) {
	data := benchLog(100000)
	var recs int
	readText(bytes.NewReader(data), nil, func(*Record) { recs++ }, nil)
	var pq bytes.Buffer
	lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	var rs []flowlogstest.Rec
	for _, l := range lines[1:] {
		r := flowlogstest.Rec{}
		for i, w := range bytes.Fields(l) {
			r[flowlogstest.CustomFormat[i]] = string(w)
		}
		rs = append(rs, r)
	}
	if err := flowlogstest.Parquet(&pq, rs, 20000); err != nil {
		b.Fatal(err)
	}
	a := benchAnalyzer()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := readParquet(bytes.NewReader(pq.Bytes()), int64(pq.Len()), a.Add, func(string, error) { b.Fatal("bad row") }); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTextKeep is BenchmarkText with the records kept for an
// evidence bundle (Config.Keep): past the bounds, a record that could be
// kept costs a few map lookups and nothing allocated.
func BenchmarkTextKeep(b *testing.B) {
	data := benchLog(100000)
	a := benchAnalyzer()
	a.keep = newKeeper(DefaultKeep)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := readText(bytes.NewReader(data), nil, a.Add, func(string, error) { b.Fatal("bad line") }); err != nil {
			b.Fatal(err)
		}
	}
	kept, omitted := a.Kept()
	b.ReportMetric(float64(kept), "kept")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100000), "ns/record")
	_ = omitted
}
