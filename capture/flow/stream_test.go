package flow

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/vpce-verify/vpce-verify/capture/hello"
	"github.com/vpce-verify/vpce-verify/internal/testenv"
)

// helloLimit is what the flow tracker collects of a client's first bytes: one
// full TLS record and its header.
const helloLimit = 16<<10 + 5

// helloConn is a net.Conn that keeps what is written to it and reads from r
// (EOF when r is nil), so a crypto/tls endpoint can be driven byte for byte.
type helloConn struct {
	r io.Reader
	w bytes.Buffer
}

func (c *helloConn) Read(b []byte) (int, error) {
	if c.r == nil {
		return 0, io.EOF
	}
	return c.r.Read(b)
}
func (c *helloConn) Write(b []byte) (int, error) { return c.w.Write(b) }
func (c *helloConn) Close() error                { return nil }
func (c *helloConn) LocalAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
}
func (c *helloConn) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 443} }
func (c *helloConn) SetDeadline(time.Time) error      { return nil }
func (c *helloConn) SetReadDeadline(time.Time) error  { return nil }
func (c *helloConn) SetWriteDeadline(time.Time) error { return nil }

// helloFromGo returns the bytes a crypto/tls client writes before it first
// waits for the server: its ClientHello.
func helloFromGo(t testing.TB, cfg *tls.Config) []byte {
	t.Helper()
	c := &helloConn{}
	_ = tls.Client(c, cfg).Handshake() // fails at the read, after the hello is written
	if c.w.Len() == 0 {
		t.Fatalf("crypto/tls client wrote nothing (config %+v)", cfg)
	}
	return c.w.Bytes()
}

// helloSegments cuts stream into n pieces of about equal size.
func helloSegments(stream []byte, n int) [][]byte {
	var segs [][]byte
	for i := range n {
		segs = append(segs, stream[i*len(stream)/n:(i+1)*len(stream)/n])
	}
	return segs
}

// helloSegment is a TCP segment of a test: its offset from the stream start
// and its payload.
type helloSegment struct {
	off  int
	data []byte
}

func helloPermutations(n int) [][]int {
	if n == 1 {
		return [][]int{{0}}
	}
	var out [][]int
	for _, p := range helloPermutations(n - 1) {
		for i := range n {
			q := slices.Insert(slices.Clone(p), i, n-1)
			out = append(out, q)
		}
	}
	return out
}

func TestStreamPrefixReassemblesHello(t *testing.T) {
	const sni = "bucket.vpce-0a1b2c3d4e5f67890-9hnenorg.s3.ap-south-1.vpce.amazonaws.com"
	ch := helloFromGo(t, &tls.Config{ServerName: sni})
	if len(ch) <= 1448 {
		t.Fatalf("hello is %d bytes: too small to need reassembly", len(ch))
	}
	rng := mrand.New(mrand.NewPCG(1, 2))

	type delivery struct {
		name string
		segs []helloSegment
	}
	var cases []delivery
	for _, n := range []int{2, 3} {
		pieces := helloSegments(ch, n)
		for _, perm := range helloPermutations(n) {
			var segs []helloSegment
			for _, i := range perm {
				segs = append(segs, helloSegment{i * len(ch) / n, pieces[i]})
			}
			cases = append(cases, delivery{fmt.Sprintf("%d segments order %v", n, perm), segs})
		}
	}
	{
		pieces := helloSegments(ch, 10)
		for k := range 20 {
			perm := rng.Perm(10)
			var segs []helloSegment
			for _, i := range perm {
				segs = append(segs, helloSegment{i * len(ch) / 10, pieces[i]})
			}
			cases = append(cases, delivery{fmt.Sprintf("10 segments shuffle %d", k), segs})
		}
	}
	{
		// Every segment twice, the copies last and in reverse.
		var segs []helloSegment
		for i, p := range helloSegments(ch, 4) {
			segs = append(segs, helloSegment{i * len(ch) / 4, p})
		}
		for i := len(segs) - 1; i >= 0; i-- {
			segs = append(segs, segs[i])
		}
		cases = append(cases, delivery{"duplicates", segs})
	}
	for k := range 20 {
		// Random overlapping retransmissions, shuffled.
		var segs []helloSegment
		for off := 0; off < len(ch); {
			end := min(len(ch), off+1+rng.IntN(600))
			segs = append(segs, helloSegment{off, ch[off:end]})
			off = max(off+1, end-rng.IntN(200))
		}
		rng.Shuffle(len(segs), func(i, j int) { segs[i], segs[j] = segs[j], segs[i] })
		cases = append(cases, delivery{fmt.Sprintf("overlaps %d", k), segs})
	}
	{
		// A segment reaching back before the first byte (its head is not
		// part of this stream and must not appear).
		junk := append(bytes.Repeat([]byte{0xee}, 40), ch[:700]...)
		cases = append(cases, delivery{"starts before start", []helloSegment{{700, ch[700:]}, {-40, junk}}})
		cases = append(cases, delivery{"entirely before start", []helloSegment{{-40, junk[:40]}, {0, ch}}})
	}

	for _, start := range []uint32{1000, 1<<32 - 700, 1<<32 - 1, 0} {
		for _, c := range cases {
			t.Run(fmt.Sprintf("start %d %s", start, c.name), func(t *testing.T) {
				var p streamPrefix
				p.reset(start, helloLimit)
				for _, s := range c.segs {
					p.add(start+uint32(s.off), s.data)
				}
				if !bytes.Equal(p.bytes(), ch) {
					t.Fatalf("bytes() is %d bytes, differs from the %d-byte hello", len(p.bytes()), len(ch))
				}
				got, err := hello.ParseClientHello(p.bytes())
				if err != nil || got.SNI != sni {
					t.Errorf("hello.ParseClientHello = %q, %v", got.SNI, err)
				}
			})
		}
	}
}

// helloModel is the reference for streamPrefix: for each stream offset
// below the limit, the first byte that arrived for it.
type helloModel struct {
	set  []bool
	b    []byte
	size int // length of the contiguous prefix
}

func newHelloModel(limit int) *helloModel {
	return &helloModel{set: make([]bool, limit), b: make([]byte, limit)}
}

func (m *helloModel) add(off int, data []byte) {
	for i, b := range data {
		if o := off + i; o >= 0 && o < len(m.b) && !m.set[o] {
			m.set[o], m.b[o] = true, b
		}
	}
	for m.size < len(m.b) && m.set[m.size] {
		m.size++
	}
}

func (m *helloModel) prefix() []byte { return m.b[:m.size] }

func TestStreamPrefixFirstArrivalWins(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(3, 4))
	for k := range 200 {
		const limit = 700
		start := rng.Uint32()
		var p streamPrefix
		p.reset(start, limit)
		m := newHelloModel(limit)
		for range 1 + rng.IntN(40) {
			off := rng.IntN(800) - 50
			data := make([]byte, rng.IntN(120))
			for i := range data {
				data[i] = byte(rng.IntN(4)) // few values, so overlaps often disagree
			}
			p.add(start+uint32(off), data)
			m.add(off, data)
			if want := m.prefix(); !bytes.Equal(p.bytes(), want) {
				t.Fatalf("run %d: prefix %v, want %v", k, p.bytes(), want)
			}
			if p.full() != (len(m.prefix()) == limit) {
				t.Fatalf("run %d: full() = %v with %d bytes", k, p.full(), len(p.bytes()))
			}
		}
	}
}

func TestStreamPrefixLimitsAndMemory(t *testing.T) {
	stream := make([]byte, 3000)
	for i := range stream {
		stream[i] = byte(i * 7)
	}

	t.Run("limit", func(t *testing.T) {
		var p streamPrefix
		p.reset(5, 1000)
		p.add(5+900, stream[900:1500])
		p.add(5, stream[:900])
		p.add(5+1000, stream[1000:2000])
		if !bytes.Equal(p.bytes(), stream[:1000]) || !p.full() {
			t.Errorf("got %d bytes, full %v; want the first 1000, full", len(p.bytes()), p.full())
		}
		if cap(p.buf) > 1000 {
			t.Errorf("buffer capacity %d beyond the limit", cap(p.buf))
		}
	})

	t.Run("far segment costs its size", func(t *testing.T) {
		var p streamPrefix
		p.reset(5, helloLimit)
		p.add(5+16000, stream[:10])
		if len(p.bytes()) != 0 || cap(p.buf)+cap(p.ooo) > 64 {
			t.Errorf("one 10-byte segment at offset 16000 holds %d+%d bytes", cap(p.buf), cap(p.ooo))
		}
	})

	t.Run("held bytes stay bounded under repeats", func(t *testing.T) {
		var p streamPrefix
		p.reset(5, helloLimit)
		for range 1000 {
			p.add(5+100, stream[100:1500])
		}
		if len(p.ooo) != 1400 || len(p.pending) != 1 {
			t.Errorf("1000 copies of one segment hold %d bytes in %d ranges", len(p.ooo), len(p.pending))
		}
		p.add(5, stream[:100])
		if !bytes.Equal(p.bytes(), stream[:1500]) || len(p.pending) != 0 {
			t.Errorf("got %d bytes, %d ranges pending", len(p.bytes()), len(p.pending))
		}
	})

	t.Run("too many holes", func(t *testing.T) {
		var p streamPrefix
		p.reset(5, helloLimit)
		for off := 10; off < 1000; off += 10 { // 99 separate 1-byte ranges
			p.add(5+uint32(off), stream[off:off+1])
		}
		if len(p.pending) > prefixMaxPending {
			t.Errorf("%d ranges held", len(p.pending))
		}
		p.add(5, stream[:2000])
		if !bytes.Equal(p.bytes(), stream[:2000]) {
			t.Errorf("prefix of %d bytes differs from the stream", len(p.bytes()))
		}
	})

	t.Run("reset and release", func(t *testing.T) {
		var p streamPrefix
		p.reset(5, helloLimit)
		p.add(5, stream[:100])
		p.add(5+200, stream[200:300])
		p.reset(1<<32-3, helloLimit)
		if len(p.bytes()) != 0 || len(p.pending) != 0 {
			t.Fatal("reset kept data")
		}
		p.add(1<<32-3, stream[:50])
		if !bytes.Equal(p.bytes(), stream[:50]) {
			t.Error("wrapped stream after reset differs")
		}
		p.release()
		if p.bytes() != nil || p.ooo != nil || p.pending != nil {
			t.Error("release kept buffers")
		}
	})
}

func TestStreamPrefixInOrderAddDoesNotAllocate(t *testing.T) {
	ch := helloFromGo(t, &tls.Config{ServerName: "bucket.s3.ap-south-1.amazonaws.com"})
	var p streamPrefix
	segs := helloSegments(ch, 2)
	run := func() {
		p.reset(77, helloLimit)
		p.add(77, segs[0])
		p.add(77+uint32(len(segs[0])), segs[1])
	}
	run()
	if n := testing.AllocsPerRun(100, run); n != 0 {
		t.Errorf("in-order add allocates %v times per stream after warm-up", n)
	}
	outOfOrder := func() {
		p.reset(77, helloLimit)
		p.add(77+uint32(len(segs[0])), segs[1])
		p.add(77, segs[0])
	}
	outOfOrder()
	if n := testing.AllocsPerRun(100, outOfOrder); n != 0 {
		t.Errorf("out-of-order add allocates %v times per stream after warm-up", n)
	}
}

// helloFlowKey names one direction of a TCP connection.
type helloFlowKey struct{ src, dst netip.AddrPort }

// helloCorpusStreams reassembles, for every TCP connection of a shared
// capture whose SYN it holds, the client's first bytes.
func helloCorpusStreams(t *testing.T, name string) map[helloFlowKey]*streamPrefix {
	t.Helper()
	f, err := os.Open(testenv.Shared(t, "corpus", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	flows := map[helloFlowKey]*streamPrefix{}
	for {
		data, _, err := r.ReadPacketData()
		if err != nil {
			if err != io.EOF {
				t.Logf("%s: reading stopped: %v", name, err)
			}
			return flows
		}
		pkt := gopacket.NewPacket(data, r.LinkType(), gopacket.DecodeOptions{Lazy: true, NoCopy: true})
		tcp, _ := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if tcp == nil {
			continue
		}
		var src, dst netip.Addr
		switch ip := pkt.NetworkLayer().(type) {
		case *layers.IPv4:
			src, _ = netip.AddrFromSlice(ip.SrcIP)
			dst, _ = netip.AddrFromSlice(ip.DstIP)
		case *layers.IPv6:
			src, _ = netip.AddrFromSlice(ip.SrcIP)
			dst, _ = netip.AddrFromSlice(ip.DstIP)
		default:
			continue
		}
		k := helloFlowKey{netip.AddrPortFrom(src.Unmap(), uint16(tcp.SrcPort)), netip.AddrPortFrom(dst.Unmap(), uint16(tcp.DstPort))}
		if tcp.SYN && !tcp.ACK {
			p := &streamPrefix{}
			p.reset(tcp.Seq+1, helloLimit)
			flows[k] = p
			continue
		}
		if p := flows[k]; p != nil && len(tcp.Payload) > 0 {
			p.add(tcp.Seq, tcp.Payload)
		}
	}
}

// TestClientHelloCorpus checks real hellos against the facts that tshark
// reports for the shared captures (the notes of the shared corpus, testenv.Shared(t, "corpus")).
func TestClientHelloCorpus(t *testing.T) {
	tests := []struct {
		file      string
		skip      int // bytes of another protocol before the hello
		sni       string
		alpn      []string
		versions  []uint16
		keyShares []uint16
		ech       bool
	}{
		{file: "tls-split-client-hello.pcap", sni: "clients2.google.com", alpn: []string{"h2", "http/1.1"}, versions: []uint16{0x0304, 0x0303}, keyShares: []uint16{4588, 29}, ech: true},
		{file: "dump_mtu300.pcap", sni: "www.google.com", alpn: []string{"h2", "http/1.1"}, versions: []uint16{0x0303}},
		{file: "chrome-1250-tls-x25519-kyber.pcap", sni: "lh3.google.com", alpn: []string{"h2", "http/1.1"}, versions: []uint16{0x0304, 0x0303}, keyShares: []uint16{25497, 29}, ech: true},
		{file: "tls13-ech.pcap", sni: "cloudflare-ech.com", alpn: []string{"h2", "http/1.1"}, versions: []uint16{0x0304, 0x0303}, keyShares: []uint16{29}, ech: true},
		{file: "curl-enabled-tls13.pcap", sni: "enabled.tls13.com", alpn: []string{"h2", "http/1.1"}, versions: []uint16{0x0304}, keyShares: []uint16{29}},
		{file: "tls-fragmented-handshake.pcap.gz", sni: "104.236.167.107", versions: []uint16{0x0303}},
		{file: "tls13.pcap", sni: "blog.cloudflare.com", alpn: []string{"h2", "http/1.1"}, versions: []uint16{0x7f12, 0x0303, 0x0302, 0x0301}, keyShares: []uint16{29}},
		{file: "openjdk-25.0.2-zeek.org.pcap", sni: "zeek.org", alpn: []string{"h2", "http/1.1"}, versions: []uint16{0x0304, 0x0303}, keyShares: []uint16{29, 23}},
		// PostgreSQL asks for TLS with an 8-byte SSLRequest first.
		{file: "psql-aws-ssl-require.pcap", skip: 8, sni: "database-1.cyx4x7yvdoay.us-east-1.rds.amazonaws.com", versions: []uint16{0x0304, 0x0303}, keyShares: []uint16{29}},
		{file: "tls_DER-incomplete-header.pcap", versions: []uint16{0x0303}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			flows := helloCorpusStreams(t, tt.file)
			hellos := 0
			for k, p := range flows {
				stream := p.bytes()
				if tt.skip > 0 {
					if _, err := hello.ParseClientHello(stream); err != hello.ErrNotTLS {
						t.Errorf("%v: stream before the skip: %v, want hello.ErrNotTLS", k, err)
					}
					stream = stream[min(tt.skip, len(stream)):]
				}
				got, err := hello.ParseClientHello(stream)
				if err != nil {
					t.Errorf("%v: %v (%d bytes)", k, err, len(stream))
					continue
				}
				hellos++
				if got.SNI != tt.sni || !slices.Equal(got.ALPN, tt.alpn) || !slices.Equal(got.Versions, tt.versions) ||
					!slices.Equal(got.KeyShareGroups, tt.keyShares) || got.ECH != tt.ech {
					t.Errorf("%v: got %+v\nwant SNI %q ALPN %q Versions %#04x KeyShareGroups %v ECH %v", k, got, tt.sni, tt.alpn, tt.versions, tt.keyShares, tt.ech)
				}
			}
			if hellos == 0 {
				t.Error("no ClientHello found")
			}
		})
	}

	t.Run("split hello needs both segments", func(t *testing.T) {
		// The corpus notes: frame 4 = 1392 B + frame 5 = 337 B of hello.
		for _, p := range helloCorpusStreams(t, "tls-split-client-hello.pcap") {
			if len(p.bytes()) < 1392+337 {
				t.Fatalf("reassembled only %d bytes", len(p.bytes()))
			}
			first := p.bytes()[:1392]
			got, err := hello.ParseClientHello(first)
			if !errors.Is(err, hello.ErrIncomplete) || hello.NeededBytes(first) != 1392+337 {
				t.Errorf("first segment: %+v, %v, hello.NeededBytes %d; want hello.ErrIncomplete, 1729", got, err, hello.NeededBytes(first))
			}
		}
	})
}

// helloTshark is one ClientHello as tshark reads it.
type helloTshark struct {
	sni, alpn, versions, groups string
	ech                         bool
}

// TestClientHelloCorpusMatchesTshark reads every ClientHello of the TLS
// captures, including a Windows browsing session with 40 of them, and
// compares each with tshark's dissection of the same connection.
func TestClientHelloCorpusMatchesTshark(t *testing.T) {
	tshark := testenv.Tool(t, "tshark")
	files := []string{
		"tls-subjectaltname_input.pcap", "tls-split-client-hello.pcap", "dump_mtu300.pcap",
		"chrome-1250-tls-x25519-kyber.pcap", "tls13-ech.pcap", "curl-enabled-tls13.pcap",
		"tls-fragmented-handshake.pcap.gz", "tls13.pcap", "openjdk-25.0.2-zeek.org.pcap",
	}
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			path := testenv.Shared(t, "corpus", file)
			out, err := exec.Command(tshark, "-n", "-r", path, "-Y", "tls.handshake.type == 1", "-T", "fields", "-E", "separator=|",
				"-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.srcport", "-e", "ip.dst", "-e", "ipv6.dst", "-e", "tcp.dstport",
				"-e", "tls.handshake.extensions_server_name", "-e", "tls.handshake.extensions_alpn_str",
				"-e", "tls.handshake.extensions.supported_version", "-e", "tls.handshake.extensions_key_share_group",
				"-e", "tls.handshake.extension.type", "-e", "tls.handshake.version").Output()
			if err != nil {
				t.Fatalf("tshark: %v", err)
			}
			want := map[helloFlowKey]helloTshark{}
			sc := bufio.NewScanner(bytes.NewReader(out))
			for sc.Scan() {
				f := strings.Split(sc.Text(), "|")
				if len(f) != 12 {
					t.Fatalf("tshark line %q", sc.Text())
				}
				src, dst := f[0]+f[1], f[3]+f[4]
				k := helloFlowKey{netip.AddrPortFrom(netip.MustParseAddr(src), helloPort(t, f[2])), netip.AddrPortFrom(netip.MustParseAddr(dst), helloPort(t, f[5]))}
				if _, dup := want[k]; dup {
					continue // a second hello (after HelloRetryRequest): ours is the first
				}
				versions := helloTsharkNoGREASE(t, f[8], 16)
				if versions == "" {
					versions = helloTsharkNoGREASE(t, f[11], 16)
				}
				want[k] = helloTshark{
					sni: f[6], alpn: f[7], versions: versions, groups: helloTsharkNoGREASE(t, f[9], 10),
					ech: slices.Contains(strings.Split(f[10], ","), "65037"),
				}
			}
			flows := helloCorpusStreams(t, file)
			matched := 0
			for k, p := range flows {
				got, err := hello.ParseClientHello(p.bytes())
				w, ok := want[k]
				if err != nil {
					if ok {
						t.Errorf("%v: tshark saw SNI %q, we got %v", k, w.sni, err)
					}
					continue
				}
				if !ok {
					t.Errorf("%v: we parsed a hello (%q) tshark did not see", k, got.SNI)
					continue
				}
				matched++
				g := helloTshark{sni: got.SNI, alpn: strings.Join(got.ALPN, ","), versions: helloJoin(got.Versions, 16), groups: helloJoin(got.KeyShareGroups, 10), ech: got.ECH}
				if g != w {
					t.Errorf("%v:\n got %+v\nwant %+v", k, g, w)
				}
			}
			if matched == 0 {
				t.Error("no hello compared")
			}
			t.Logf("%d hellos agree with tshark", matched)
		})
	}
}

func helloPort(t *testing.T, s string) uint16 {
	t.Helper()
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		t.Fatalf("tshark port %q: %v", s, err)
	}
	return uint16(n)
}

// helloTsharkNoGREASE rewrites a tshark list (0x-hex or decimal) in base
// base, without GREASE values.
func helloTsharkNoGREASE(t *testing.T, list string, base int) string {
	t.Helper()
	if list == "" {
		return ""
	}
	var vs []uint16
	for _, s := range strings.Split(list, ",") {
		v, err := strconv.ParseUint(s, 0, 16)
		if err != nil {
			t.Fatalf("tshark value %q: %v", s, err)
		}
		if v&0x0f0f != 0x0a0a || v>>8 != v&0xff {
			vs = append(vs, uint16(v))
		}
	}
	return helloJoin(vs, base)
}

func helloJoin(vs []uint16, base int) string {
	var s []string
	for _, v := range vs {
		if base == 16 {
			s = append(s, fmt.Sprintf("%#04x", v))
		} else {
			s = append(s, strconv.Itoa(int(v)))
		}
	}
	return strings.Join(s, ",")
}

func BenchmarkStreamPrefixAdd(b *testing.B) {
	ch := helloFromGo(b, &tls.Config{ServerName: "bucket.s3.ap-south-1.amazonaws.com"})
	segs := helloSegments(ch, 2)
	var p streamPrefix
	b.Run("in order", func(b *testing.B) {
		b.SetBytes(int64(len(ch)))
		b.ReportAllocs()
		for b.Loop() {
			p.reset(1<<32-100, helloLimit)
			p.add(1<<32-100, segs[0])
			p.add(1<<32-100+uint32(len(segs[0])), segs[1])
		}
	})
	b.Run("reversed with a duplicate", func(b *testing.B) {
		b.SetBytes(int64(len(ch)))
		b.ReportAllocs()
		for b.Loop() {
			p.reset(1<<32-100, helloLimit)
			p.add(1<<32-100+uint32(len(segs[0])), segs[1])
			p.add(1<<32-100+uint32(len(segs[0])), segs[1])
			p.add(1<<32-100, segs[0])
		}
	})
}

// discard moves the stream's start past bytes already used (a parsed DNS
// message) and keeps what was held beyond a gap.
func TestStreamPrefixDiscard(t *testing.T) {
	stream := make([]byte, 60)
	for i := range stream {
		stream[i] = byte(i)
	}
	var p streamPrefix
	p.reset(1000, 100)
	p.add(1000, stream[:10])
	p.add(1040, stream[40:50]) // held, arrived first
	p.add(1020, stream[20:30]) // held
	p.discard(5)
	if !bytes.Equal(p.bytes(), stream[5:10]) || len(p.ooo) != 20 {
		t.Fatalf("after discard: prefix %v, %d bytes held; want stream[5:10] and the 20 held", p.bytes(), len(p.ooo))
	}
	p.add(1010, stream[10:20])
	p.add(1030, stream[30:40])
	if !bytes.Equal(p.bytes(), stream[5:50]) {
		t.Errorf("prefix %v, want stream[5:50]: the held ranges must survive the discard", p.bytes())
	}
}

// skip moves the start past a request's body, held or not: what is held
// beyond the new start stays, the rest goes.
func TestStreamPrefixSkip(t *testing.T) {
	stream := make([]byte, 200)
	for i := range stream {
		stream[i] = byte(i)
	}
	for _, n := range []int64{5, 10, 25, 35, 45, 60} {
		var p streamPrefix
		p.reset(1000, 100)
		p.add(1000, stream[:10])
		p.add(1040, stream[40:50])
		p.add(1020, stream[20:30])
		p.skip(n)
		for _, r := range [][2]int{{10, 20}, {30, 40}, {50, 80}} {
			p.add(1000+uint32(r[0]), stream[r[0]:r[1]])
		}
		if want := stream[n:80]; !bytes.Equal(p.bytes(), want) || len(p.pending) != 0 || len(p.ooo) != 0 {
			t.Errorf("skip(%d): prefix %v, %d ranges held; want stream[%d:80]", n, p.bytes(), len(p.pending), n)
		}
	}
}
