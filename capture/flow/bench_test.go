package flow

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/vpce-verify/vpce-verify/capture"
	"github.com/vpce-verify/vpce-verify/capture/pcapfile"
)

// benchFrames builds a synthetic capture: flows connections, each with a
// handshake followed by data segments in both directions, interleaved as on
// a busy host.
func benchFrames(b *testing.B, link layers.LinkType, flows, segments int) (setup, steady []capture.Frame) {
	fb := newBuilder(b, link)
	convs := make([]*conv, flows)
	for i := range convs {
		convs[i] = fb.conv(fmt.Sprintf("10.0.%d.%d:%d", i/250, i%250+1, 40000+i), "10.0.2.50:443")
		convs[i].handshake()
	}
	n := len(fb.frames)
	payload := make([]byte, 1200)
	for s := range segments {
		for _, c := range convs {
			c.send(s%2 == 0, "PA", payload)
		}
	}
	return fb.frames[:n], fb.frames[n:]
}

// BenchmarkAnalyzer measures decode + flow tracking per packet on the
// steady path: packets of known connections. The b.N loop replays the data
// segments again and again (later rounds are retransmissions to the
// tracker, which walks the same code).
func BenchmarkAnalyzer(b *testing.B) {
	for _, link := range []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL2} {
		b.Run(capture.LinkTypeName(link), func(b *testing.B) {
			setup, steady := benchFrames(b, link, 1000, 16)
			a := NewAnalyzer(Options{})
			for i := range setup {
				if err := a.Add(&setup[i]); err != nil {
					b.Fatal(err)
				}
			}
			for i := range steady { // warm up: every flow has seen data
				_ = a.Add(&steady[i])
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(steady[0].Data)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				_ = a.Add(&steady[i%len(steady)])
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Mpkt/s")
		})
	}
}

// BenchmarkReadFiles measures the whole path analyze takes: pcap reader,
// decoder, flow tracker, from an in-memory file of 1000 connections with
// 16 data segments each (one op = one packet). Every pass starts a new
// Analyzer, so B/op here is the per-file and per-connection cost (flow
// table growth, the hashing goroutine) spread over the packets; the
// per-packet path allocates nothing (allocs/op rounds to 0).
func BenchmarkReadFiles(b *testing.B) {
	setup, steady := benchFrames(b, layers.LinkTypeEthernet, 1000, 16)
	var buf bytes.Buffer
	w := pcapgo.NewWriterNanos(&buf)
	if err := w.WriteFileHeader(262144, layers.LinkTypeEthernet); err != nil {
		b.Fatal(err)
	}
	for _, f := range append(setup, steady...) {
		ci := gopacket.CaptureInfo{Timestamp: f.TS, CaptureLength: len(f.Data), Length: f.WireLen}
		if err := w.WritePacket(ci, f.Data); err != nil {
			b.Fatal(err)
		}
	}
	data := buf.Bytes()
	n := len(setup) + len(steady)
	b.ReportAllocs()
	b.SetBytes(int64(len(data) / n))
	b.ResetTimer()
	packets := 0
	for packets < b.N {
		a := NewAnalyzer(Options{})
		in, _ := pcapfile.ReadFiles(context.Background(), a, []pcapfile.File{fileInMemory("bench.pcap", data)})
		if in[0].Err != nil || int(in[0].Packets) != n {
			b.Fatalf("read %d packets: %v", in[0].Packets, in[0].Err)
		}
		packets += n
	}
	b.StopTimer()
	b.ReportMetric(float64(packets)/b.Elapsed().Seconds()/1e6, "Mpkt/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(packets), "ns/pkt")
}

func fileInMemory(name string, data []byte) pcapfile.File {
	return pcapfile.File{Name: name, Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}
}

// BenchmarkSYNFlood gives one SYN of a new connection per op, streamed to
// OnFlow with the default limits (100,000 connections open at most):
// run it with -benchtime=1000000x for a million connections. MiB-heap is
// the heap in use at the end, after a collection: what the analysis keeps.
func BenchmarkSYNFlood(b *testing.B) {
	a := NewAnalyzer(Options{OnFlow: func(*Flow) {}})
	fd := newFeeder(b, a)
	fd.w = nil
	server := netip.MustParseAddrPort("52.219.64.10:443")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		fd.tcp(hostileClient(i, uint16(40000+i>>24)), server, 1000, tcpSYN, nil)
	}
	b.StopTimer()
	reportHeap(b)
	runtime.KeepAlive(a)
}

// BenchmarkFragmentFlood gives, per op, the first fragment of a datagram
// that never completes, 30 ms after the one before (about 1000 wait, and
// one expires with each): -benchtime=1000000x
// for a million.
func BenchmarkFragmentFlood(b *testing.B) {
	a := NewAnalyzer(Options{})
	host := netip.MustParseAddr("10.0.1.25")
	f := capture.Frame{LinkType: layers.LinkTypeRaw}
	buf := make([]byte, 0, 2048)
	junk := make([]byte, 1400)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		src := netip.AddrFrom4([4]byte{198, byte(i >> 24), byte(i >> 16), byte(i >> 8)})
		f.Data = ipv4Fragment(buf, src, host, uint16(i), 0, true, layers.IPProtocolUDP, junk)
		f.WireLen, f.TS = len(f.Data), hostileT0.Add(time.Duration(i)*30*time.Millisecond)
		_ = a.Add(&f)
	}
	b.StopTimer()
	reportHeap(b)
	runtime.KeepAlive(a)
}

func reportHeap(b *testing.B) {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "MiB-heap")
}
