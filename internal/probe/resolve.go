package probe

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/vpce-verify/vpce-verify/capture"
	"github.com/vpce-verify/vpce-verify/internal/host"
	"github.com/vpce-verify/vpce-verify/resolve"
)

// Answer is one address the probe's name resolved to.
type Answer struct {
	Type string // "A" or "AAAA"
	Addr netip.Addr
	TTL  uint32 // 0 from a hosts file, which has none
}

// Resolution is what resolving the probe's name gave.
type Resolution struct {
	Name string
	// Resolver answered (an address, or the hosts file's path), found as
	// Source says (--resolver, resolv.conf, the nsswitch.conf order).
	Resolver, Source string
	Chain            []string // the name, then the CNAMEs followed
	Answers          []Answer
	// Targets are the first IPv4 and the first IPv6 answer: the addresses
	// the probe dials.
	Targets []netip.Addr
	// Steps says how the host's order was followed, for the user; "" when
	// the servers were named.
	Steps string
	// Warnings are for the report; Failures are the queries that failed,
	// the error when there is no target.
	Warnings, Failures []string
}

// Resolve asks for name's addresses: from servers, or, when hr is not nil,
// as the host's applications get them (nsswitch.conf, the hosts file,
// resolv.conf).
func Resolve(ctx context.Context, client *resolve.Client, servers []resolve.Server, hr *resolve.HostResolver, name string) *Resolution {
	r := &Resolution{Name: name, Chain: []string{name}}
	if hr == nil {
		r.fromDNS(client.LookupAll(ctx, servers, []string{name}))
		return r
	}
	l := hr.Lookup(ctx, name)
	r.Warnings = append(r.Warnings, l.Warnings...)
	r.Steps = fmt.Sprintf("%s resolved as applications resolve it (%s): %s", name, l.Order, strings.Join(l.Steps, "; "))
	switch {
	case l.Source == "files":
		r.fromHosts(hr.HostsFile, l)
		r.Warnings = append(r.Warnings, fmt.Sprintf("%s was answered by %s (%s), not by DNS: no DNS exchange for it is expected in the capture, and every application on this host that resolves it through the C library gets %s whatever DNS says",
			name, hr.HostsFile, l.Order, AddrList(l.Hosts)))
		if l.Order.Default {
			r.Warnings = append(r.Warnings, fmt.Sprintf("there is no hosts line in %s: the C library's built-in order (dns [!UNAVAIL=return] files) asks DNS first, while Go programs, musl and verify read %s first",
				hr.Order.File, hr.HostsFile))
		}
	default:
		r.fromDNS(l.DNS)
		if l.Source == "" && len(l.DNS) == 0 {
			// DNS was never asked: why (no resolv.conf, an unreadable
			// hosts file) is the error, not "no address".
			r.Failures = append(r.Failures, l.Warnings...)
		}
	}
	return r
}

// fromDNS records DNS answers, the first address of each type as a target,
// and the queries that failed.
func (r *Resolution) fromDNS(answers []*resolve.Answer) {
	for _, ans := range answers {
		if ans.Status.Failed() {
			r.Failures = append(r.Failures, fmt.Sprintf("%s %s: %v", r.Name, ans.Type, ans.Err))
			continue
		}
		if r.Resolver == "" {
			r.Resolver, r.Source, r.Chain = ans.Server.Addr.String(), ans.Server.Source, ans.Chain
		}
		for i, ad := range ans.Addresses {
			r.Answers = append(r.Answers, Answer{Type: ans.Type, Addr: ad.Addr, TTL: ad.TTL})
			if i == 0 {
				r.Targets = append(r.Targets, ad.Addr)
			}
		}
	}
}

// fromHosts records the hosts file's answer and its first IPv4 and first
// IPv6 address as targets. An IPv4-mapped IPv6 address is reached over
// IPv4, so it counts as IPv4.
func (r *Resolution) fromHosts(file string, l *resolve.HostLookup) {
	r.Resolver, r.Source = file, l.Order.String()
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
		r.Answers = append(r.Answers, Answer{Type: typ, Addr: a})
	}
	for _, a := range []netip.Addr{v4, v6} {
		if a.IsValid() {
			r.Targets = append(r.Targets, a)
		}
	}
}

// AddrList says "a, b, c".
func AddrList(addrs []netip.Addr) string {
	var s []string
	for _, a := range addrs {
		s = append(s, a.String())
	}
	return strings.Join(s, ", ")
}

// Routes are the addresses whose routes pick verify's interfaces before
// the name is resolved: the resolvers it asks (and the servers
// systemd-resolved forwards to), the endpoint addresses, and defaults
// (addresses standing for the default routes).
func Routes(servers []resolve.Server, endpoints, defaults []netip.Addr) []netip.Addr {
	var dsts []netip.Addr
	for _, s := range servers {
		dsts = append(dsts, s.Addr.Addr())
		for _, u := range s.Upstream {
			dsts = append(dsts, u.Addr())
		}
	}
	dsts = append(dsts, endpoints...)
	return append(dsts, defaults...)
}

// NotCapturedError says which probe targets leave by an interface the
// capture is not on: their packets are not in the evidence.
type NotCapturedError struct {
	Targets []netip.Addr
	Ifaces  []string // by target
}

func (e *NotCapturedError) Error() string {
	var s []string
	for i, t := range e.Targets {
		s = append(s, fmt.Sprintf("%s leaves by %s", t, e.Ifaces[i]))
	}
	return "the probe's connection to " + strings.Join(s, ", and to ") + ", which the capture is not on: its packets are not in the evidence"
}

// RoutedThrough says which targets leave by one of the captured
// interfaces, and names the others in a *NotCapturedError. A target
// without a route counts as captured: its connection fails before any
// packet.
func RoutedThrough(captured []capture.Interface, targets []netip.Addr) ([]bool, *NotCapturedError) {
	ok := make([]bool, len(targets))
	var missing NotCapturedError
	for i, t := range targets {
		name, err := host.RouteInterface(t)
		ok[i] = err != nil || slices.ContainsFunc(captured, func(c capture.Interface) bool { return c.Name == name })
		if !ok[i] {
			missing.Targets, missing.Ifaces = append(missing.Targets, t), append(missing.Ifaces, name)
		}
	}
	if len(missing.Targets) == 0 {
		return ok, nil
	}
	return ok, &missing
}

// Names lists the captured interfaces, then those the error names: what
// to capture on to see every target.
func (e *NotCapturedError) Names(captured []capture.Interface) []string {
	var out []string
	for _, c := range captured {
		out = append(out, c.Name)
	}
	for _, n := range e.Ifaces {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}
