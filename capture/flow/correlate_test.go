package flow

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/miekg/dns"

	"github.com/vpce-verify/vpce-verify/capture/pcapfile"
	"github.com/vpce-verify/vpce-verify/internal/testenv"
)

// The indexed join must name every connection as the first, quadratic one
// did (correlateReference), on every capture we have: built scenarios, the
// captures made by real programs, and the public corpus.
func TestDNSNamesMatchReference(t *testing.T) {
	root := testenv.RepoRoot(t)
	var paths []string
	for _, pattern := range []string{"testdata/*.pcap*", "testdata/real/*.pcap*"} {
		m, _ := filepath.Glob(filepath.Join(root, pattern))
		paths = append(paths, m...)
	}
	corpus, _ := filepath.Glob(filepath.Join(testenv.Shared(t, "corpus"), "*.pcap*"))
	paths = append(paths, corpus...)
	joined := 0
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			a := NewAnalyzer(Options{})
			open := func() (io.ReadCloser, error) { return os.Open(path) }
			pcapfile.ReadFiles(context.Background(), a, []pcapfile.File{{Name: path, Open: open}}) // damaged files: what was read counts
			r := a.Result()
			want := correlateReference(r.Flows, r.DNS)
			for i, fl := range r.Flows {
				if !slices.Equal(fl.DNSNames, want[i]) {
					t.Errorf("%s -> %s: names %q, the reference join %q", fl.Client, fl.Server, fl.DNSNames, want[i])
				}
				if len(fl.DNSNames) > 0 {
					joined++
				}
			}
		})
	}
	if joined < 30 {
		t.Errorf("only %d connections were joined to names: the comparison says little", joined)
	}
}

// randomTransactions makes DNS responses with tangled CNAMEs (cycles,
// repeats, names differing only in case, chains that miss the question)
// over few names and addresses, so that answers and connections collide.
func randomTransactions(rng *rand.Rand, n int, t0 time.Time) []*DNSTransaction {
	names := []string{"a.example", "A.example", "b.example", "c.example", "C.EXAMPLE", "d.example", "e.example", "s3.ap-south-1.amazonaws.com"}
	addrs := []netip.Addr{
		netip.MustParseAddr("10.0.2.50"), netip.MustParseAddr("52.219.64.10"),
		netip.MustParseAddr("2406:da60:a000::10"), netip.MustParseAddr("::ffff:52.219.64.10"),
	}
	pick := func() string { return names[rng.IntN(len(names))] }
	var txs []*DNSTransaction
	for i := range n {
		tx := &DNSTransaction{ResponseTS: t0.Add(time.Duration(i) * time.Second)}
		if rng.IntN(10) > 0 {
			tx.QName = pick()
		}
		if rng.IntN(10) == 0 {
			tx.ResponseTS = time.Time{} // a query never answered
		}
		for range rng.IntN(7) {
			if rng.IntN(2) == 0 {
				tx.Answers = append(tx.Answers, DNSAnswer{Name: pick(), Type: "CNAME", Target: pick()})
			} else {
				a := addrs[rng.IntN(len(addrs))]
				tx.Answers = append(tx.Answers, DNSAnswer{Name: pick(), Type: "A", Addr: a})
			}
		}
		txs = append(txs, tx)
	}
	return txs
}

func TestDNSNamesMatchReferenceRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	joined := 0
	for round := range 300 {
		txs := randomTransactions(rng, 1+rng.IntN(12), t0)
		var ix nameIndex
		for i, tx := range txs {
			ix.add(tx, uint64(i))
		}
		var flows []*Flow
		for _, a := range []string{"10.0.2.50", "52.219.64.10", "2406:da60:a000::10", "10.0.9.9"} {
			for _, after := range []time.Duration{-time.Second, 0, 3 * time.Second, 7 * time.Second, time.Hour} {
				flows = append(flows, &Flow{Server: netip.AddrPortFrom(netip.MustParseAddr(a), 443), FirstTS: t0.Add(after)})
			}
		}
		want := correlateReference(flows, txs)
		for i, fl := range flows {
			got := ix.lookup(fl.Server.Addr(), fl.FirstTS)
			if !slices.Equal(got, want[i]) {
				t.Fatalf("round %d, %s at %v: names %q, the reference join %q", round, fl.Server, fl.FirstTS.Sub(t0), got, want[i])
			}
			if len(got) > 0 {
				joined++
			}
		}
	}
	if joined < 1000 {
		t.Errorf("only %d lookups found names", joined)
	}
}

// The sizes that made the quadratic join take minutes: the index makes
// them a matter of milliseconds.
func TestDNSNamesAtScale(t *testing.T) {
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	const name = "my-bucket.s3.ap-south-1.amazonaws.com"

	t.Run("200k connections each after an answer for the same name", func(t *testing.T) {
		const n = 200_000
		addrs := []netip.Addr{netip.MustParseAddr("52.219.64.10"), netip.MustParseAddr("52.219.64.11")}
		txs := make([]DNSTransaction, n)
		for i := range txs {
			txs[i] = DNSTransaction{QName: name, ResponseTS: t0.Add(time.Duration(i) * time.Millisecond),
				Answers: []DNSAnswer{{Name: name, Type: "A", Addr: addrs[i%2]}}}
		}
		names := make([][]string, n)
		start := time.Now()
		var ix nameIndex
		for i := range txs {
			// The answer, then the connection a microsecond later.
			ix.add(&txs[i], uint64(i))
			names[i] = ix.lookup(addrs[i%2], txs[i].ResponseTS.Add(time.Microsecond))
		}
		took := time.Since(start)
		t.Logf("%d connections joined in %v", n, took)
		if took > time.Second*slowdown {
			t.Errorf("took %v, want well under a second", took)
		}
		for i, got := range names {
			if !slices.Equal(got, []string{name}) {
				t.Fatalf("connection %d: names %q, want [%s]", i, got, name)
			}
		}
		if got := ix.lookup(addrs[0], t0.Add(-time.Millisecond)); got != nil {
			t.Errorf("a connection before the first answer got %q", got)
		}
	})

	t.Run("a 5000-link CNAME chain", func(t *testing.T) {
		const links = 5000
		tx := &DNSTransaction{QName: "c0.example", ResponseTS: t0}
		for i := range links {
			tx.Answers = append(tx.Answers, DNSAnswer{Name: fmt.Sprintf("c%d.example", i), Type: "CNAME", Target: fmt.Sprintf("c%d.example", i+1)})
		}
		// The chain's records in reverse, and eight address records.
		slices.Reverse(tx.Answers)
		for k := range 8 {
			tx.Answers = append(tx.Answers, DNSAnswer{Name: fmt.Sprintf("c%d.example", links), Type: "A", Addr: netip.AddrFrom4([4]byte{52, 219, 64, byte(10 + k)})})
		}
		start := time.Now()
		var ix nameIndex
		ix.add(tx, 0)
		got := ix.lookup(netip.MustParseAddr("52.219.64.17"), t0)
		took := time.Since(start)
		t.Logf("joined in %v", took)
		if took > time.Second*slowdown {
			t.Errorf("took %v, want well under a second", took)
		}
		// The question, then the 31 names nearest the address.
		want := []string{"c0.example"}
		for i := links - 30; i <= links; i++ {
			want = append(want, fmt.Sprintf("c%d.example", i))
		}
		if !slices.Equal(got, want) {
			t.Errorf("names %q\nwant %q", got, want)
		}
		if ix.dropped != 1 {
			t.Errorf("dropped %d, want 1 (one chain cut)", ix.dropped)
		}
	})
}

// The join is bounded: an address keeps at most 32 names and the index a
// million, forgetting the addresses least recently answered to make room
// for new ones; what is left out or forgotten is counted.
func TestDNSNamesBounded(t *testing.T) {
	t.Run("per address", func(t *testing.T) {
		b := newBuilder(t, layers.LinkTypeEthernet)
		var want []string
		for i := range 40 {
			name := fmt.Sprintf("b%d.s3.ap-south-1.amazonaws.com", i)
			lookup(b, uint16(41000+i), name, dns.TypeA, [3]string{name, "A", scPublicS3})
			if i < maxNamesPerAddr {
				want = append(want, name)
			}
		}
		b.conv(scHost+":43528", scPublicS3+":443").handshake()
		r := b.analyze(Options{})
		if got := r.Flows[0].DNSNames; !slices.Equal(got, want) {
			t.Errorf("names %q\nwant the first 32 %q", got, want)
		}
		if r.Stats.DNSNamesDropped != 8 {
			t.Errorf("DNSNamesDropped = %d, want 8", r.Stats.DNSNamesDropped)
		}
	})
	t.Run("in all: the least recently answered addresses are forgotten", func(t *testing.T) {
		ix := nameIndex{limit: 100, sh: &shared{}}
		t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
		addr := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}) }
		answer := func(i, seq int) {
			ix.add(&DNSTransaction{ResponseTS: t0, Answers: []DNSAnswer{{Name: "x.example", Type: "A", Addr: addr(i)}}}, uint64(seq))
		}
		for i := range 150 {
			answer(i, i)
			if i == 99 {
				answer(0, 1000) // address 0 answered again: now the most recent
			}
		}
		if ix.size != 100 || ix.evicted != 50 || ix.dropped != 0 {
			t.Errorf("%d kept, %d evicted, %d dropped; want 100, 50, 0", ix.size, ix.evicted, ix.dropped)
		}
		if n := anomalyCount(ix.sh.list(), AnomalyDNSNamesEvicted); n != 50 {
			t.Errorf("dns-names-evicted %d, want 50", n)
		}
		for i, want := range map[int]bool{0: true, 1: false, 50: false, 51: true, 149: true} {
			if got := len(ix.lookup(addr(i), t0)) == 1; got != want {
				t.Errorf("address %d found %v, want %v", i, got, want)
			}
		}
	})
}

// BenchmarkDNSNames measures the join per connection: an answer for the
// same name before each connection, then one lookup.
func BenchmarkDNSNames(b *testing.B) {
	const name = "my-bucket.s3.ap-south-1.amazonaws.com"
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	addr := netip.MustParseAddr("52.219.64.10")
	var ix nameIndex
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		ts := t0.Add(time.Duration(i) * time.Millisecond)
		ix.add(&DNSTransaction{QName: name, ResponseTS: ts, Answers: []DNSAnswer{{Name: name, Type: "A", Addr: addr}}}, uint64(i))
		if len(ix.lookup(addr, ts)) != 1 {
			b.Fatal("no name")
		}
		i++
	}
}
