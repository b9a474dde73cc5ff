package main

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/vpce-verify/vpce-verify/internal/host"

	"github.com/vpce-verify/vpce-verify/capture"
	"github.com/vpce-verify/vpce-verify/report"
	"github.com/vpce-verify/vpce-verify/resolve"
)

// resolveProbe asks for name's addresses: from the servers the flags
// name, or, when hr is not nil, as the host's applications get them. It
// returns the probe with its answers, the first IPv4 and the first IPv6
// address as targets, and warnings for the report (a failed query of one
// type when the other gave addresses, an answer from the hosts file). With
// no address it says why on standard error and returns nil and the exit
// code.
func resolveProbe(e *env, ctx context.Context, client *resolve.Client, servers []resolve.Server, hr *resolve.HostResolver, name string) (*report.Probe, []netip.Addr, []string, int) {
	probe := &report.Probe{Name: name, Chain: []string{name}, Answers: []report.ProbeAnswer{}}
	var targets []netip.Addr
	var warn, failures []string
	if hr == nil {
		targets, failures = probeDNS(probe, client.LookupAll(ctx, servers, []string{name}))
	} else {
		l := hr.Lookup(ctx, name)
		warn = append(warn, l.Warnings...)
		e.infof("%s resolved as applications resolve it (%s): %s", name, l.Order, strings.Join(l.Steps, "; "))
		if l.Source == "files" {
			targets = probeHosts(probe, hr.HostsFile, l)
			warn = append(warn, fmt.Sprintf("%s was answered by %s (%s), not by DNS: no DNS exchange for it is expected in the capture, and every application on this host that resolves it through the C library gets %s whatever DNS says",
				name, hr.HostsFile, l.Order, addrList(l.Hosts)))
			if l.Order.Default {
				warn = append(warn, fmt.Sprintf("there is no hosts line in %s: the C library's built-in order (dns [!UNAVAIL=return] files) asks DNS first, while Go programs, musl and verify read %s first",
					hr.Order.File, hr.HostsFile))
			}
		} else {
			targets, failures = probeDNS(probe, l.DNS)
			if l.Source == "" && len(l.DNS) == 0 {
				// DNS was never asked: why (no resolv.conf, an unreadable
				// hosts file) is the error, not "no address".
				failures = append(failures, l.Warnings...)
			}
		}
	}
	switch {
	case len(targets) > 0:
		return probe, targets, append(warn, failures...), 0
	case len(failures) > 0:
		e.errorf("verify: %s", strings.Join(failures, "; "))
		e.hintf("check the resolver with: vpce-verify resolve %s", name)
		return nil, nil, nil, exitError
	}
	e.errorf("verify: %s has no address (NXDOMAIN or no A/AAAA records)", name)
	return nil, nil, nil, exitInconclusive
}

// probeDNS records DNS answers in probe, and returns the first address of
// each type and the queries that failed.
func probeDNS(probe *report.Probe, answers []*resolve.Answer) (targets []netip.Addr, failures []string) {
	for _, ans := range answers {
		if ans.Status.Failed() {
			failures = append(failures, fmt.Sprintf("%s %s: %v", probe.Name, ans.Type, ans.Err))
			continue
		}
		if probe.Resolver == "" {
			probe.Resolver, probe.ResolverSource, probe.Chain = ans.Server.Addr.String(), ans.Server.Source, ans.Chain
		}
		for i, ad := range ans.Addresses {
			probe.Answers = append(probe.Answers, report.ProbeAnswer{Type: ans.Type, Addr: ad.Addr.String(), TTL: ad.TTL})
			if i == 0 {
				targets = append(targets, ad.Addr)
			}
		}
	}
	return targets, failures
}

// probeHosts records the hosts file's answer in probe (no TTL: the file
// has none), and returns its first IPv4 and first IPv6 address. An
// IPv4-mapped IPv6 address is reached over IPv4, so it counts as IPv4.
func probeHosts(probe *report.Probe, file string, l *resolve.HostLookup) []netip.Addr {
	probe.Resolver, probe.ResolverSource = file, l.Order.String()
	var v4, v6 netip.Addr
	for _, a := range l.Hosts {
		a = a.Unmap()
		typ := "AAAA"
		if a.Is4() {
			typ = "A"
			if !v4.IsValid() {
				v4 = a
			}
		} else if !v6.IsValid() {
			v6 = a
		}
		probe.Answers = append(probe.Answers, report.ProbeAnswer{Type: typ, Addr: a.String()})
	}
	var targets []netip.Addr
	for _, a := range []netip.Addr{v4, v6} {
		if a.IsValid() {
			targets = append(targets, a)
		}
	}
	return targets
}

func addrList(addrs []netip.Addr) string {
	var s []string
	for _, a := range addrs {
		s = append(s, a.String())
	}
	return strings.Join(s, ", ")
}

// verifyRoutes are the addresses whose routes pick verify's interfaces
// before NAME is resolved: the resolvers it asks (and the servers
// systemd-resolved forwards to), the endpoint, and the default routes.
func verifyRoutes(servers []resolve.Server, endpoints []netip.Addr) []netip.Addr {
	var dsts []netip.Addr
	for _, s := range servers {
		dsts = append(dsts, s.Addr.Addr())
		for _, u := range s.Upstream {
			dsts = append(dsts, u.Addr())
		}
	}
	dsts = append(dsts, endpoints...)
	return append(dsts, defaultRoutes...)
}

// errNotCaptured says which probe targets leave by an interface the
// capture is not on.
type errNotCaptured struct {
	targets []netip.Addr
	ifaces  []string // by target
}

func (e *errNotCaptured) Error() string {
	var s []string
	for i, t := range e.targets {
		s = append(s, fmt.Sprintf("%s leaves by %s", t, e.ifaces[i]))
	}
	return "the probe's connection to " + strings.Join(s, ", and to ") + ", which the capture is not on: its packets are not in the evidence"
}

// routedThrough says which targets leave by one of the captured
// interfaces, and names the others in an *errNotCaptured. A target without
// a route counts as captured: its connection fails before any packet.
func routedThrough(captured []capture.Interface, targets []netip.Addr) ([]bool, error) {
	ok := make([]bool, len(targets))
	var missing errNotCaptured
	for i, t := range targets {
		name, err := host.RouteInterface(t)
		ok[i] = err != nil || slices.ContainsFunc(captured, func(c capture.Interface) bool { return c.Name == name })
		if !ok[i] {
			missing.targets, missing.ifaces = append(missing.targets, t), append(missing.ifaces, name)
		}
	}
	if len(missing.targets) == 0 {
		return ok, nil
	}
	return ok, &missing
}

// missingNames lists the captured interfaces, then those err names.
func missingNames(captured []capture.Interface, err error) []string {
	var out []string
	for _, c := range captured {
		out = append(out, c.Name)
	}
	if m, ok := err.(*errNotCaptured); ok {
		for _, n := range m.ifaces {
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	return out
}
