package resolve

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"strings"
)

// HostResolver resolves names the way the host's applications do through
// the C library (getaddrinfo): the sources of nsswitch.conf's hosts line
// in order, "files" from the hosts file, "dns" (and "resolve", the
// systemd-resolved module, whose stub resolv.conf names) from the servers
// of resolv.conf. A name pinned in /etc/hosts is then followed as every
// application follows it, which asking DNS alone would miss.
type HostResolver struct {
	Client    *Client
	Order     HostsOrder
	HostsFile string   // normally /etc/hosts
	Servers   []Server // from resolv.conf (SystemServers)
	// ServersErr is why Servers is empty (resolv.conf unreadable, or
	// naming no server): the "dns" source is then unavailable.
	ServersErr error
}

// HostLookup is what a HostResolver found for one name.
type HostLookup struct {
	Name  string
	Order HostsOrder
	// Source is the source whose answer the applications get: "files" or
	// "dns" ("resolve" is asked as "dns"); "" when no source had an
	// address.
	Source string
	// Hosts is what the hosts file gave the name, when "files" answered.
	Hosts []netip.Addr
	// DNS holds the A and the AAAA answer when DNS was asked, whether or
	// not it had the addresses.
	DNS []*Answer
	// Steps say, source by source, what each did, for people:
	// "files (/etc/hosts): NOTFOUND".
	Steps []string
	// Warnings are what the user must hear about: sources that were not
	// asked although they might know the name, files that could not be
	// read.
	Warnings []string
}

// Lookup resolves name. Sources other than files, dns and resolve are not
// asked: myhostname and mymachines know only the host's own and its
// containers' names, and mDNS only names under .local; any other (nis,
// ldap, sss, ...) is a warning, since it might know the name.
func (r *HostResolver) Lookup(ctx context.Context, name string) *HostLookup {
	name = strings.TrimSuffix(name, ".")
	l := &HostLookup{Name: name, Order: r.Order}
	l.Warnings = append(l.Warnings, r.Order.Warnings...)
	dnsStatus, dnsAsked := NSNotFound, false
	for _, src := range r.Order.Sources {
		var st NSStatus
		switch src.Name {
		case "files":
			addrs, err := ReadHosts(r.HostsFile, name)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				st = NSUnavail
			case err != nil:
				st = NSUnavail
				l.Warnings = append(l.Warnings, fmt.Sprintf("the hosts file could not be read, as applications would read it: %v", err))
			case len(addrs) > 0:
				st, l.Hosts = NSSuccess, addrs
			default:
				st = NSNotFound
			}
			l.Steps = append(l.Steps, fmt.Sprintf("files (%s): %s", r.HostsFile, st))
		case "dns", "resolve":
			// systemd-resolved's module asks the daemon, which resolv.conf
			// names as its stub (127.0.0.53), so both are asked the same
			// way, and a second of them would ask the same servers again.
			if !dnsAsked {
				dnsStatus = r.dns(ctx, l)
				dnsAsked = true
			}
			st = dnsStatus
			l.Steps = append(l.Steps, fmt.Sprintf("%s (%s): %s", src.Name, serverList(r.Servers), st))
		case "myhostname", "mymachines":
			st = NSNotFound
			l.Steps = append(l.Steps, fmt.Sprintf("%s: not asked (it knows only the host's own names); taken as NOTFOUND", src.Name))
		case "mdns", "mdns4", "mdns6", "mdns_minimal", "mdns4_minimal", "mdns6_minimal":
			// nss-mdns answers UNAVAIL for names outside .local, so that
			// a [NOTFOUND=return] after it does not stop the lookup.
			st = NSUnavail
			if strings.HasSuffix(strings.ToLower(name), ".local") {
				l.Warnings = append(l.Warnings, fmt.Sprintf("nsswitch.conf source %s (multicast DNS) was not asked for %s; applications may get its answer", src.Name, name))
			}
			l.Steps = append(l.Steps, fmt.Sprintf("%s: not asked (multicast DNS answers only .local names); taken as UNAVAIL", src.Name))
		default:
			st = NSUnavail
			l.Warnings = append(l.Warnings, fmt.Sprintf("nsswitch.conf source %s was not asked: if it knows %s, applications get its answer, which this lookup does not show", src.Name, name))
			l.Steps = append(l.Steps, fmt.Sprintf("%s: not asked; taken as UNAVAIL", src.Name))
		}
		if st == NSSuccess && l.Source == "" {
			l.Source = "dns"
			if src.Name == "files" {
				l.Source = "files"
			}
		}
		if src.Returns(st) {
			if st != NSSuccess {
				l.Steps = append(l.Steps, fmt.Sprintf("the lookup stops here ([%s=return] after %s)", st, src.Name))
			}
			break
		}
	}
	return l
}

// dns asks for the A and AAAA records of l.Name and says how the "dns"
// source ends: with an address SUCCESS, with none a failure of either
// query (TRYAGAIN, or UNAVAIL when no server could be reached), else
// NOTFOUND (NXDOMAIN, NODATA).
func (r *HostResolver) dns(ctx context.Context, l *HostLookup) NSStatus {
	if len(r.Servers) == 0 {
		err := r.ServersErr
		if err == nil {
			err = errors.New("no DNS server")
		}
		l.Warnings = append(l.Warnings, fmt.Sprintf("DNS could not be asked as applications ask it: %v", err))
		return NSUnavail
	}
	l.DNS = r.Client.LookupAll(ctx, r.Servers, []string{l.Name})
	unavail, again := false, false
	for _, a := range l.DNS {
		switch {
		case len(a.Addresses) > 0:
			return NSSuccess
		case a.Status == StatusError:
			unavail = true
		case a.Status.Failed():
			again = true
		}
	}
	switch {
	case again:
		return NSTryAgain
	case unavail:
		return NSUnavail
	}
	return NSNotFound
}

func serverList(servers []Server) string {
	if len(servers) == 0 {
		return "no server"
	}
	var s []string
	for _, sv := range servers {
		s = append(s, sv.Addr.String())
	}
	return strings.Join(s, ", ")
}
