package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/vpce-verify/vpce-verify/capture"
	"github.com/vpce-verify/vpce-verify/capture/flow"
	"github.com/vpce-verify/vpce-verify/capture/pcapfile"

	"github.com/spf13/pflag"

	"github.com/vpce-verify/vpce-verify/report"
)

const analyzeSynopsis = `Usage: vpce-verify analyze [flags] FILE...
       vpce-verify analyze [flags] -r FILE [-r FILE...]

Reads pcap or pcapng captures (gzip-compressed too; - for standard input;
-r FILE, as tcpdump, is one more) as one capture in time order, and says
whether every established S3 connection went to the interface endpoint.
Link types: Ethernet (802.1Q, QinQ),
LINUX_SLL, LINUX_SLL2 (tcpdump -i any), raw IP, BSD loopback; VXLAN (Traffic
Mirroring) and Geneve (Gateway Load Balancer) are decapsulated.

The text tcpdump -nn printed (with or without -v, -e, -tttt) is read too,
recognised by its content: its TCP lines and DNS answers, without TLS
server names or payload, so the verdict rests on addresses and DNS.

Exit codes: 0 pass, 1 fail, 2 error (partial results still printed),
3 inconclusive.

Example:
  vpce-verify analyze --endpoint-ip 10.0.2.50 capture.pcapng
`

func cmdAnalyze(e *env, args []string) int {
	fs := pflag.NewFlagSet("analyze", pflag.ContinueOnError)
	var cf classifyFlags
	var of outputFlags
	read := fs.StringArrayP("read", "r", nil, "a capture file to read, as tcpdump -r (repeatable; with the FILE arguments)")
	cf.register(fs)
	dnsPorts := fs.UintSlice("dns-port", []uint{53}, "ports whose payload is DNS")
	var af analysisFlags
	af.register(fs)
	of.register(fs)
	var pf provenanceFlags
	pf.registerOffline(fs)
	var ef evidenceFlags
	ef.register(fs)
	if code, ok := e.parse(fs, args, analyzeSynopsis); !ok {
		return code
	}
	names := append(slices.Clip(*read), fs.Args()...)
	if len(names) == 0 {
		e.errorf("analyze: no capture file given")
		e.hintf("vpce-verify analyze capture.pcap (or -r capture.pcap, or - to read standard input)")
		return exitError
	}
	if !of.checkOutput(e, "analyze") {
		return exitError
	}
	if cf.stdin() && slices.Contains(names, "-") {
		e.errorf("analyze: --endpoints - and the capture - both read standard input")
		e.hintf("save one to a file: aws ec2 describe-vpc-endpoints --output json > endpoints.json")
		return exitError
	}
	if err := af.check(); err != nil {
		e.errorf("analyze: %v", err)
		return exitError
	}
	cl, err := cf.load(e)
	if err != nil {
		e.errorf("analyze: %v", err)
		return exitError
	}
	var opts flow.Options
	for _, p := range *dnsPorts {
		if p == 0 || p > 65535 {
			e.errorf("analyze: --dns-port %d: not a port", p)
			return exitError
		}
		opts.DNSPorts = append(opts.DNSPorts, uint16(p))
	}

	// The report's file is created before any input is opened: however
	// many inputs there are, and whatever they do, the report has a place.
	if err := refuseOverwrite("-o", of.out, names); err != nil {
		e.errorf("analyze: %v", err)
		return exitError
	}
	if err := ef.outside("-o", of.out, "--conn-log", af.connLog); err != nil {
		e.errorf("analyze: %v", err)
		return exitError
	}
	if err := of.open(); err != nil {
		e.errorf("analyze: -o %s: %v", of.out, err)
		return exitError
	}
	if err := refuseOverwrite("--conn-log", af.connLog, names); err != nil {
		e.errorf("analyze: %v", err)
		return exitError
	}
	if err := ef.prepare(fs.Args(), &af); err != nil {
		e.errorf("analyze: %v", err)
		return exitError
	}
	if err := af.open(); err != nil {
		e.errorf("analyze: %v", err)
		return exitError
	}
	of.flows = af.flows
	var files []pcapfile.File
	for _, name := range names {
		if name == "-" {
			files = append(files, pcapfile.File{Name: "-", Open: func() (io.ReadCloser, error) { return io.NopCloser(e.stdin), nil }})
			continue
		}
		// Opened by ReadFiles when it needs the file, closed when it is
		// done: a thousand rotated files do not hold a thousand
		// descriptors. One that cannot be opened is reported with the
		// inputs; the other files are read.
		files = append(files, pcapfile.File{Name: name, Open: func() (io.ReadCloser, error) { return os.Open(name) }})
	}
	pf.start(e)
	cfg := cl.config()
	af.configure(&cfg)
	ef.configure(&cfg)
	b := report.NewBuilder(cfg, nil)
	a := af.analyzer(opts, b)
	m := pcapfile.NewMerge(files, 0)
	var progress capture.Progress
	if slices.Contains(names, "-") {
		progress.Every = 1 // standard input may wait: a status asked then is exact
	}
	start := time.Now()
	stopStatus := e.startStatus(func() string {
		n := progress.Packets.Load()
		read, total := m.BytesRead()
		pct := ""
		if total > 0 {
			pct = fmt.Sprintf(" (%.0f%% of %s)", 100*float64(read)/float64(total), byteSize(total))
		}
		return fmt.Sprintf("%s, %s read%s, %d packets/s", packetCount(n), byteSize(read), pct, rate(n, start))
	})
	capture.Run(e.ctx, m, a, capture.RunOptions{Progress: &progress})
	stopStatus()
	inputs, ifaces := m.Inputs(), m.Interfaces()
	a.Finish()
	r := b.Report(evidence(report.Evidence{Inputs: inputs, Interfaces: ifaces,
		Provenance: pf.provenance(e, cl, &af, dnsPortList(opts.DNSPorts))}, a))
	tooMany := false
	for _, in := range inputs {
		if in.Err != nil {
			e.errorf("%v", in.Err)
			tooMany = tooMany || errors.Is(in.Err, pcapfile.ErrTooManyOpen)
		}
	}
	if tooMany {
		e.hintf("raise the open file limit (ulimit -n), or merge the files that overlap in time in groups first (mergecap -w part.pcapng FILE...)")
	}
	logErr := af.close()
	if logErr == nil && ef.dir != "" {
		// The same files read again, for the packets of the verdict.
		logErr = ef.finish(e, r, pcapfile.NewMerge(files, 0), ifaces, cl, "")
	}
	if err := of.write(e, r); err != nil {
		e.errorf("%v", err)
		return exitError
	}
	if logErr != nil {
		// The report stands; a proven leak is still a fail.
		e.errorf("analyze: %v", logErr)
		if r.Verdict != report.Fail {
			return exitError
		}
	}
	return exitCode(r.Verdict)
}

// refuseOverwrite fails when an output (the report, the connection log)
// would be written over one of the inputs: outputs are created before the
// inputs are read, so the evidence would be gone before it was read.
func refuseOverwrite(flag, out string, inputs []string) error {
	ost, err := os.Stat(out)
	if err != nil {
		return nil // no -o, or a new file: nothing to overwrite
	}
	for _, name := range inputs {
		if name == "-" {
			continue
		}
		if st, err := os.Stat(name); err == nil && os.SameFile(ost, st) {
			return fmt.Errorf("%s %s: is the input %s; it would be overwritten", flag, out, name)
		}
	}
	return nil
}

// byteSize says 1.4 GB.
func byteSize(n int64) string {
	switch {
	case n < 1e3:
		return fmt.Sprintf("%d B", n)
	case n < 1e6:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	case n < 1e9:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.2f GB", float64(n)/1e9)
}
