package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
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
       vpce-verify verify [flags] --bucket BUCKET --region REGION
       vpce-verify verify [flags] s3://BUCKET[/KEY] --region REGION
       vpce-verify verify [flags] https://HOST/PATH

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

NAME is what the applications connect to; --bucket and --region, or an
s3:// URL and --region, stand for the bucket's virtual-hosted name
(BUCKET.s3.REGION.amazonaws.com; s3.REGION.amazonaws.com for a bucket
with dots, which its certificate does not cover), an https:// URL for its
host: the name taken is said on stderr. An address is not a NAME: verify
resolves the name as the applications do (to say what an address is,
vpce-verify classify ADDR).

The handshake is the proof; --http adds a HEAD / request. The certificate is
checked for NAME: a failure is a warning (a TLS-intercepting proxy is worth
knowing about), not an error.

Needs CAP_NET_RAW (see vpce-verify capture --help).
Exit codes as analyze: 0 pass, 1 fail, 2 error, 3 inconclusive.

Examples:
  sudo vpce-verify verify s3.ap-south-1.amazonaws.com
  sudo vpce-verify verify --bucket my-bucket --region ap-south-1
  sudo vpce-verify verify --vpc-resolver --endpoints endpoints.json my-bucket.s3.ap-south-1.amazonaws.com
`

func cmdVerify(e *env, args []string) int {
	fs := pflag.NewFlagSet("verify", pflag.ContinueOnError)
	var lf liveFlags
	var cf classifyFlags
	var of outputFlags
	var rf resolverFlags
	timeout := fs.Duration("timeout", 10*time.Second, "give up after this long: resolution, capture and probe together")
	bucket := fs.String("bucket", "", "verify this bucket's virtual-hosted name (needs --region)")
	region := fs.String("region", "", "the bucket's region (with --bucket or an s3:// URL); alone, s3.REGION.amazonaws.com")
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
	name, said, err := verifyName(fs.Args(), *bucket, *region)
	if err != nil {
		e.errorf("verify: %v", err)
		var ue *usageError
		if errors.As(err, &ue) {
			e.hintf("%s", ue.hint)
		}
		return exitError
	}
	if said != "" {
		e.infof("%s", said)
	}
	if err := af.check(); err != nil {
		e.errorf("%s: %v", fs.Name(), err)
		return exitError
	}
	of.flows = af.flows
	if !of.checkOutput(e, "verify") {
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
		e.errorf("verify: %v", err)
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
	capCtx, capCancel := context.WithCancelCause(ctx)
	defer capCancel(nil)
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
			capCancel(nil)
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
		time.AfterFunc(time.Second, func() { capCancel(errProbeDone) })
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
	warnings := append(coded("resolv-conf", warn), coded("host-resolution", res.Warnings)...)
	warnings = append(warnings, coded("resolution-failed", res.Failures)...)
	if notCaptured != nil {
		ev.Inputs[0].Err = errors.Join(ev.Inputs[0].Err, notCaptured)
	}
	b.SetProbe(reportProbe(res, conns))
	a.Finish()
	ev = evidence(ev, a)
	ev.Provenance = pf.provenance(e, cl, &af, aopts.DNSPorts)
	b.AddWarnings(warnings...)
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

// probeDone is the capture's stop reason once verify's probe is over: its
// connections were seen closed, or a second passed after the probe.
const probeDone = "probe done"

var errProbeDone = errors.New(probeDone)

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

// usageError is a mistake in the arguments with a hint that fixes it.
type usageError struct{ msg, hint string }

func (e *usageError) Error() string { return e.msg }

// verifyName is the name verify probes: NAME, or the one derived from
// --bucket and --region, an s3:// URL and --region, or an https:// URL;
// said tells the user which name was derived from what.
func verifyName(args []string, bucket, region string) (name, said string, err error) {
	const example = "vpce-verify verify s3.ap-south-1.amazonaws.com, or --bucket my-bucket --region ap-south-1"
	switch {
	case len(args) > 1:
		return "", "", &usageError{fmt.Sprintf("want one NAME, got %d arguments", len(args)), example}
	case len(args) == 0 && bucket == "" && region == "":
		return "", "", &usageError{"want one NAME, got 0 arguments", example}
	case len(args) == 1 && bucket != "":
		return "", "", &usageError{fmt.Sprintf("both a NAME (%s) and --bucket: give one", args[0]), example}
	}
	arg := ""
	if len(args) == 1 {
		arg = args[0]
	}
	from := "--bucket " + bucket + " --region " + region
	switch lower := strings.ToLower(arg); {
	case strings.HasPrefix(lower, "s3://"):
		bucket, _, _ = strings.Cut(arg[len("s3://"):], "/")
		if bucket == "" {
			return "", "", &usageError{fmt.Sprintf("%s names no bucket", arg), "vpce-verify verify s3://my-bucket --region ap-south-1"}
		}
		if region == "" {
			return "", "", &usageError{fmt.Sprintf("%s: an s3:// URL says no region, and the bucket's name depends on it", arg),
				fmt.Sprintf("add --region (aws s3api get-bucket-location --bucket %s says which): vpce-verify verify %s --region ap-south-1", bucket, arg)}
		}
		from = arg + " in " + region
	case strings.HasPrefix(lower, "https://") || strings.HasPrefix(lower, "http://"):
		u, perr := url.Parse(arg)
		if perr != nil || u.Hostname() == "" {
			return "", "", &usageError{fmt.Sprintf("%s: not a URL with a host", arg), "vpce-verify verify https://my-bucket.s3.ap-south-1.amazonaws.com/key"}
		}
		if p := u.Port(); p != "" && p != "443" {
			return "", "", &usageError{fmt.Sprintf("%s: port %s; verify probes HTTPS on 443", arg, p), "vpce-verify verify " + u.Hostname()}
		}
		if _, aerr := netip.ParseAddr(u.Hostname()); aerr == nil {
			return "", "", addressError(u.Hostname())
		}
		name = strings.TrimSuffix(u.Hostname(), ".")
		if err := checkName(name); err != nil {
			return "", "", err
		}
		return name, fmt.Sprintf("verifying %s, the host of %s", name, arg), nil
	case arg != "":
		if _, aerr := netip.ParseAddr(arg); aerr == nil {
			return "", "", addressError(arg)
		}
		if ap, aerr := netip.ParseAddrPort(arg); aerr == nil {
			return "", "", addressError(ap.Addr().String())
		}
		name = strings.TrimSuffix(arg, ".")
		if err := checkName(name); err != nil {
			return "", "", err
		}
		return name, "", nil
	case bucket != "" && region == "":
		return "", "", &usageError{"--bucket needs --region: the names of a bucket depend on its region",
			fmt.Sprintf("vpce-verify verify --bucket %s --region ap-south-1 (aws s3api get-bucket-location --bucket %s says which)", bucket, bucket)}
	}
	names, err := resolve.BucketNames(bucket, region)
	if err != nil {
		return "", "", err
	}
	if bucket == "" {
		return names[0], fmt.Sprintf("verifying %s, S3's name in %s", names[0], region), nil
	}
	if strings.Contains(bucket, ".") {
		// *.s3.REGION.amazonaws.com does not cover a.b.s3...: clients
		// use the path-style name.
		return names[1], fmt.Sprintf("verifying %s, the path-style name of %s (the bucket's name has dots, which the virtual-hosted name's certificate does not cover)", names[1], from), nil
	}
	return names[0], fmt.Sprintf("verifying %s, the virtual-hosted name of %s", names[0], from), nil
}

// addressError refuses an address where verify wants a name.
func addressError(addr string) error {
	return &usageError{fmt.Sprintf("%s is an address, not a name: verify resolves the name the applications use, as they do", addr),
		fmt.Sprintf("give that name (vpce-verify verify s3.ap-south-1.amazonaws.com); to say what %s is: vpce-verify classify %s", addr, addr)}
}
