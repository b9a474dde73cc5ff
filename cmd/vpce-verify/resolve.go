package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
	"github.com/spf13/pflag"

	"github.com/vpce-verify/vpce-verify/report"
	"github.com/vpce-verify/vpce-verify/resolve"
)

const resolveSynopsis = `Usage: vpce-verify resolve [flags] [@SERVER] NAME... [A|AAAA]

Asks DNS for the A and AAAA records of each name, 8 lookups at a time, follows
CNAME chains, and says what every address is: an interface endpoint, another
private address, a public AWS address (service, region, prefix) or not AWS.
--timeout bounds the whole command (10s): a query still unanswered then is
reported as cut by the time limit, and the answers that came are judged.
A NAME may also be an interface endpoint's DNS entry
(*.vpce-ID-SUFFIX.s3.REGION.vpce.amazonaws.com: its bucket., accesspoint.
and control. names) or, with --endpoints, its ID (vpce-...). Names are asked
as given: search domains are never applied. As with dig, @SERVER is
--resolver SERVER, and A or AAAA asks only that type.

Resolvers: those of --resolv-conf (with systemd-resolved, the servers in
/run/systemd/resolve/resolv.conf are named too), or --resolver and
--vpc-resolver; each is asked in turn until one answers.

Exit codes: 0 every address of an S3 name is an interface endpoint address,
1 one is public (even if other queries got no answer), 3 no S3 name has an
address, 2 error (a resolver did not answer, or the time limit cut a query;
the other answers are still printed).

Examples:
  vpce-verify resolve s3.ap-south-1.amazonaws.com
  vpce-verify resolve @10.0.0.2 my-bucket.s3.ap-south-1.amazonaws.com AAAA
  vpce-verify resolve --vpc-resolver --bucket my-bucket --region ap-south-1
  vpce-verify resolve --endpoints endpoints.json vpce-0a1b2c3d4e5f67890
  vpce-verify resolve --resolver 10.0.0.2 --compare-resolver 1.1.1.1 s3.ap-south-1.amazonaws.com
`

func cmdResolve(e *env, args []string) int {
	fs := pflag.NewFlagSet("resolve", pflag.ContinueOnError)
	var cf classifyFlags
	var of outputFlags
	var rf resolverFlags
	timeout := fs.Duration("timeout", 10*time.Second, "give up after this long: every query, retry and follow-up together; what came is reported")
	rf.register(fs, e.sys)
	compare := fs.String("compare-resolver", "", "also ask this DNS server HOST[:PORT] and show where its answers differ")
	bucket := fs.String("bucket", "", "resolve the virtual-hosted and path-style names of this bucket (needs --region)")
	region := fs.String("region", "", "the bucket's region; alone, resolve s3.REGION.amazonaws.com")
	cf.register(fs)
	of.register(fs)
	fs.Lookup("format").Usage = "output format: text or json (schema vpce-verify/resolve/v1)"
	if code, ok := e.parse(fs, args, resolveSynopsis); !ok {
		return code
	}
	args, types, err := digArgs(fs.Args(), &rf)
	if err != nil {
		e.errorf("resolve: %v", err)
		e.hintf("vpce-verify resolve [@SERVER] NAME... [A|AAAA], as dig: vpce-verify resolve @10.0.0.2 s3.ap-south-1.amazonaws.com A")
		return exitError
	}
	if !of.checkOutput(e, "resolve") {
		return exitError
	}
	if *timeout <= 0 {
		e.errorf("resolve: --timeout must be positive")
		return exitError
	}
	if err := rf.check("--dns-timeout"); err != nil {
		e.errorf("resolve: %v", err)
		return exitError
	}
	// The time limit counts from here, loading the inventory and
	// ip-ranges.json included.
	ctx, cancel := context.WithTimeout(e.ctx, *timeout)
	defer cancel()
	cl, err := cf.load(e)
	if err != nil {
		e.errorf("resolve: %v", err)
		return exitError
	}

	switch {
	case *bucket != "" && *region == "":
		e.errorf("resolve: --bucket needs --region: the names of a bucket depend on its region")
		return exitError
	case *region != "":
		more, err := resolve.BucketNames(*bucket, *region)
		if err != nil {
			e.errorf("resolve: %v", err)
			return exitError
		}
		args = append(args, more...)
	case len(args) == 0:
		e.errorf("resolve: no name given")
		e.hintf("vpce-verify resolve s3.ap-south-1.amazonaws.com, or --bucket NAME --region REGION")
		return exitError
	}
	var names []string
	for _, a := range args {
		more, err := resolve.Names(a, cl.inventory)
		if err != nil {
			e.errorf("resolve: %v", err)
			return exitError
		}
		for _, n := range more {
			if err := checkName(n); err != nil {
				e.errorf("resolve: %v", err)
				return exitError
			}
			if !slices.ContainsFunc(names, func(x string) bool { return strings.EqualFold(x, n) }) {
				names = append(names, n)
			}
		}
	}

	servers, warn, err := rf.servers()
	if err != nil {
		e.errorf("resolve: %v", err)
		e.hintf("name a resolver: --resolver 10.0.0.2, or --vpc-resolver on an EC2 host")
		return exitError
	}
	ev := report.ResolveEvidence{Resolvers: servers, VPCCIDRs: cl.vpcCIDRs}
	client := rf.client()
	client.Types = types
	var wg sync.WaitGroup
	if *compare != "" {
		ap, err := resolve.ParseServer(*compare)
		if err != nil {
			e.errorf("resolve: --compare-resolver %v", err)
			return exitError
		}
		ev.CompareResolver = resolve.Server{Addr: ap, Source: "--compare-resolver"}
		wg.Go(func() { ev.Compare = client.LookupAll(ctx, []resolve.Server{ev.CompareResolver}, names) })
	}
	ev.Answers = client.LookupAll(ctx, servers, names)
	wg.Wait()

	r := report.BuildResolve(ev, cl.config(coded("resolv-conf", warn)...))
	queries := r.Queries
	if r.Compare != nil {
		queries = append(slices.Clone(queries), r.Compare.Queries...)
	}
	// Queries cut by the time limit are said once, together; the report
	// marks each.
	answers := append(slices.Clip(ev.Answers), ev.Compare...)
	var cut []string
	for i, q := range queries {
		switch a := answers[i]; {
		case errors.Is(a.Err, context.DeadlineExceeded) || errors.Is(a.Err, context.Canceled):
			cut = append(cut, q.Name+" "+q.QType)
		case q.Error != nil && resolve.Status(q.Status).Failed():
			e.errorf("%s %s: %s", q.Name, q.QType, *q.Error)
		}
	}
	if len(cut) > 0 {
		list := strings.Join(cut[:min(3, len(cut))], ", ")
		if len(cut) > 3 {
			list += fmt.Sprintf(" and %d more; the report marks each", len(cut)-3)
		}
		if e.ctx.Err() != nil {
			e.errorf("the command was interrupted before %d of %d queries were answered: %s", len(cut), len(queries), list)
		} else {
			e.errorf("the time limit (--timeout %v) passed before %d of %d queries were answered: %s", *timeout, len(cut), len(queries), list)
			e.hintf("give it more time (--timeout %v); --dns-timeout (%v) is the wait for each reply, --tries (%d) the tries per resolver", 3*(*timeout), rf.timeout, rf.tries)
		}
	}
	if err := of.write(e, r); err != nil {
		e.errorf("%v", err)
		return exitError
	}
	return exitCode(r.Verdict)
}

// digArgs takes dig's habits out of resolve's arguments: @SERVER is a
// --resolver (before those of the flag, as dig asks it), A and AAAA
// choose the record types. Other types, and dig's +options, are errors:
// resolve judges addresses.
func digArgs(args []string, rf *resolverFlags) (names, types []string, err error) {
	var servers []string
	for _, a := range args {
		switch upper := strings.ToUpper(a); {
		case strings.HasPrefix(a, "@"):
			if a == "@" {
				return nil, nil, errors.New("@ without a server: write @10.0.0.2")
			}
			servers = append(servers, a[1:])
		case upper == "A" || upper == "AAAA":
			if !slices.Contains(types, upper) {
				types = append(types, upper)
			}
		case strings.HasPrefix(a, "+"):
			return nil, nil, fmt.Errorf("%s: dig's options are not taken here (--format json gives what +short would, for tools)", a)
		case !strings.Contains(a, ".") && (dns.StringToType[upper] != 0 || upper == "ANY"):
			return nil, nil, fmt.Errorf("%s: only A and AAAA records are asked: the addresses are what is judged", a)
		default:
			names = append(names, a)
		}
	}
	rf.resolvers = append(servers, rf.resolvers...)
	return names, types, nil
}

// checkName refuses, before anything is sent, what is not a host name: a
// URL, an address with a port, a name dns.IsDomainName rejects (an empty
// label, a label over 63 bytes, more than 255 bytes), or one with a
// character no host name has.
func checkName(name string) error {
	if strings.Contains(name, "://") {
		host := name[strings.Index(name, "://")+3:]
		host, _, _ = strings.Cut(host, "/")
		return fmt.Errorf("%q is a URL: give its host name, %s", name, host)
	}
	if _, ok := dns.IsDomainName(name); !ok {
		return fmt.Errorf("%q: not a domain name (an empty label, a label over 63 bytes, or over 255 in all)", name)
	}
	if i := strings.IndexFunc(name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
	}); i >= 0 {
		return fmt.Errorf("%q: %q is not in a host name (letters, digits, -, _ and . only)", name, name[i:i+1])
	}
	return nil
}
