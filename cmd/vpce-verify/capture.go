package main

import (
	"github.com/spf13/pflag"

	"github.com/vpce-verify/vpce-verify/capture"
	"github.com/vpce-verify/vpce-verify/report"
)

const captureSynopsis = `Usage: vpce-verify capture [flags]

Captures live (AF_PACKET, no libpcap) what the host's applications do, and
when it stops prints the same report as analyze would on the saved packets.
It stops after -c packets, after --duration, or on Ctrl-C or SIGTERM, and
then flushes -w and prints the report; a second Ctrl-C aborts at once.

The kernel filter keeps DNS (UDP and TCP 53, and --dns-port) and TCP to or
from ports 80 and 443 (and --port), IPv4 and IPv6: plain HTTP to a public
S3 address is a leak as much as HTTPS is. --vxlan and --geneve add tunnels;
--bpf-file takes any tcpdump expression compiled with tcpdump -ddd.

Needs CAP_NET_RAW: run as root, or once
  sudo setcap cap_net_raw+ep $(command -v vpce-verify)

Exit codes as analyze: 0 pass, 1 fail, 2 error, 3 inconclusive.

Examples:
  sudo vpce-verify capture -i ens5 --duration 10m -w evidence.pcapng --endpoints endpoints.json
  sudo vpce-verify capture -i any -c 10000 --endpoint-ip 10.0.2.50
`

func cmdCapture(e *env, args []string) int {
	fs := pflag.NewFlagSet("capture", pflag.ContinueOnError)
	var lf liveFlags
	var cf classifyFlags
	var of outputFlags
	lf.register(fs)
	cf.register(fs)
	var af analysisFlags
	af.register(fs)
	of.register(fs)
	var pf provenanceFlags
	pf.register(fs)
	var ef evidenceFlags
	ef.register(fs)
	if code, ok := e.parse(fs, args, captureSynopsis); !ok {
		return code
	}
	if fs.NArg() > 0 {
		e.errorf("capture: unexpected argument %q (to read a file: vpce-verify analyze FILE)", fs.Arg(0))
		return exitError
	}
	if err := af.check(); err != nil {
		e.errorf("%s: %v", fs.Name(), err)
		return exitError
	}
	of.flows = af.flows
	if !of.checkOutput(e, "capture") {
		return exitError
	}
	cl, err := cf.load(e)
	if err != nil {
		e.errorf("capture: %v", err)
		return exitError
	}
	ifaces := lf.ifaces
	if len(ifaces) == 0 {
		// Where the endpoint is, else where the default route leads.
		dsts := cl.endpointIPs
		if len(dsts) == 0 {
			dsts = defaultRoutes[:1]
		}
		var errs []error
		if ifaces, errs = routeInterfaces(dsts); len(errs) > 0 {
			e.errorf("capture: %v", errs[0])
			e.hintf("name the interface with -i (vpce-verify capture -i any captures on all)")
			return exitError
		}
	}
	opts, filter, err := lf.options(ifaces, nil)
	if err != nil {
		e.errorf("capture: %v", err)
		return exitError
	}
	if err := ef.outside("-o", of.out, "--conn-log", af.connLog, "-w", lf.write); err != nil {
		e.errorf("%s: %v", fs.Name(), err)
		return exitError
	}
	if err := ef.prepare(nil, &af); err != nil {
		e.errorf("%s: %v", fs.Name(), err)
		return exitError
	}
	src, w, ok := lf.open(e, opts, filter, &of, &af, &ef)
	if !ok {
		return exitError
	}
	e.infof("capturing on %s (%s); stop with Ctrl-C", joinNames(src.Interfaces()), filter)
	pf.start(e)
	cfg := cl.config()
	af.configure(&cfg)
	ef.configure(&cfg)
	aopts := analyzerOptions(opts)
	lf.procs.attribute(&cfg, &aopts)
	b := report.NewBuilder(cfg, nil)
	a := af.analyzer(aopts, b)
	ev, res, stats := lf.run(e, e.ctx, src, w, a, filter, nil)
	e.infof("%s captured, %s received by filter, %s dropped by kernel (%s)", packetCount(res.Packets), packetCount(stats.Received), packetCount(stats.Dropped), res.StopReason)
	a.Finish()
	ev.Provenance = pf.provenance(e, cl, &af, aopts.DNSPorts)
	r := b.Report(evidence(ev, a))
	if res.Err != nil {
		e.errorf("capture: %v", res.Err)
	}
	logErr := af.close()
	if logErr == nil {
		logErr = ef.finish(e, r, nil, ev.Interfaces, cl, filter)
	}
	if err := of.write(e, r); err != nil {
		e.errorf("%v", err)
		return exitError
	}
	if logErr != nil {
		e.errorf("%s: %v", fs.Name(), logErr)
		if r.Verdict != report.Fail {
			return exitError
		}
	}
	return exitCode(r.Verdict)
}

func joinNames(ifaces []capture.Interface) string {
	s := ""
	for i, ifc := range ifaces {
		if i > 0 {
			s += ", "
		}
		s += ifc.Name
	}
	return s
}
