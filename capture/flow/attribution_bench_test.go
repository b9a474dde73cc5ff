//go:build linux

package flow

import (
	"net/netip"
	"runtime"
	"testing"

	"github.com/vpce-verify/vpce-verify/capture/sockowner"
)

// BenchmarkSYNFloodAttributed is BenchmarkSYNFlood with live capture's
// process attribution (OnStart asks a sockowner.Tracker) and clients on
// this host (127.0.0.0/8), so that every SYN is queued for a lookup or,
// the queue full, counted: allocs/op must stay what BenchmarkSYNFlood's
// are.
func BenchmarkSYNFloodAttributed(b *testing.B) {
	tr, err := sockowner.New(sockowner.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	a := NewAnalyzer(Options{OnFlow: func(*Flow) {}, OnStart: func(f *Flow) { tr.Observe(f.Client, f.Server, f.FirstTS) }})
	fd := newFeeder(b, a)
	fd.w = nil
	server := netip.MustParseAddrPort("127.0.0.1:443")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		client := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, byte(i >> 16), byte(i >> 8), byte(i)}), uint16(40000+i>>24))
		fd.tcp(client, server, 1000, tcpSYN, nil)
	}
	b.StopTimer()
	reportHeap(b)
	runtime.KeepAlive(a)
}
