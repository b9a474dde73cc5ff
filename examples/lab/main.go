//go:build ignore

// Command lab runs, on loopback, a stand-in for an EC2 host's view of S3 so
// that vpce-verify verify and capture can be tried without AWS: a DNS server
// that answers s3.ap-south-1.amazonaws.com with the "interface endpoint"
// 127.0.2.50 and s3.dualstack.ap-south-1.amazonaws.com with the "public S3
// address" 127.0.3.10, TLS servers on port 443 and plain HTTP servers on
// port 80 of both, and an ip-ranges.json that declares 127.0.3.0/24 S3 in
// ap-south-1. It runs until Ctrl-C. It needs root (ports 80 and 443).
//
//	sudo ./lab -dir /tmp/vpce-lab
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/vpce-verify/vpce-verify/internal/lab"
)

func main() {
	dir := flag.String("dir", "/tmp/vpce-lab", "where to write ca.pem and ip-ranges.json")
	dnsAddr := flag.String("dns", "127.0.0.1:5300", "where the DNS server listens (UDP and TCP)")
	flag.Parse()
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "lab:", err)
		os.Exit(2)
	}
	l, err := lab.Start(*dir, *dnsAddr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "lab:", err)
		if os.Geteuid() != 0 {
			fmt.Fprintln(os.Stderr, "lab: ports 80 and 443 need root: sudo ./lab")
		}
		os.Exit(2)
	}
	scenario := fmt.Sprintf("-i lo --endpoint-ip %s --ip-ranges %s", lab.Endpoint, l.RangesFile)
	common := "--resolver " + l.DNS + " " + scenario
	fmt.Printf(`lab: DNS on %s: %s (and *.%s) -> %s (the interface endpoint),
     %s -> %s (public S3, by %s)
lab: TLS on %s:443 and %s:443, certificate signed by %s; plain HTTP on port 80 of both
lab: try, in another terminal, as root:
  vpce-verify verify %s --ca-file %s %s
  vpce-verify verify %s --ca-file %s %s
  vpce-verify capture %s -w %s
    and meanwhile: curl -sI --cacert %s --resolve %s:443:%s https://%s/
              or: curl -sI http://%s/ (plain HTTP to public S3)
lab: Ctrl-C stops it
`, l.DNS, lab.Name, lab.Name, lab.Endpoint, lab.LeakName, lab.Public, l.RangesFile,
		lab.Endpoint, lab.Public, l.CAFile,
		common, l.CAFile, lab.Name, common, l.CAFile, lab.LeakName,
		scenario, filepath.Join(*dir, "evidence.pcapng"), l.CAFile, lab.LeakName, lab.Public, lab.LeakName, lab.Public)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	l.Close()
}
