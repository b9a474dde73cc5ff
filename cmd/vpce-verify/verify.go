package main

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/vpce-verify/vpce-verify/capture"
	"github.com/vpce-verify/vpce-verify/report"
)

const verifySynopsis = `Usage: vpce-verify verify [flags] NAME

On an EC2 host, in seconds: resolves NAME, captures on the interfaces that
route to the answers, makes one real TLS connection (SNI NAME) to the first
IPv4 and the first IPv6 answer, stops once those connections are closed and
captured, and reports whether they, and any other S3 traffic seen meanwhile,
went to the interface endpoint. The handshake is the proof; --http adds a
HEAD / request. The certificate is checked for NAME: a failure is a warning
(a TLS-intercepting proxy is worth knowing about), not an error.

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
	lf.register(fs)
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
	servers, warn, err := rf.servers()
	if err != nil {
		e.errorf("verify: %v", err)
		e.hintf("name a resolver: --resolver 10.0.0.2, or --vpc-resolver on an EC2 host")
		return exitError
	}
	ctx, cancel := context.WithTimeout(e.ctx, *timeout)
	defer cancel()

	probe, targets, failures, code := resolveProbe(e, ctx, rf.client(), servers, name)
	if probe == nil {
		return code
	}
	warn = append(warn, failures...)
	// The probe is HTTPS: port 443, which the filter keeps whatever
	// --port adds.
	const port = 443
	if !slices.Contains(lf.ports, port) {
		lf.ports = append(lf.ports, port)
	}
	opts, filter, err := lf.options(targets)
	if err != nil {
		e.errorf("verify: %v", err)
		return exitError
	}
	src, w, ok := lf.open(e, opts, &of)
	if !ok {
		return exitError
	}
	e.infof("capturing on %s (%s); probing %s at %s", joinNames(src.Interfaces()), filter, name, addrList(targets))

	// The probe dials while the capture runs; the capture stops once the
	// tracker has seen each probe connection closed (or a moment after the
	// probe is done, or at the timeout).
	a := capture.NewAnalyzer(capture.Options{})
	capCtx, capCancel := context.WithCancel(ctx)
	defer capCancel()
	watch := newProbeWatch(targets, port)
	var conns []report.ProbeConn
	var wg sync.WaitGroup
	wg.Go(func() {
		conns = prober.dialAll(ctx, targets, port, watch.connected)
		time.AfterFunc(time.Second, capCancel)
	})
	ev, res := lf.run(capCtx, src, w, a, filter, func() bool { return watch.over(a) })
	wg.Wait()
	probe.Connections = conns
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

// probeWatch tells the capture when the probe is over: each connection
// dialled and, when it connected, its close captured. A connection's client
// address is known from its connect on, before any packet of its close can
// reach the capture, so that the last packet of the probe is never read
// before the watch can recognise it.
type probeWatch struct {
	mu      sync.Mutex
	servers []netip.AddrPort
	clients []netip.AddrPort // zero when the dial failed
	dialled []bool
}

func newProbeWatch(targets []netip.Addr, port uint16) *probeWatch {
	w := &probeWatch{clients: make([]netip.AddrPort, len(targets)), dialled: make([]bool, len(targets))}
	for _, t := range targets {
		w.servers = append(w.servers, netip.AddrPortFrom(t, port))
	}
	return w
}

// connected records connection i's client address (zero: the dial failed).
func (w *probeWatch) connected(i int, client netip.AddrPort) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.clients[i], w.dialled[i] = client, true
}

// over reports whether a has seen every probe connection closed.
func (w *probeWatch) over(a *capture.Analyzer) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, server := range w.servers {
		if !w.dialled[i] {
			return false
		}
		if !w.clients[i].IsValid() {
			continue
		}
		if f := a.Flow(w.clients[i], server); f == nil || !f.Closed() {
			return false
		}
	}
	return true
}
