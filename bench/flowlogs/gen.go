//go:build ignore

// gen writes a day of an S3 delivery of VPC Flow Logs for the benchmark:
// AWSLogs/ACCOUNT/vpcflowlogs/ap-south-1/2026/07/01/*.log.gz, each file a
// header line and records of a custom version 5 format whose addresses,
// ports, counts and times vary as a busy VPC's do (so that gzip compresses
// them as it does real logs, to about a sixth).
//
//	go run bench/flowlogs/gen.go -o /tmp/fl -mb 2000
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/klauspost/compress/gzip"
)

const header = "version vpc-id subnet-id instance-id interface-id account-id type srcaddr dstaddr srcport dstport pkt-srcaddr pkt-dstaddr protocol bytes packets start end action tcp-flags log-status pkt-src-aws-service pkt-dst-aws-service flow-direction traffic-path"

func main() {
	out := flag.String("o", "", "folder to write AWSLogs/ in")
	mb := flag.Int("mb", 1000, "megabytes of uncompressed records")
	perFile := flag.Int("file-mb", 50, "megabytes of uncompressed records per file")
	flag.Parse()
	if *out == "" {
		log.Fatal("-o is required")
	}
	dir := filepath.Join(*out, "AWSLogs", "123456789010", "vpcflowlogs", "ap-south-1", "2026", "07", "01")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		log.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	t := int64(1782864000)
	written := 0
	for f := 0; written < *mb<<20; f++ {
		name := filepath.Join(dir, fmt.Sprintf("123456789010_vpcflowlogs_ap-south-1_fl-1234abcd_20260701T%02d%02dZ_%08x.log.gz", f/12%24, f%12*5, f))
		fh, err := os.Create(name)
		if err != nil {
			log.Fatal(err)
		}
		zw, _ := gzip.NewWriterLevel(fh, gzip.DefaultCompression)
		w := bufio.NewWriterSize(zw, 1<<20)
		fmt.Fprintln(w, header)
		n := 0
		for n < *perFile<<20 {
			eni := r.IntN(2000)
			src := fmt.Sprintf("10.0.%d.%d", eni/250, eni%250+2)
			var dst, svc, path string
			var port int
			switch k := r.IntN(10); {
			case k < 5: // the endpoint
				dst, svc, path, port = "10.0.2.50", "-", "1", 443
			case k < 6: // public S3
				dst, svc, path, port = fmt.Sprintf("52.219.64.%d", r.IntN(250)+1), "S3", "8", 443
			case k < 8: // other HTTPS
				dst, svc, path, port = fmt.Sprintf("%d.%d.%d.%d", r.IntN(200)+20, r.IntN(256), r.IntN(256), r.IntN(254)+1), "-", "8", 443
			default: // inside the VPC
				dst, svc, path, port = fmt.Sprintf("10.0.%d.%d", r.IntN(8), r.IntN(250)+2), "-", "1", 5432
			}
			start := t + int64(r.IntN(300))
			pkts := r.IntN(5000) + 1
			k, _ := fmt.Fprintf(w, "5 vpc-0123456789abcdef0 subnet-%08x i-%017x eni-%017x 123456789010 IPv4 %s %s %d %d %s %s 6 %d %d %d %d ACCEPT 19 OK - %s egress %s\n",
				eni/100, eni, eni, src, dst, 32768+r.IntN(28000), port, src, dst, pkts*(r.IntN(1400)+60), pkts, start, start+60, svc, path)
			n += k
		}
		w.Flush()
		zw.Close()
		fh.Close()
		written += n
		t += 300
	}
	fmt.Printf("%d MB of records in %s\n", written>>20, dir)
}
