package resolve

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
)

// Server is a DNS server to ask, and where it was named.
type Server struct {
	Addr   netip.AddrPort
	Source string // "/etc/resolv.conf", "--resolver", "--vpc-resolver", ...
	// Upstream holds the servers systemd-resolved forwards to, when Addr
	// is its stub listener (127.0.0.53 or 127.0.0.54) and UpstreamSource
	// could be read: the stub is what applications ask, the upstream is
	// what decides whether private DNS applies.
	Upstream       []netip.AddrPort
	UpstreamSource string
}

// VPCResolvers are the addresses of the Amazon-provided DNS server that
// every VPC has, besides the VPC's base address plus two.
var VPCResolvers = []netip.AddrPort{
	netip.MustParseAddrPort("169.254.169.253:53"),
	netip.MustParseAddrPort("[fd00:ec2::253]:53"),
}

// IsVPCResolver reports whether a is the Amazon-provided DNS server: one
// of VPCResolvers, or the base address of one of vpcCIDRs plus two.
func IsVPCResolver(a netip.Addr, vpcCIDRs []netip.Prefix) bool {
	a = a.Unmap()
	for _, v := range VPCResolvers {
		if v.Addr() == a {
			return true
		}
	}
	for _, p := range vpcCIDRs {
		if base := p.Masked().Addr(); base.Next().Next() == a {
			return true
		}
	}
	return false
}

// The C library reads at most this many nameserver lines (MAXNS).
const maxNameservers = 3

// ParseServer reads HOST[:PORT] as the user writes a resolver: an IPv4
// address, an IPv6 address (in brackets when a port follows), and port 53
// when none is given. Host names are refused: resolving the resolver would
// need a resolver.
func ParseServer(s string) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		if ap.Port() == 0 {
			return netip.AddrPort{}, fmt.Errorf("%q: port 0", s)
		}
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
	}
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"))
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%q: want an IP address with an optional port (10.0.0.2, 10.0.0.2:53, [fd00:ec2::253]:53)", s)
	}
	return netip.AddrPortFrom(a.Unmap(), 53), nil
}

// parseResolvConf reads the nameserver lines of a resolv.conf(5) file the
// way the C library does: comments start with '#' or ';', a nameserver
// that is not an IP address is skipped, only the first three count. What
// was skipped is returned in warnings, naming the line.
func parseResolvConf(name string, data []byte) (servers []netip.AddrPort, warnings []string) {
	for i, line := range bytes.Split(data, []byte("\n")) {
		f := strings.Fields(string(line))
		if len(f) < 2 || f[0] != "nameserver" {
			continue
		}
		a, err := netip.ParseAddr(f[1])
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("%s:%d: nameserver %s is not an IP address; skipped", name, i+1, quoteShort(f[1])))
			continue
		}
		if len(servers) == maxNameservers {
			warnings = append(warnings, fmt.Sprintf("%s:%d: nameserver %s ignored: the C library uses only the first %d", name, i+1, a, maxNameservers))
			continue
		}
		servers = append(servers, netip.AddrPortFrom(a.Unmap(), 53))
	}
	return servers, warnings
}

// maxResolvConf bounds what is read of a resolv.conf file; real ones are a
// few hundred bytes.
const maxResolvConf = 1 << 20

func readResolvConf(path string) ([]netip.AddrPort, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxResolvConf))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	servers, warnings := parseResolvConf(path, data)
	return servers, warnings, nil
}

// isResolvedStub reports whether a is a listener of systemd-resolved.
func isResolvedStub(a netip.Addr) bool {
	return a == netip.AddrFrom4([4]byte{127, 0, 0, 53}) || a == netip.AddrFrom4([4]byte{127, 0, 0, 54})
}

// SystemServers returns the DNS servers the host's applications use, from
// resolvConf (normally /etc/resolv.conf). When one of them is
// systemd-resolved's stub, the servers it forwards to are read from
// systemdConf (normally /run/systemd/resolve/resolv.conf) and named in
// Upstream. Lines that were skipped, and an upstream file that could not be
// read, come back as warnings.
func SystemServers(resolvConf, systemdConf string) ([]Server, []string, error) {
	addrs, warnings, err := readResolvConf(resolvConf)
	if err != nil {
		return nil, nil, fmt.Errorf("resolv.conf: %w", err)
	}
	if len(addrs) == 0 {
		return nil, warnings, fmt.Errorf("resolv.conf: %s names no nameserver", resolvConf)
	}
	var servers []Server
	for _, a := range addrs {
		s := Server{Addr: a, Source: resolvConf}
		if isResolvedStub(a.Addr()) {
			up, upWarn, err := readResolvConf(systemdConf)
			warnings = append(warnings, upWarn...)
			switch {
			case err != nil:
				warnings = append(warnings, fmt.Sprintf("%s is systemd-resolved's stub, but the servers it forwards to are unknown: %v", a, err))
			case len(up) == 0:
				warnings = append(warnings, fmt.Sprintf("%s is systemd-resolved's stub, and %s names no upstream server", a, systemdConf))
			default:
				s.Upstream, s.UpstreamSource = up, systemdConf
			}
		}
		servers = append(servers, s)
	}
	return servers, warnings, nil
}

// quoteShort quotes a word from a configuration file for an error, cut to
// a readable length.
func quoteShort(s string) string {
	if len(s) > 64 {
		return fmt.Sprintf("%q...", s[:64])
	}
	return fmt.Sprintf("%q", s)
}
