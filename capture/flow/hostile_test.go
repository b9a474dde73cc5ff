package flow

import (
	"encoding/binary"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/miekg/dns"
	"github.com/vpce-verify/vpce-verify/capture"
)

// Hostile inputs: each test feeds what used to take minutes or gigabytes,
// and bounds the CPU time and the heap it may take now. The frames are written
// into one reused buffer, so that the test itself holds no more than one.

// heapWatch samples the heap in use while an input is analysed.
type heapWatch struct {
	base, peak uint64
	ms         runtime.MemStats
}

func watchHeap() *heapWatch {
	w := &heapWatch{}
	runtime.GC()
	runtime.ReadMemStats(&w.ms)
	w.base, w.peak = w.ms.HeapInuse, w.ms.HeapInuse
	return w
}

// sample collects the garbage first: what is measured is the memory the
// analysis keeps, not how late the collector runs.
func (w *heapWatch) sample() {
	runtime.GC()
	runtime.ReadMemStats(&w.ms)
	w.peak = max(w.peak, w.ms.HeapInuse)
}

// grew returns how far the heap in use rose above where it began, in MiB.
func (w *heapWatch) grew() float64 { return float64(w.peak-w.base) / (1 << 20) }

var hostileT0 = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

// 100,000 datagrams whose first fragment never finds the rest: first
// spread out so that one expires with nearly every fragment (the old
// reassembler then scanned the whole table each time), then as a burst
// that fills the table. Expiry costs O(1) a fragment, the table stays
// within its bound, and a genuine fragmented DNS answer after it all is
// still read.
func TestHostileFragmentFlood(t *testing.T) {
	const n = 100_000
	host, resolver := netip.MustParseAddr("10.0.1.25"), netip.MustParseAddr("10.0.0.2")
	a := NewAnalyzer(Options{})
	f := capture.Frame{LinkType: layers.LinkTypeRaw}
	buf := make([]byte, 0, 2048)
	junk := make([]byte, 1400)
	w := watchHeap()
	start, cpu := time.Now(), cpuTime()
	ts := hostileT0
	for i := range n {
		// 80% spread 30 ms apart (about 1000 waiting, one expiring per
		// fragment), then the rest 10 us apart.
		step := 30 * time.Millisecond
		if i >= n*8/10 {
			step = 10 * time.Microsecond
		}
		ts = ts.Add(step)
		src := netip.AddrFrom4([4]byte{198, 51, byte(i >> 16), byte(i >> 8)})
		f.Data = ipv4Fragment(buf, src, host, uint16(i), 0, true, layers.IPProtocolUDP, junk)
		f.WireLen, f.TS = len(f.Data), ts
		if err := a.Add(&f); err != nil {
			t.Fatal(err)
		}
		if i%16384 == 0 {
			w.sample()
		}
	}
	var answers [][3]string
	for i := range 80 {
		answers = append(answers, [3]string{"big.example", "A", netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)}).String()})
	}
	_, resp := dnsPair(t, 93, "big.example", dns.TypeA, answers...)
	udp := ipPacket(t, resolver, host, &layers.UDP{SrcPort: 53, DstPort: 40000}, resp)[20:]
	half := len(udp) / 2 &^ 7
	for _, p := range [][]byte{
		ipv4Fragment(nil, resolver, host, 7, 0, true, layers.IPProtocolUDP, udp[:half]),
		ipv4Fragment(nil, resolver, host, 7, half, false, layers.IPProtocolUDP, udp[half:]),
	} {
		f.Data, f.WireLen = p, len(p)
		if err := a.Add(&f); err != nil {
			t.Fatal(err)
		}
	}
	took, cpuTook := time.Since(start), cpuTime()-cpu
	w.sample()
	t.Logf("%d fragments in %v (%v of CPU), heap grew %.1f MiB, anomalies %+v", n, took, cpuTook, w.grew(), a.Anomalies())
	if r := a.Result(); len(r.DNS) != 1 || len(r.DNS[0].Answers) != 80 {
		t.Errorf("%d transactions: the genuine answer was lost", len(r.DNS))
	}
	an := a.Anomalies()
	if exp, full := anomalyCount(an, AnomalyFragmentExpired), anomalyCount(an, AnomalyFragmentTableFull); exp < n*8/10-1024 || full < n*2/10-1024 {
		t.Errorf("expired %d, table full %d: the datagrams forgotten are not all counted", exp, full)
	}
	if cpuTook > 2*time.Second*slowdown {
		t.Errorf("took %v of CPU, want well under a second (scanning the table for expiry took seconds)", cpuTook)
	}
	// 1024 datagrams of 1400 bytes, their table and FIFO.
	if w.grew() > 8 {
		t.Errorf("heap grew %.1f MiB, want under 8", w.grew())
	}
}

// ipv4TCP writes a raw IPv4 TCP segment into b (checksums left zero: the
// decoder does not check them).
func ipv4TCP(b []byte, src, dst netip.AddrPort, seq uint32, flags uint8, payload []byte) []byte {
	b = append(b[:0], 0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 6, 0, 0)
	binary.BigEndian.PutUint16(b[2:], uint16(40+len(payload)))
	b = append(b, src.Addr().AsSlice()...)
	b = append(b, dst.Addr().AsSlice()...)
	b = binary.BigEndian.AppendUint16(b, src.Port())
	b = binary.BigEndian.AppendUint16(b, dst.Port())
	b = binary.BigEndian.AppendUint32(b, seq)
	b = binary.BigEndian.AppendUint32(b, 0)
	b = append(b, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0)
	return append(b, payload...)
}

// hostileClient is the i-th of many clients: a distinct address.
func hostileClient(i int, port uint16) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), port)
}

// feed gives the analyzer one raw segment at the next microsecond.
type feeder struct {
	t   testing.TB
	a   *Analyzer
	f   capture.Frame
	buf []byte
	n   int
	w   *heapWatch
}

func newFeeder(t testing.TB, a *Analyzer) *feeder {
	return &feeder{t: t, a: a, f: capture.Frame{LinkType: layers.LinkTypeRaw}, buf: make([]byte, 0, 2048), w: watchHeap()}
}

func (fd *feeder) tcp(src, dst netip.AddrPort, seq uint32, flags uint8, payload []byte) {
	fd.f.Data = ipv4TCP(fd.buf, src, dst, seq, flags, payload)
	fd.f.WireLen, fd.f.TS = len(fd.f.Data), hostileT0.Add(time.Duration(fd.n)*time.Microsecond)
	if err := fd.a.Add(&fd.f); err != nil {
		fd.t.Fatal(err)
	}
	if fd.n++; fd.n%(1<<17) == 0 && fd.w != nil {
		fd.w.sample()
	}
}

// 200,000 connections that never get past their SYN, streamed to OnFlow
// as a report takes them: the table holds MaxFlows (here 20,000) at most,
// the least recently active make room and are counted, and every
// connection is finished once. Kept all together, they took 164 MiB.
func TestHostileSYNFlood(t *testing.T) {
	const n, maxFlows = 200_000, 20_000
	finished := 0
	a := NewAnalyzer(Options{MaxFlows: maxFlows, OnFlow: func(f *Flow) {
		if f.ConnState() != "S0" {
			t.Errorf("%s: %s", f.Client, f.ConnState())
		}
		finished++
	}})
	fd := newFeeder(t, a)
	server := netip.MustParseAddrPort("52.219.64.10:443")
	start, cpu := time.Now(), cpuTime()
	for i := range n {
		fd.tcp(hostileClient(i, 40000), server, 1000, tcpSYN, nil)
	}
	took, cpuTook := time.Since(start), cpuTime()-cpu
	fd.w.sample()
	a.Finish()
	t.Logf("%d SYNs in %v (%v of CPU), heap grew %.1f MiB", n, took, cpuTook, fd.w.grew())
	if finished != n {
		t.Errorf("%d connections finished, want %d", finished, n)
	}
	if full := anomalyCount(a.Anomalies(), AnomalyFlowTableFull); full != n-maxFlows {
		t.Errorf("flow-table-full %d, want %d", full, n-maxFlows)
	}
	// A connection's state is about 1.1 KiB, with its place in the table.
	if limit := float64(maxFlows) * 2 / 1024; fd.w.grew() > limit {
		t.Errorf("heap grew %.1f MiB, want under %.0f", fd.w.grew(), limit)
	}
	if cpuTook > 3*time.Second*slowdown {
		t.Errorf("took %v of CPU", cpuTook)
	}
}

// 100,000 connections each holding the first 3,600 bytes of a ClientHello
// that announces 16 KiB: the buffers together stay within the budget, the
// connections past it are cut and say why, and each connection costs its
// own state, not its buffer. Without a budget they took 490 MB.
func TestHostilePartialHellos(t *testing.T) {
	const n, budget = 100_000, 8 << 20
	cut, incomplete := 0, 0
	// Every connection stays in the table: the budget alone bounds them.
	a := NewAnalyzer(Options{BufferBudget: budget, MaxFlows: n, OnFlow: func(f *Flow) {
		if f.TLS.Err == errBudget {
			cut++
		}
		if f.TLS.Hello == HelloIncomplete {
			incomplete++
		}
	}})
	fd := newFeeder(t, a)
	hello := bigHello("my-bucket.s3.ap-south-1.amazonaws.com")[:3600]
	server := netip.MustParseAddrPort("52.219.64.10:443")
	start, cpu := time.Now(), cpuTime()
	for i := range n {
		c := hostileClient(i, 40000)
		fd.tcp(c, server, 1000, tcpACK|tcpPSH, hello[:1800])
		fd.tcp(c, server, 1000+1800, tcpACK|tcpPSH, hello[1800:])
	}
	took, cpuTook := time.Since(start), cpuTime()-cpu
	fd.w.sample()
	s := a.Stats()
	t.Logf("%d partial hellos in %v (%v of CPU), heap grew %.1f MiB, buffers peaked at %d", n, took, cpuTook, fd.w.grew(), s.BufferPeak)
	if s.BufferPeak > budget {
		t.Errorf("buffers held %d bytes, budget %d", s.BufferPeak, budget)
	}
	if perConn := (fd.w.grew() - budget>>20) * 1024 / n; perConn > 2.5 {
		t.Errorf("heap grew %.1f MiB: %.1f KiB a connection beyond the budget, want under 2.5", fd.w.grew(), perConn)
	}
	if cpuTook > 5*time.Second*slowdown {
		t.Errorf("took %v of CPU", cpuTook)
	}
	a.Finish()
	if got := anomalyCount(a.Anomalies(), AnomalyBudgetExhausted); incomplete != n || cut < n-budget/3600 || got != uint64(cut) {
		t.Errorf("%d incomplete, %d cut, %d counted; want all incomplete, and cut all but those the budget holds", incomplete, cut, got)
	}
}

// 100,000 DNS-over-TCP connections each announcing a 65,535-byte message
// and sending 4,000 bytes of it: the same bounds as for ClientHellos.
// Without a budget they took 500 MB.
func TestHostileDNSOverTCPPrefixes(t *testing.T) {
	const n, budget = 100_000, 8 << 20
	a := NewAnalyzer(Options{BufferBudget: budget, MaxFlows: n})
	fd := newFeeder(t, a)
	server := netip.MustParseAddrPort("10.0.0.2:53")
	first := append([]byte{0xff, 0xff}, make([]byte, 1998)...)
	more := make([]byte, 2000)
	start, cpu := time.Now(), cpuTime()
	for i := range n {
		c := hostileClient(i, 40000)
		fd.tcp(c, server, 1000, tcpACK|tcpPSH, first)
		fd.tcp(c, server, 3000, tcpACK|tcpPSH, more)
	}
	took, cpuTook := time.Since(start), cpuTime()-cpu
	fd.w.sample()
	s := a.Stats()
	t.Logf("%d DNS-over-TCP prefixes in %v (%v of CPU), heap grew %.1f MiB, buffers peaked at %d", n, took, cpuTook, fd.w.grew(), s.BufferPeak)
	if s.BufferPeak > budget || s.DNSTransactions != 0 {
		t.Errorf("buffers held %d bytes (budget %d), %d transactions", s.BufferPeak, budget, s.DNSTransactions)
	}
	if got := anomalyCount(a.Anomalies(), AnomalyBudgetExhausted); got < n-budget/4000 {
		t.Errorf("%d streams cut, want all but those the budget holds", got)
	}
	if perConn := (fd.w.grew() - budget>>20) * 1024 / n; perConn > 2.5 {
		t.Errorf("heap grew %.1f MiB: %.1f KiB a connection beyond the budget, want under 2.5", fd.w.grew(), perConn)
	}
	if cpuTook > 5*time.Second*slowdown {
		t.Errorf("took %v of CPU", cpuTook)
	}
}
