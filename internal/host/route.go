package host

import (
	"fmt"
	"net"
	"net/netip"
)

// RouteInterface names the interface the kernel would send packets to dst
// through. It asks by connecting a UDP socket, which sends nothing.
func RouteInterface(dst netip.Addr) (string, error) {
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(dst, 443)))
	if err != nil {
		return "", fmt.Errorf("no route to %s: %w", dst, err)
	}
	local := c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
	c.Close()
	ifaces, err := net.Interfaces()
	if err != nil {
		return "", err
	}
	for _, ifc := range ifaces {
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Unmap() == local {
					return ifc.Name, nil
				}
			}
		}
	}
	if local.IsLoopback() {
		// 127.0.0.0/8 beyond the configured address still goes through lo.
		for _, ifc := range ifaces {
			if ifc.Flags&net.FlagLoopback != 0 {
				return ifc.Name, nil
			}
		}
	}
	return "", fmt.Errorf("the route to %s leaves from %s, which no interface has", dst, local)
}
