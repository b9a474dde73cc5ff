package main

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/vpce-verify/vpce-verify/capture/flow"

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
	rf.register(fs)
	fs.Lookup("resolver").Usage = "a DNS server HOST[:PORT] to ask instead of resolving as applications do\n(nsswitch.conf, /etc/hosts, resolv.conf) (repeatable, asked in order)"
	fs.Lookup("resolv-conf").Usage = "where the host's resolvers are listed (when DNS is asked as applications ask it)"
	lf.register(fs)
	fs.Lookup("interface").Usage = "interface to capture on (repeatable); any = every interface that is up;\ndefault: those that route to the resolvers, the --endpoint-ip addresses and the default route"
	cf.register(fs)
	of.register(fs)
	if code, ok := e.parse(fs, args, verifySynopsis); !ok {
		return code
	}
	if fs.NArg() != 1 {
		e.errorf("verify: want one NAME, got %d arguments", fs.NArg())
		e.hintf("vpce-verify verify s3.ap-south-1.amazonaws.com")
		return exitError
	}
	name := strings.TrimSuffix(fs.Arg(0), ".")
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
	cl, err := cf.load()
	if err != nil {
		e.errorf("%v", err)
		return exitError
	}
	prober, err := newProber(name, *caFile, *httpHead)
	if err != nil {
		e.errorf("verify: %v", err)
		return exitError
	}
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
		if ifaces, _ = routeInterfaces(verifyRoutes(servers, cl.endpointIPs)); len(ifaces) == 0 {
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
	src, w, ok := lf.open(e, opts, &of)
	if !ok {
		return exitError
	}
	e.infof("capturing on %s (%s); resolving %s", joinNames(src.Interfaces()), filter, name)

	// Resolution and probe run while the capture does; the capture stops
	// once the tracker has seen each probe connection closed (or a moment
	// after the probe is done, or at the timeout).
	ctx, cancel := context.WithTimeout(e.ctx, *timeout)
	defer cancel()
	a := flow.NewAnalyzer(analyzerOptions(opts))
	capCtx, capCancel := context.WithCancel(ctx)
	defer capCancel()
	const port = 443
	watch := newProbeWatch(port)
	var probe *report.Probe
	var notCaptured error
	code := 0
	var wg sync.WaitGroup
	wg.Go(func() {
		var targets []netip.Addr
		var more []string
		probe, targets, more, code = resolveProbe(e, ctx, rf.client(), servers, hr, name)
		if probe == nil {
			capCancel()
			return
		}
		warn = append(warn, more...)
		var captured []bool
		captured, notCaptured = routedThrough(src.Interfaces(), targets)
		if notCaptured != nil {
			e.errorf("verify: %v", notCaptured)
			e.hintf("capture there too: -i %s, or -i any", strings.Join(missingNames(src.Interfaces(), notCaptured), " -i "))
		}
		e.infof("probing %s at %s", name, addrList(targets))
		watch.start(targets, captured)
		probe.Connections = prober.dialAll(ctx, targets, port, watch.connected)
		time.AfterFunc(time.Second, capCancel)
	})
	ev, res, _ := lf.run(capCtx, src, w, a, filter, func() bool { return watch.over(a) })
	wg.Wait()
	if probe == nil {
		// Nothing to report on: the -o file made for the report goes.
		if of.file != nil {
			of.file.Close()
			os.Remove(of.out)
		}
		return code
	}
	if notCaptured != nil {
		ev.Inputs[0].Err = errors.Join(ev.Inputs[0].Err, notCaptured)
	}
	ev.Probe = probe
	r := report.Build(ev, cl.config(warn...))
	if res.Err != nil {
		e.errorf("verify: %v", res.Err)
	}
	if err := of.write(e, r); err != nil {
		e.errorf("%v", err)
		return exitError
	}
	return exitCode(r.Verdict)
}
