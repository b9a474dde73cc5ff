package flow

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

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
