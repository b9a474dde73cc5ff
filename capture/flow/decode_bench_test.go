package flow

import (
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// BenchmarkDecodeLibrary decodes the same Ethernet/IPv4/TCP frames (1254
// bytes, data segments of known connections) to what the flow tracker
// needs (addresses, ports, sequence numbers, flags, payload) with the
// decoder ("ours": DecodingLayerParser over preallocated layers) and with
// gopacket.NewPacket, the library's general path, with its default
// options and with Lazy|NoCopy. One op is one frame.
//
//	go test ./capture/flow -run XXX -bench DecodeLibrary -benchmem
func BenchmarkDecodeLibrary(b *testing.B) {
	_, steady := benchFrames(b, layers.LinkTypeEthernet, 100, 16)
	var sink int
	b.Run("ours", func(b *testing.B) {
		d := newDecoder(nil)
		var p packet
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if res, err := d.decode(&steady[i%len(steady)], &p); res != decodedTransport || err != nil {
				b.Fatal(res, err)
			}
			sink += len(p.payload) + int(p.seq) + int(p.flags) + int(p.src.Port())
			i++
		}
	})
	for _, c := range []struct {
		name string
		opts gopacket.DecodeOptions
	}{
		{"NewPacket", gopacket.Default},
		{"NewPacket-lazy-nocopy", gopacket.DecodeOptions{Lazy: true, NoCopy: true}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				pkt := gopacket.NewPacket(steady[i%len(steady)].Data, layers.LayerTypeEthernet, c.opts)
				ip, _ := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
				tcp, _ := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
				if ip == nil || tcp == nil {
					b.Fatal("not TCP over IPv4")
				}
				src, _ := netip.AddrFromSlice(ip.SrcIP)
				sink += len(tcp.Payload) + int(tcp.Seq) + int(src.As4()[3]) + int(tcp.SrcPort)
				if tcp.SYN {
					sink++
				}
				i++
			}
		})
	}
	_ = sink
}
