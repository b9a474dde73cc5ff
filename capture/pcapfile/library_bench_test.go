package pcapfile

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/vpce-verify/vpce-verify/capture"
)

// The benchmarks and tests in this file and library_test.go compare Reader
// with gopacket's pcapgo readers, the library the package could use instead.
// Both read the same bytes, written by pcapgo's own writers.

// libraryFrames is a capture of what the tool is pointed at: 200 HTTPS
// connections to S3, each a DNS query and answer, a handshake, a 517-byte
// client hello, a server flight and a download of a dozen full segments
// with their acknowledgements, then the close: 6 000 Ethernet frames of
// 54 to 1514 bytes.
func libraryFrames(tb testing.TB) ([][]byte, []gopacket.CaptureInfo) {
	tb.Helper()
	var frames [][]byte
	var infos []gopacket.CaptureInfo
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	client := net.IP{10, 0, 1, 25}
	resolver := net.IP{10, 0, 0, 2}
	s3 := net.IP{52, 216, 8, 107}
	macC := net.HardwareAddr{0x02, 0, 0, 0, 0, 1}
	macG := net.HardwareAddr{0x02, 0, 0, 0, 0, 2}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	add := func(fromClient bool, transport gopacket.SerializableLayer, payload []byte, src, dst net.IP) {
		eth := &layers.Ethernet{SrcMAC: macC, DstMAC: macG, EthernetType: layers.EthernetTypeIPv4}
		if !fromClient {
			eth.SrcMAC, eth.DstMAC = macG, macC
		}
		ip := &layers.IPv4{Version: 4, TTL: 64, SrcIP: src, DstIP: dst, Protocol: layers.IPProtocolTCP}
		switch l := transport.(type) {
		case *layers.UDP:
			ip.Protocol = layers.IPProtocolUDP
			l.SetNetworkLayerForChecksum(ip)
		case *layers.TCP:
			l.SetNetworkLayerForChecksum(ip)
		}
		if err := gopacket.SerializeLayers(buf, opts, eth, ip, transport, gopacket.Payload(payload)); err != nil {
			tb.Fatal(err)
		}
		frames = append(frames, bytes.Clone(buf.Bytes()))
		infos = append(infos, gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(buf.Bytes()), Length: len(buf.Bytes())})
		ts = ts.Add(137 * time.Microsecond)
	}
	payload := func(n int, seed byte) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = seed ^ byte(i*31)
		}
		return b
	}
	for c := range 200 {
		port := layers.TCPPort(40000 + c)
		dnsq := &layers.UDP{SrcPort: layers.UDPPort(50000 + c), DstPort: 53}
		add(true, dnsq, payload(44, byte(c)), client, resolver)
		dnsr := &layers.UDP{SrcPort: 53, DstPort: layers.UDPPort(50000 + c)}
		add(false, dnsr, payload(120, byte(c)), resolver, client)
		seqC, seqS := uint32(1000*c), uint32(7000*c)
		tcp := func(fromClient bool, flags string, n int) {
			t := &layers.TCP{SrcPort: port, DstPort: 443, Seq: seqC, Ack: seqS, Window: 502}
			src, dst := client, s3
			if !fromClient {
				t.SrcPort, t.DstPort, t.Seq, t.Ack = 443, port, seqS, seqC
				src, dst = s3, client
			}
			for _, f := range flags {
				switch f {
				case 'S':
					t.SYN = true
				case 'A':
					t.ACK = true
				case 'P':
					t.PSH = true
				case 'F':
					t.FIN = true
				}
			}
			add(fromClient, t, payload(n, byte(c)), src, dst)
			if fromClient {
				seqC += uint32(n)
			} else {
				seqS += uint32(n)
			}
		}
		tcp(true, "S", 0)
		tcp(false, "SA", 0)
		tcp(true, "A", 0)
		tcp(true, "PA", 517)
		tcp(false, "A", 0)
		tcp(false, "PA", 1400)
		tcp(true, "A", 0)
		tcp(true, "PA", 64)
		for range 6 {
			tcp(false, "A", 1460)
			tcp(false, "PA", 1460)
			tcp(true, "A", 0)
		}
		tcp(true, "FA", 0)
		tcp(false, "FA", 0)
	}
	return frames, infos
}

// libraryFiles is libraryFrames written by pcapgo.Writer (pcap,
// microseconds, snap length 262144) and pcapgo.NgWriter (pcapng, one
// interface, nanoseconds), plain and gzip-compressed.
func libraryFiles(tb testing.TB) (pcap, ng []byte, packets int) {
	tb.Helper()
	frames, infos := libraryFrames(tb)
	var p, n bytes.Buffer
	w := pcapgo.NewWriter(&p)
	if err := w.WriteFileHeader(262144, layers.LinkTypeEthernet); err != nil {
		tb.Fatal(err)
	}
	nw, err := pcapgo.NewNgWriter(&n, layers.LinkTypeEthernet)
	if err != nil {
		tb.Fatal(err)
	}
	for i, f := range frames {
		if err := w.WritePacket(infos[i], f); err != nil {
			tb.Fatal(err)
		}
		if err := nw.WritePacket(infos[i], f); err != nil {
			tb.Fatal(err)
		}
	}
	if err := nw.Flush(); err != nil {
		tb.Fatal(err)
	}
	return p.Bytes(), n.Bytes(), len(frames)
}

func libraryGzip(tb testing.TB, data []byte) []byte {
	tb.Helper()
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	if _, err := zw.Write(data); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return out.Bytes()
}

// libraryOurs reads every packet of data with Reader, as ReadFiles does:
// into one Frame, and giving the read buffers back at the end.
func libraryOurs(data []byte) (int, error) {
	r, err := NewReader("bench", bytes.NewReader(data))
	if err != nil {
		return 0, err
	}
	defer r.release()
	var f capture.Frame
	n := 0
	for {
		if err := r.Next(&f); err != nil {
			if err == io.EOF {
				return n, nil
			}
			return n, err
		}
		n++
	}
}

// libraryPcapgo reads every packet of data with pcapgo, filling the same
// Frame. Each pcapgo reader takes one format, so the caller must tell pcap
// from pcapng first: from the first bytes, decompressed when they are gzip
// (pcapgo then decompresses the stream itself). WantMixedLinkType is what
// the analysis needs: a pcapng file may mix link types, and by default
// pcapgo drops the packets of every link type but the first.
func libraryPcapgo(data []byte) (int, error) {
	var read func() ([]byte, gopacket.CaptureInfo, error)
	var linkType func(gopacket.CaptureInfo) layers.LinkType
	br := bufio.NewReaderSize(bytes.NewReader(data), 64<<10)
	ng, err := libraryIsPcapng(br)
	if err != nil {
		return 0, err
	}
	if ng {
		r, err := pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			return 0, err
		}
		read = r.ZeroCopyReadPacketData
		linkType = func(ci gopacket.CaptureInfo) layers.LinkType { return ci.AncillaryData[0].(layers.LinkType) }
	} else {
		r, err := pcapgo.NewReader(br)
		if err != nil {
			return 0, err
		}
		read = r.ZeroCopyReadPacketData
		lt := r.LinkType()
		linkType = func(gopacket.CaptureInfo) layers.LinkType { return lt }
	}
	var f capture.Frame
	n := 0
	for {
		data, ci, err := read()
		if err != nil {
			if err == io.EOF {
				return n, nil
			}
			return n, err
		}
		f.TS, f.Data, f.WireLen, f.LinkType, f.Interface = ci.Timestamp, data, ci.Length, linkType(ci), ci.InterfaceIndex
		n++
	}
}

// libraryIsPcapng tells pcapng from pcap by the first four bytes, after
// decompressing what br holds when it starts with the gzip magic.
func libraryIsPcapng(br *bufio.Reader) (bool, error) {
	head, _ := br.Peek(br.Size())
	if len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(head))
		if err != nil {
			return false, err
		}
		head = make([]byte, 4)
		if _, err := io.ReadFull(zr, head); err != nil {
			return false, err
		}
	}
	return bytes.HasPrefix(head, []byte{0x0a, 0x0d, 0x0d, 0x0a}), nil
}

// BenchmarkLibrary reads the same 6 000-packet file with Reader ("ours")
// and with pcapgo, as pcap and pcapng, plain and gzip-compressed. One op is
// the whole file, opened and read to its end; ns/packet, B/packet and
// allocs/packet divide the op by its packets, and so include the opening.
//
//	go test ./capture/pcapfile -run XXX -bench Library -benchmem
func BenchmarkLibrary(b *testing.B) {
	pcap, ng, packets := libraryFiles(b)
	inputs := []struct {
		name  string
		data  []byte
		plain int // bytes once decompressed, for MB/s
	}{
		{"pcap", pcap, len(pcap)},
		{"pcapng", ng, len(ng)},
		{"pcap.gz", libraryGzip(b, pcap), len(pcap)},
		{"pcapng.gz", libraryGzip(b, ng), len(ng)},
	}
	readers := []struct {
		name string
		read func([]byte) (int, error)
	}{
		{"ours", libraryOurs},
		{"pcapgo", libraryPcapgo},
	}
	for _, in := range inputs {
		for _, rd := range readers {
			b.Run(fmt.Sprintf("%s/%s", in.name, rd.name), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(in.plain))
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				for b.Loop() {
					n, err := rd.read(in.data)
					if err != nil || n != packets {
						b.Fatalf("read %d packets of %d: %v", n, packets, err)
					}
				}
				runtime.ReadMemStats(&after)
				per := float64(b.N * packets)
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/per, "ns/packet")
				b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/per, "B/packet")
				b.ReportMetric(float64(after.Mallocs-before.Mallocs)/per, "allocs/packet")
			})
		}
	}
}
