package sockowner

import (
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"
)

// The whole lookup on this process's own connection: socket diagnostics,
// then /proc, joined by 4-tuple and time.
func TestTrackerFindsOwnConnection(t *testing.T) {
	tr, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := connPair(t, "tcp4", "127.0.0.1:0")
	client, server := addrs(c)
	first := time.Now()
	tr.Observe(client, server, first)
	tr.Observe(client, server, first.Add(20*time.Millisecond)) // the ring's late copy: looked up once
	tr.Close()
	o := tr.Owner(client, server, first.Add(20*time.Millisecond), time.Now())
	comm, _ := os.ReadFile("/proc/self/comm")
	exe, _ := os.Executable()
	if o.Status != StatusFound || o.PID != os.Getpid() || o.Comm != strings.TrimSpace(string(comm)) || o.Exe != exe ||
		o.Side != SideClient || o.UID != int64(os.Getuid()) || o.TCPState != "ESTABLISHED" {
		t.Errorf("owner %+v, want this process (pid %d, %s)", o, os.Getpid(), exe)
	}
	if o.Cgroup == "" {
		t.Errorf("no cgroup in %+v", o)
	}
	// Given once: the next connection with this 4-tuple is another one.
	if again := tr.Owner(client, server, first, time.Now()); again.Status != StatusNotLookedUp {
		t.Errorf("second join: %+v", again)
	}
	if w := tr.Warnings(); len(w) != 0 {
		t.Errorf("warnings %q", w)
	}
}

// A connection over before its (delayed) lookup: the socket is in
// TIME-WAIT, owned by nobody, or gone; closed before lookup either way.
// One that goes on after a lookup found no socket is not this host's.
func TestTrackerClosedAndNoSocket(t *testing.T) {
	tr, err := New(Options{Delay: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	c, s := connPair(t, "tcp4", "127.0.0.1:0")
	client, server := addrs(c)
	first := time.Now()
	tr.Observe(client, server, first)
	c.Close()
	s.Close()
	closedAt := time.Now()
	gone := netip.MustParseAddrPort("127.0.0.1:1")
	tr.Observe(gone, server, first)
	tr.Close()
	if o := tr.Owner(client, server, first, closedAt); o.Status != StatusClosed || o.PID != 0 {
		t.Errorf("closed connection: %+v", o)
	}
	if o := tr.Owner(gone, server, first, time.Now().Add(time.Second)); o.Status != StatusNoSocket {
		t.Errorf("a connection going on without a socket: %+v", o)
	}
}

// Neither end on this host: nothing to say, nothing looked up.
func TestTrackerNotLocal(t *testing.T) {
	tr, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	client, server := netip.MustParseAddrPort("192.0.2.1:40000"), netip.MustParseAddrPort("198.51.100.1:443")
	tr.Observe(client, server, time.Now())
	tr.Close()
	if o := tr.Owner(client, server, time.Now(), time.Now()); o.Known() {
		t.Errorf("owner %+v of a connection between two other hosts", o)
	}
}

// A full queue never blocks Observe: the connections beyond it are
// counted and said once, and reported as not looked up.
func TestTrackerQueueFull(t *testing.T) {
	tr, err := New(Options{Queue: 4, Delay: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	server := netip.MustParseAddrPort("127.0.0.1:443")
	first := time.Now()
	start := time.Now()
	for i := range 100 {
		tr.Observe(netip.AddrPortFrom(server.Addr(), uint16(20000+i)), server, first)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("100 Observe took %v: it waited", d)
	}
	tr.Close()
	if o := tr.Owner(netip.AddrPortFrom(server.Addr(), 20099), server, first, first); o.Status != StatusNotLookedUp {
		t.Errorf("dropped lookup: %+v", o)
	}
	w := tr.Warnings()
	if len(w) != 1 || !strings.Contains(w[0], "were not looked up: the lookup queue (4) was full") {
		t.Errorf("warnings %q", w)
	}
}

// The results kept are capped: the oldest go.
func TestTrackerResultsCapped(t *testing.T) {
	tr, err := New(Options{MaxResults: 10})
	if err != nil {
		t.Fatal(err)
	}
	server := netip.MustParseAddrPort("127.0.0.1:1")
	first := time.Now()
	for i := range 30 {
		tr.Observe(netip.AddrPortFrom(server.Addr(), uint16(20000+i)), server, first)
	}
	tr.Close()
	tr.mu.Lock()
	n := len(tr.cur) + len(tr.old)
	tr.mu.Unlock()
	if n > 10 {
		t.Errorf("%d results kept, cap 10", n)
	}
	if o := tr.Owner(netip.AddrPortFrom(server.Addr(), 20029), server, first, first); o.Status != StatusClosed {
		t.Errorf("newest result: %+v", o)
	}
	if o := tr.Owner(netip.AddrPortFrom(server.Addr(), 20000), server, first, first); o.Status != StatusNotLookedUp {
		t.Errorf("oldest result: %+v, want it evicted", o)
	}
}

// The process scan finds which process holds a socket, and says when it
// could not look.
func TestProcScannerFindsSocket(t *testing.T) {
	c, _ := connPair(t, "tcp4", "127.0.0.1:0")
	p := newProcScanner("/proc")
	pid, ok := p.find(inode(t, c), time.Now())
	if !ok || pid != os.Getpid() {
		t.Fatalf("find: pid %d %v, want %d", pid, ok, os.Getpid())
	}
	if _, ok := p.find(1, time.Now().Add(-time.Hour)); ok {
		t.Error("found inode 1")
	}
	var o Owner
	p.process(pid, &o)
	if o.Comm == "" || o.Exe == "" {
		t.Errorf("process %+v", o)
	}
}

// BenchmarkObserve is the packet path's share of attribution, for a
// connection on this host: allocs/op must be 0, with the queue full or
// not.
func BenchmarkObserve(b *testing.B) {
	tr, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	server := netip.MustParseAddrPort("127.0.0.1:443")
	now := time.Now()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		tr.Observe(netip.AddrPortFrom(server.Addr(), uint16(i)), server, now)
	}
}

// Observe, with room in the queue (the lookups held back by Delay so that
// the worker's allocations are not counted), allocates nothing.
func TestObserveAllocatesNothing(t *testing.T) {
	tr, err := New(Options{Queue: 2048, Delay: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	server := netip.MustParseAddrPort("127.0.0.1:443")
	now := time.Now()
	// Once the worker took this one, it sleeps.
	tr.Observe(netip.MustParseAddrPort("127.0.0.1:1"), server, now)
	for tr.queued() > 0 {
		time.Sleep(time.Millisecond)
	}
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		i++
		tr.Observe(netip.AddrPortFrom(server.Addr(), uint16(i)), server, now)
	})
	if allocs != 0 {
		t.Errorf("Observe allocates %.1f times per call", allocs)
	}
	if n := tr.queued(); n < 1000 {
		t.Errorf("%d lookups queued, want 1000: the test measured the drop path", n)
	}
}

// The server end of a connection to a server here: once accepted, its
// own socket; before, in the accept queue, the listener's owner.
func TestLookupServerSide(t *testing.T) {
	l, err := newLookuper()
	if err != nil {
		t.Fatal(err)
	}
	defer l.close()
	c, _ := connPair(t, "tcp4", "127.0.0.1:0")
	client, server := addrs(c)
	o, none := l.owner(request{client: client, server: server, first: time.Now()}, false, true)
	if none || o.Status != StatusFound || o.Side != SideServer || o.PID != os.Getpid() {
		t.Errorf("accepted: %+v", o)
	}

	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	waiting, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer waiting.Close()
	client, server = addrs(waiting)
	o, none = l.owner(request{client: client, server: server, first: time.Now()}, false, true)
	if none || o.Status != StatusFound || o.Side != SideServer || o.PID != os.Getpid() {
		t.Errorf("not yet accepted: %+v", o)
	}
}
