package probe

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/vpce-verify/vpce-verify/capture/flow"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/vpce-verify/vpce-verify/capture"
)

// tcpFrame builds a raw IPv4 TCP segment from -> to.
func tcpFrame(t *testing.T, from, to netip.AddrPort, seq, ack uint32, flags string) capture.Frame {
	t.Helper()
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP,
		SrcIP: net.IP(from.Addr().AsSlice()), DstIP: net.IP(to.Addr().AsSlice())}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(from.Port()), DstPort: layers.TCPPort(to.Port()), Seq: seq, Ack: ack, Window: 65535}
	for _, f := range flags {
		switch f {
		case 'S':
			tcp.SYN = true
		case 'A':
			tcp.ACK = true
		case 'F':
			tcp.FIN = true
		}
	}
	tcp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ip, tcp); err != nil {
		t.Fatal(err)
	}
	return capture.Frame{TS: time.Unix(1800000000, 0), Data: buf.Bytes(), WireLen: len(buf.Bytes()), LinkType: layers.LinkTypeRaw}
}

// The capture may read the whole probe connection, close included, before
// the probe has returned: the watch must still recognise the close then,
// and the capture must not wait for a packet that never comes.
func TestProbeWatch(t *testing.T) {
	server := netip.MustParseAddrPort("127.0.2.50:443")
	client := netip.MustParseAddrPort("127.0.0.1:40000")
	conn := [][]any{
		{client, server, uint32(100), uint32(0), "S"},
		{server, client, uint32(500), uint32(101), "SA"},
		{client, server, uint32(101), uint32(501), "A"},
		{client, server, uint32(101), uint32(501), "FA"},
		{server, client, uint32(501), uint32(102), "FA"},
		{client, server, uint32(102), uint32(502), "A"},
	}
	tests := []struct {
		name      string
		targets   []string
		connected []netip.AddrPort // by target; zero: the dial failed
		captured  []bool           // by target; nil: all
		packets   int              // of conn, fed before asking
		resolving bool             // start not called yet
		want      bool
	}{
		{"the name is still being resolved", nil, nil, nil, 0, true, false},
		{"close captured while resolving: not the probe's", []string{"127.0.2.50"}, nil, nil, len(conn), true, false},
		{"target not captured: nothing to wait for", []string{"127.0.2.50"}, []netip.AddrPort{client}, []bool{false}, 0, false, true},
		{"one target captured, one not", []string{"127.0.2.50", "127.0.3.10"}, []netip.AddrPort{client, netip.MustParseAddrPort("127.0.0.1:40001")}, []bool{true, false}, 3, false, false},
		{"close captured, then the probe returns", []string{"127.0.2.50"}, []netip.AddrPort{client}, nil, len(conn), false, true},
		{"connected, close not captured yet", []string{"127.0.2.50"}, []netip.AddrPort{client}, nil, 3, false, false},
		{"not dialled yet", []string{"127.0.2.50"}, nil, nil, 0, false, false},
		{"dial failed", []string{"127.0.2.50"}, []netip.AddrPort{{}}, nil, 0, false, true},
		{"second target not dialled yet", []string{"127.0.2.50", "127.0.3.10"}, []netip.AddrPort{client}, nil, len(conn), false, false},
		{"second target's dial failed", []string{"127.0.2.50", "127.0.3.10"}, []netip.AddrPort{client, {}}, nil, len(conn), false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var targets []netip.Addr
			for _, s := range tc.targets {
				targets = append(targets, netip.MustParseAddr(s))
			}
			w := NewWatch(443)
			if !tc.resolving {
				w.Start(targets, tc.captured)
			}
			a := flow.NewAnalyzer(flow.Options{})
			for _, p := range conn[:tc.packets] {
				f := tcpFrame(t, p[0].(netip.AddrPort), p[1].(netip.AddrPort), p[2].(uint32), p[3].(uint32), p[4].(string))
				if err := a.Add(&f); err != nil {
					t.Fatal(err)
				}
			}
			if !tc.resolving {
				for i, c := range tc.connected {
					w.Connected(i, c)
				}
			}
			if got := w.Over(a); got != tc.want {
				t.Errorf("over = %v, want %v", got, tc.want)
			}
		})
	}
}
