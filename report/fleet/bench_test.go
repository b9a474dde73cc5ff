//go:build unix

package fleet

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/vpce-verify/vpce-verify/report"
)

// BenchmarkMerge10k merges 10,000 hosts' reports laid out as the SSM
// document leaves them in S3 (COMMAND/INSTANCE/vpce-verify/report.json),
// one in a hundred failing, one in fifty inconclusive, each report with 20
// connections and 10 DNS transactions listed (about 23 kB, as a verify
// run's). The target (issue 12): under 10 s. bench/README.md has the
// figure; run it with
//
//	go test ./report/fleet -run XXX -bench Merge10k -benchtime 3x -benchmem
//
// With VPCE_FLEET_BENCH_DIR=DIR the reports are written there and kept,
// and used as they are on the next run (bench/fleet.sh times the command
// on them).
func BenchmarkMerge10k(b *testing.B) {
	const hosts = 10000
	dir := os.Getenv("VPCE_FLEET_BENCH_DIR")
	keep := dir != ""
	if !keep {
		dir = b.TempDir()
	}
	done := filepath.Join(dir, "complete")
	if _, err := os.Stat(done); err != nil {
		writeFleet(b, dir, hosts)
		if keep {
			os.WriteFile(done, nil, 0o644)
		}
	}
	var size int64
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, _ error) error {
		if d != nil && d.Name() == ReportName {
			if fi, err := d.Info(); err == nil {
				size += fi.Size()
			}
		}
		return nil
	})
	b.SetBytes(size)
	b.ResetTimer()
	var f *Fleet
	cpu0 := cpuTime()
	for range b.N {
		f = Merge(context.Background(), []string{dir}, Options{})
	}
	cpu := cpuTime() - cpu0
	b.StopTimer()
	if f.Totals.Hosts != hosts || f.Totals.ByVerdict.Fail != hosts/100 || f.Verdict != Fail {
		b.Fatalf("totals %+v verdict %s", f.Totals, f.Verdict)
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapAlloc)/1e6, "MB-heap-after")
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/merge")
	// On a shared machine the wall time says how busy the neighbours
	// were; the CPU time (user and system) is the merge's own.
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/merge")
}

// writeFleet writes the reports of n hosts under dir.
func writeFleet(b *testing.B, dir string, n int) {
	for i := range n {
		h := host{instance: fmt.Sprintf("i-%017x", i), hostname: fmt.Sprintf("ip-10-0-%d-%d", i/250, i%250), verdict: Pass,
			start: time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)}
		switch {
		case i%100 == 7:
			h.verdict, h.violations = Fail, 1+i%5
		case i%50 == 3:
			h.verdict = Inconclusive
		}
		r := genReport(h)
		for j := range 20 {
			r.Flows = append(r.Flows, report.Flow{Client: fmt.Sprintf("10.0.1.25:%d", 41000+j), Server: "10.0.2.50:443",
				ConnState: "SF", Established: true, History: "ShADadFf", FirstTS: h.start.Format(time.RFC3339Nano),
				LastTS: h.start.Format(time.RFC3339Nano), Packets: [2]uint64{9, 9}, Bytes: [2]uint64{754, 1751},
				SNI: "my-bucket.s3.ap-south-1.amazonaws.com", DNSNames: []string{"my-bucket.s3.ap-south-1.amazonaws.com"},
				S3: true, S3Evidence: []string{"sni", "dns-name", "endpoint-address"}, Path: "interface-endpoint", PathEvidence: "endpoint-ip"})
		}
		for j := range 10 {
			r.DNS = append(r.DNS, report.DNS{TS: h.start.Format(time.RFC3339Nano), Client: "10.0.1.25:5353", Server: "10.0.0.2:53",
				Transport: "udp", ID: uint16(j), QName: "my-bucket.s3.ap-south-1.amazonaws.com", QType: "A", RCode: "NOERROR",
				Answers: []report.DNSAnswer{{Name: "my-bucket.s3.ap-south-1.amazonaws.com", Type: "A", Data: "10.0.2.50", TTL: 60, Path: "interface-endpoint"}}, S3: true})
		}
		var buf bytes.Buffer
		if err := r.WriteJSON(&buf); err != nil {
			b.Fatal(err)
		}
		p := filepath.Join(dir, "3f1c-cmd", h.instance, "vpce-verify", "report.json")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
