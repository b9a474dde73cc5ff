package flow

import (
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/miekg/dns"
	"github.com/vpce-verify/vpce-verify/capture"
)

// Hostile inputs: each test feeds what used to take minutes or gigabytes,
// and bounds the time and the heap it may take now. The frames are written
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
	start := time.Now()
	ts := hostileT0
	for i := range n {
		// Half spread 35 ms apart (about 860 waiting, one expiring per
		// fragment), then the rest 10 us apart.
		step := 35 * time.Millisecond
		if i >= n/2 {
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
	took := time.Since(start)
	w.sample()
	t.Logf("%d fragments in %v, heap grew %.1f MiB, anomalies %+v", n, took, w.grew(), a.Anomalies())
	if r := a.Result(); len(r.DNS) != 1 || len(r.DNS[0].Answers) != 80 {
		t.Errorf("%d transactions: the genuine answer was lost", len(r.DNS))
	}
	an := a.Anomalies()
	if exp, full := anomalyCount(an, AnomalyFragmentExpired), anomalyCount(an, AnomalyFragmentTableFull); exp < n/2-1000 || full < n/2-1024 {
		t.Errorf("expired %d, table full %d: the datagrams forgotten are not all counted", exp, full)
	}
	if took > 3*time.Second*slowdown {
		t.Errorf("took %v, want well under a second (scanning the table for expiry took 5 s)", took)
	}
	// 1024 datagrams of 1400 bytes, their table and FIFO.
	if w.grew() > 8 {
		t.Errorf("heap grew %.1f MiB, want under 8", w.grew())
	}
}
