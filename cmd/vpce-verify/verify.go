package main

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/vpce-verify/vpce-verify/internal/probe"

	"github.com/spf13/pflag"

	"github.com/vpce-verify/vpce-verify/report"
	"github.com/vpce-verify/vpce-verify/resolve"
)

const verifySynopsis = `Usage: vpce-verify verify [flags] NAME

On an EC2 host, in seconds: opens the capture, resolves NAME the way the
host's applications do (nsswitch.conf's hosts order: /etc/hosts, then the
nameservers of /etc/resolv.conf; --resolver or --vpc-resolver ask those
servers instead), makes one real TLS connection (SNI NAME) to the first IPv4
and the first IPv6 answer, stops once those connections are closed and
captured, and reports whether they, and any other S3 traffic seen meanwhile,
went to the interface endpoint. The capture starts before the lookup, so
the report and -w hold verify's own DNS exchange; an answer from /etc/hosts
has none, and the report says so.

Without -i the capture opens the interfaces that route to the resolvers, to
the --endpoint-ip addresses and to the default route; an answer that routes
elsewhere is named, and marks the evidence incomplete: the run cannot pass.
The kernel filter is capture's: DNS on 53 (and --dns-port, and the ports of
--resolver), TCP 80 and 443 (and --port).

The handshake is the proof; --http adds a HEAD / request. The certificate is
checked for NAME: a failure is a warning (a TLS-intercepting proxy is worth
knowing about), not an error.

Needs CAP_NET_RAW (see vpce-verify capture --help).
Exit codes as analyze: 0 pass, 1 fail, 2 error, 3 inconclusive.

Examples:
  sudo vpce-verify verify s3.ap-south-1.amazonaws.com
  sudo vpce-verify verify --vpc-resolver --endpoints endpoints.json my-bucket.s3.ap-south-1.amazonaws.com
`

func cmdVerify(e *env, args []string) int {
	fs := pflag.NewFlagSet("verify", pflag.ContinueOnError)
	var lf liveFlags
	var cf classifyFlags
	var of outputFlags
	var rf resolverFlags
	timeout := fs.Duration("timeout", 10*time.Second, "give up after this long: resolution, capture and probe together")
	httpHead := fs.Bool("http", false, "after the handshake, send HEAD / and report the status")
	caFile := fs.String("ca-file", "", "also trust the CA certificates in this PEM file when checking the server's certificate")
	rf.register(fs, e.sys)
	fs.Lookup("resolver").Usage = "a DNS server HOST[:PORT] to ask instead of resolving as applications do\n(nsswitch.conf, /etc/hosts, resolv.conf) (repeatable, asked in order)"
	fs.Lookup("resolv-conf").Usage = "where the host's resolvers are listed (when DNS is asked as applications ask it)"
	lf.register(fs)
	fs.Lookup("interface").Usage = "interface to capture on (repeatable); any = every interface that is up;\ndefault: those that route to the resolvers, the --endpoint-ip addresses and the default route"
	cf.register(fs)
	var af analysisFlags
	af.register(fs)
	of.register(fs)
	var pf provenanceFlags
	pf.register(fs)
	var ef evidenceFlags
	ef.register(fs)
	if code, ok := e.parse(fs, args, verifySynopsis); !ok {
		return code
	}
	if fs.NArg() != 1 {
		e.errorf("verify: want one NAME, got %d arguments", fs.NArg())
		e.hintf("vpce-verify verify s3.ap-south-1.amazonaws.com")
		return exitError
	}
	name := strings.TrimSuffix(fs.Arg(0), ".")
	if err := af.check(); err != nil {
		e.errorf("%s: %v", fs.Name(), err)
		return exitError
	}
	of.flows = af.flows
	if err := of.check(); err != nil {
		e.errorf("verify: %v", err)
		return exitError
	}
	if err := rf.check("--dns-timeout"); err != nil {
		e.errorf("verify: %v", err)
		return exitError
	}
	if *timeout <= 0 {
		e.errorf("verify: --timeout must be positive")
		return exitError
	}
	cl, err := cf.load(e)
	if err != nil {
		e.errorf("%v", err)
		return exitError
	}
	roots, err := caPool(*caFile)
	if err != nil {
		e.errorf("verify: %v", err)
		return exitError
	}
	prober := &probe.Prober{Name: name, Roots: roots, Head: *httpHead, UserAgent: "vpce-verify/" + toolVersion()}
	var servers []resolve.Server
	var hr *resolve.HostResolver
	var warn []string
	if rf.named() {
		servers, warn, err = rf.servers()
		if err != nil {
			e.errorf("verify: %v", err)
			e.hintf("name a resolver: --resolver 10.0.0.2, or --vpc-resolver on an EC2 host")
			return exitError
		}
	} else {
		if hr, warn, err = rf.hostResolver(); err != nil {
			e.errorf("verify: %v", err)
			return exitError
		}
		servers = hr.Servers
	}

	// The capture opens before the lookup, on interfaces chosen without
	// the answers, so that it holds verify's own DNS exchange.
	ifaces := lf.ifaces
	if len(ifaces) == 0 {
		if ifaces, _ = routeInterfaces(probe.Routes(servers, cl.endpointIPs, defaultRoutes)); len(ifaces) == 0 {
			e.errorf("verify: no route to the resolvers, the endpoint or a default route")
			e.hintf("name the interface with -i (vpce-verify verify -i any captures on all)")
			return exitError
		}
	}
	var dnsPorts []uint16
	for _, s := range servers {
		dnsPorts = append(dnsPorts, s.Addr.Port())
	}
	opts, filter, err := lf.options(ifaces, dnsPorts)
	if err != nil {
		e.errorf("verify: %v", err)
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
	e.infof("capturing on %s (%s); resolving %s", joinNames(src.Interfaces()), filter, name)

	// Resolution and probe run while the capture does; the capture stops
	// once the tracker has seen each probe connection closed (or a moment
	// after the probe is done, or at the timeout).
	ctx, cancel := context.WithTimeout(e.ctx, *timeout)
	defer cancel()
	// The probe's own warnings and answers are known only after the
	// lookup; the report is made then, and the connections finished
	// before wait in the builder.
	pf.start(e)
	cfg := cl.config()
	af.configure(&cfg)
	ef.configure(&cfg)
	aopts := analyzerOptions(opts)
	lf.procs.attribute(&cfg, &aopts)
	b := report.NewBuilder(cfg, nil)
	a := af.analyzer(aopts, b)
	capCtx, capCancel := context.WithCancel(ctx)
	defer capCancel()
	const port = 443
	watch := probe.NewWatch(port)
	var res *probe.Resolution
	var conns []probe.Conn
	var notCaptured *probe.NotCapturedError
	var wg sync.WaitGroup
	wg.Go(func() {
		res = probe.Resolve(ctx, rf.client(), servers, hr, name)
		if res.Steps != "" {
			e.infof("%s", res.Steps)
		}
		if len(res.Targets) == 0 {
			capCancel()
			return
		}
		var captured []bool
		captured, notCaptured = probe.RoutedThrough(src.Interfaces(), res.Targets)
		if notCaptured != nil {
			e.errorf("verify: %v", notCaptured)
			e.hintf("capture there too: -i %s, or -i any", strings.Join(notCaptured.Names(src.Interfaces()), " -i "))
		}
		e.infof("probing %s at %s", name, probe.AddrList(res.Targets))
		watch.Start(res.Targets, captured)
		conns = prober.DialAll(ctx, res.Targets, port, watch.Connected)
		time.AfterFunc(time.Second, capCancel)
	})
	ev, runRes, _ := lf.run(e, capCtx, src, w, a, filter, func() bool { return watch.Over(a) })
	wg.Wait()
	if len(res.Targets) == 0 {
		// Nothing to report on: the -o file made for the report goes,
		// and so does the evidence bundle begun.
		if of.file != nil {
			of.file.Close()
			os.Remove(of.out)
		}
		af.close()
		ef.abandon()
		if len(res.Failures) > 0 {
			e.errorf("verify: %s", strings.Join(res.Failures, "; "))
			e.hintf("check the resolver with: vpce-verify resolve %s", name)
			return exitError
		}
		e.errorf("verify: %s has no address (NXDOMAIN or no A/AAAA records)", name)
		return exitInconclusive
	}
	warn = append(warn, res.Warnings...)
	warn = append(warn, res.Failures...)
	if notCaptured != nil {
		ev.Inputs[0].Err = errors.Join(ev.Inputs[0].Err, notCaptured)
	}
	b.SetProbe(reportProbe(res, conns))
	a.Finish()
	ev = evidence(ev, a)
	ev.Provenance = pf.provenance(e, cl, &af, aopts.DNSPorts)
	b.AddWarnings(warn...)
	r := b.Report(ev)
	if runRes.Err != nil {
		e.errorf("verify: %v", runRes.Err)
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

// reportProbe is what the report says of the probe: the resolution and
// the connections, in its words.
func reportProbe(res *probe.Resolution, conns []probe.Conn) *report.Probe {
	p := &report.Probe{Name: res.Name, Resolver: res.Resolver, ResolverSource: res.Source, Chain: res.Chain,
		Answers: []report.ProbeAnswer{}, Connections: []report.ProbeConn{}}
	for _, a := range res.Answers {
		p.Answers = append(p.Answers, report.ProbeAnswer{Type: a.Type, Addr: a.Addr.String(), TTL: a.TTL})
	}
	for _, c := range conns {
		pc := report.ProbeConn{Server: c.Server.String(), Error: c.Err, TLSVersion: c.TLSVersion,
			CertificateVerified: c.CertVerified, CertificateError: c.CertErr, CertificateSubject: c.CertSubject,
			CertificateIssuer: c.CertIssuer, CertificateSHA256: c.CertSHA256, HTTPStatus: c.HTTPStatus,
			AmzRequestID: c.RequestID, AmzID2: c.ID2}
		if c.Client.IsValid() {
			pc.Client = c.Client.String()
		}
		p.Connections = append(p.Connections, pc)
	}
	return p
}
