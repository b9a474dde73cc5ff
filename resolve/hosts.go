package resolve

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
)

// maxHostsFile bounds what is read of a hosts file. Block lists make some
// of them megabytes long; nothing sane is longer than this.
const maxHostsFile = 64 << 20

// HostsAddrs returns the addresses that hosts(5) data gives name, in file
// order, the way the C library's "files" source answers an application
// that asks for any address family (getaddrinfo with AF_UNSPEC): every
// line whose canonical name or one of whose aliases is name, compared
// without regard to ASCII case, gives its address, IPv4 and IPv6 alike. '#'
// starts a comment; a line whose first field is not an IPv4 or IPv6
// address (a zone such as fe80::1%eth0 is not) is skipped, as the C
// library skips it.
func HostsAddrs(data []byte, name string) []netip.Addr {
	var out []netip.Addr
	for len(data) > 0 {
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		if i := bytes.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(string(line))
		if len(f) < 2 {
			continue
		}
		a, err := netip.ParseAddr(f[0])
		if err != nil || a.Zone() != "" {
			continue
		}
		for _, n := range f[1:] {
			if asciiEqualFold(n, name) {
				out = append(out, a)
				break
			}
		}
	}
	return out
}

// asciiEqualFold compares as the C library's strcasecmp does: only ASCII
// letters fold (strings.EqualFold would also match "ſ" with "s").
func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// ReadHosts returns the addresses the hosts file at path gives name (see
// HostsAddrs). A file that does not exist is an error that wraps
// fs.ErrNotExist: the C library then passes over the "files" source.
func ReadHosts(path, name string) ([]netip.Addr, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxHostsFile+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > maxHostsFile {
		return nil, fmt.Errorf("%s: longer than %d MiB", path, maxHostsFile>>20)
	}
	return HostsAddrs(data, name), nil
}
