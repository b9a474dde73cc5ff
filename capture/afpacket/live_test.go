//go:build linux

package afpacket

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/miekg/dns"
	netbpf "golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/vpce-verify/vpce-verify/capture"
	"github.com/vpce-verify/vpce-verify/capture/bpf"
	"github.com/vpce-verify/vpce-verify/capture/flow"
	"github.com/vpce-verify/vpce-verify/capture/savefile"
	"github.com/vpce-verify/vpce-verify/internal/host"
	"github.com/vpce-verify/vpce-verify/internal/lab"
	"github.com/vpce-verify/vpce-verify/internal/testenv"
)

// liveCollector reads a Source in a goroutine and keeps copies of the
// frames.
type liveCollector struct {
	src    *Source
	mu     sync.Mutex
	frames []capture.Frame
	done   chan error
}

func liveStart(t *testing.T, opts Options) *liveCollector {
	t.Helper()
	src, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	c := &liveCollector{src: src, done: make(chan error, 1)}
	t.Cleanup(func() { src.Close() })
	go func() {
		var f capture.Frame
		for {
			if err := src.Next(&f); err != nil {
				c.done <- err
				return
			}
			g := f
			g.Data = slices.Clone(f.Data)
			c.mu.Lock()
			c.frames = append(c.frames, g)
			c.mu.Unlock()
		}
	}()
	return c
}

// stop waits for the kernel to hand over its last block, closes the
// source and returns the frames.
func (c *liveCollector) stop(t *testing.T) []capture.Frame {
	t.Helper()
	time.Sleep(5 * BlockTimeout)
	if err := c.src.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-c.done:
		if !errors.Is(err, capture.ErrClosed) {
			t.Fatalf("Next ended with %v, want capture.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Next did not return after Close")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.frames
}

// liveSeen is what gopacket (not our decoder) reads in a frame.
type liveSeen struct {
	proto    string // "tcp", "udp" or another layer name
	src, dst netip.AddrPort
	payload  int
	syn      bool
}

func liveDecode(t *testing.T, f capture.Frame) liveSeen {
	t.Helper()
	first := gopacket.LayerType(layers.LayerTypeEthernet)
	if f.LinkType == layers.LinkTypeRaw {
		first = layers.LayerTypeIPv4
		if len(f.Data) > 0 && f.Data[0]>>4 == 6 {
			first = layers.LayerTypeIPv6
		}
	}
	p := gopacket.NewPacket(f.Data, first, gopacket.Default)
	var s liveSeen
	var src, dst netip.Addr
	if nl := p.NetworkLayer(); nl != nil {
		src, _ = netip.AddrFromSlice(nl.NetworkFlow().Src().Raw())
		dst, _ = netip.AddrFromSlice(nl.NetworkFlow().Dst().Raw())
	}
	switch l := p.TransportLayer().(type) {
	case *layers.TCP:
		s = liveSeen{proto: "tcp", src: netip.AddrPortFrom(src, uint16(l.SrcPort)), dst: netip.AddrPortFrom(dst, uint16(l.DstPort)), payload: len(l.Payload), syn: l.SYN && !l.ACK}
	case *layers.UDP:
		s = liveSeen{proto: "udp", src: netip.AddrPortFrom(src, uint16(l.SrcPort)), dst: netip.AddrPortFrom(dst, uint16(l.DstPort)), payload: len(l.Payload)}
	default:
		s.proto = fmt.Sprint(p.Layers())
	}
	return s
}

// liveEcho serves TCP on ln: it echoes what it reads until the client
// closes.
func liveEcho(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			io.Copy(c, c)
		}()
	}
}

// liveExchange connects to addr, sends msg, reads the echo and closes.
func liveExchange(t *testing.T, addr string, msg []byte) netip.AddrPort {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, make([]byte, len(msg))); err != nil {
		t.Fatal(err)
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.CloseWrite() // the client's FIN first, so that it is the active closer
	}
	io.Copy(io.Discard, c)
	return netip.MustParseAddrPort(c.LocalAddr().String())
}

func liveListen(t *testing.T, network, addr string) (net.Listener, uint16) {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		testenv.Unavailable(t, "listen %s %s: %v", network, addr, err)
	}
	t.Cleanup(func() { ln.Close() })
	go liveEcho(ln)
	return ln, uint16(ln.Addr().(*net.TCPAddr).Port)
}

// TestLiveLoopbackTCP captures real TCP connections on lo, over IPv4 and
// IPv6, with a filter for their ports, while a connection to another port
// and a UDP datagram must stay out.
func TestLiveLoopbackTCP(t *testing.T) {
	testenv.Root(t)
	ln4, p4 := liveListen(t, "tcp4", "127.0.0.1:0")
	ln6, p6 := liveListen(t, "tcp6", "[::1]:0")
	lnOther, pOther := liveListen(t, "tcp4", "127.0.0.1:0")
	udpSink, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udpSink.Close()

	before := time.Now()
	c := liveStart(t, Options{Interfaces: []string{"lo"}, Filter: bpf.Spec{TCPPorts: []uint16{p4, p6}}})
	if got, want := c.src.Interfaces(), []capture.Interface{{Name: "lo", LinkType: layers.LinkTypeEthernet, SnapLen: 262144}}; !slices.Equal(got, want) {
		t.Fatalf("Interfaces() = %v, want %v", got, want)
	}
	msg := []byte("hello over loopback")
	client4 := liveExchange(t, ln4.Addr().String(), msg)
	client6 := liveExchange(t, ln6.Addr().String(), msg)
	liveExchange(t, lnOther.Addr().String(), msg)
	u, err := net.Dial("udp4", udpSink.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	u.Write(msg)
	u.Close()
	frames := c.stop(t)
	after := time.Now()

	server4 := netip.MustParseAddrPort(ln4.Addr().String())
	server6 := netip.MustParseAddrPort(ln6.Addr().String())
	syns := map[netip.AddrPort]int{}
	var prev time.Time
	for i, f := range frames {
		s := liveDecode(t, f)
		conv := (s.src == client4 && s.dst == server4) || (s.src == server4 && s.dst == client4) ||
			(s.src == client6 && s.dst == server6) || (s.src == server6 && s.dst == client6)
		if s.proto != "tcp" || !conv {
			t.Errorf("frame %d: %s %v -> %v is not one of the filtered connections (other port %d)", i, s.proto, s.src, s.dst, pOther)
		}
		if s.syn {
			syns[s.dst]++
		}
		if f.Interface != 0 || f.LinkType != layers.LinkTypeEthernet || f.WireLen != len(f.Data) {
			t.Errorf("frame %d: interface %d, link type %v, %d of %d bytes", i, f.Interface, f.LinkType, len(f.Data), f.WireLen)
		}
		if f.TS.Before(before) || f.TS.After(after) || f.TS.Before(prev) {
			t.Errorf("frame %d: timestamp %v outside [%v, %v] or before the previous one", i, f.TS, before, after)
		}
		prev = f.TS
	}
	// Loopback shows every packet leaving and arriving: the outgoing copy
	// must have been dropped.
	if syns[server4] != 1 || syns[server6] != 1 {
		t.Errorf("SYNs seen: %v, want one to each of %v and %v", syns, server4, server6)
	}

	a := flow.NewAnalyzer(flow.Options{})
	for i := range frames {
		if err := a.Add(&frames[i]); err != nil {
			t.Fatal(err)
		}
	}
	r := a.Result()
	if len(r.Flows) != 2 {
		t.Fatalf("%d flows, want 2", len(r.Flows))
	}
	for i, want := range [][2]netip.AddrPort{{client4, server4}, {client6, server6}} {
		fl := r.Flows[i]
		if fl.Client != want[0] || fl.Server != want[1] || fl.ConnState() != "SF" || !fl.Established() {
			t.Errorf("flow %d: %v -> %v %s (history %s), want %v -> %v SF", i, fl.Client, fl.Server, fl.ConnState(), fl.History(), want[0], want[1])
		}
		if b := fl.Bytes(); b[0] != uint64(len(msg)) || b[1] != uint64(len(msg)) {
			t.Errorf("flow %d: payload bytes %v, want %d each way", i, b, len(msg))
		}
	}
	st := c.src.Stats()
	if st.Dropped != 0 || st.Received != uint64(len(frames)) || len(st.Interfaces) != 1 || st.Interfaces[0] != st.Counts {
		t.Errorf("stats %+v, want %d received and none dropped", st, len(frames))
	}
}

// TestLiveDNS captures real DNS over UDP and TCP to port 53 on a loopback
// address, with the DNS part of the filter, and hands it to the Analyzer.
func TestLiveDNS(t *testing.T) {
	testenv.Root(t)
	const server = "127.0.2.53:53"
	answer := func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(127, 0, 2, 50)})
		w.WriteMsg(m)
	}
	_, stop, err := lab.ServeDNS(server, dns.HandlerFunc(answer))
	if err != nil {
		testenv.Unavailable(t, "no DNS server on %s, where the DNS filter matches: %v", server, err)
	}
	defer stop()
	other, err := net.ListenPacket("udp4", "127.0.2.53:0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	c := liveStart(t, Options{Interfaces: []string{"lo"}, Filter: bpf.Spec{DNS: true}})
	for _, netw := range []string{"udp", "tcp"} {
		q := new(dns.Msg)
		q.SetQuestion("bucket.s3.ap-south-1.amazonaws.com.", dns.TypeA)
		cl := &dns.Client{Net: netw, Timeout: 2 * time.Second}
		if _, _, err := cl.Exchange(q, server); err != nil {
			t.Fatalf("%s exchange: %v", netw, err)
		}
	}
	u, _ := net.Dial("udp4", other.LocalAddr().String())
	u.Write([]byte("not dns, not port 53"))
	u.Close()
	frames := c.stop(t)

	for i, f := range frames {
		if s := liveDecode(t, f); s.src.Port() != 53 && s.dst.Port() != 53 {
			t.Errorf("frame %d: %s %v -> %v is not DNS", i, s.proto, s.src, s.dst)
		}
	}
	a := flow.NewAnalyzer(flow.Options{})
	for i := range frames {
		a.Add(&frames[i])
	}
	// Other tests may talk DNS on loopback meanwhile: keep this server's.
	var txs []*flow.DNSTransaction
	for _, tx := range a.Result().DNS {
		if tx.Server.String() == server {
			txs = append(txs, tx)
		}
	}
	if len(txs) != 2 {
		t.Fatalf("%d DNS transactions, want 2", len(txs))
	}
	for i, netw := range []string{"udp", "tcp"} {
		tx := txs[i]
		if tx.Transport != netw || tx.QName != "bucket.s3.ap-south-1.amazonaws.com" || tx.Server.String() != server ||
			len(tx.Answers) != 1 || tx.Answers[0].Addr.String() != "127.0.2.50" {
			t.Errorf("transaction %d: %+v, want %s question and answer 127.0.2.50 from %s", i, tx, netw, server)
		}
	}
}

// TestLiveSnapLen: with a snap length, long packets are cut and say their
// length on the wire.
func TestLiveSnapLen(t *testing.T) {
	testenv.Root(t)
	ln, port := liveListen(t, "tcp4", "127.0.0.1:0")
	c := liveStart(t, Options{Interfaces: []string{"lo"}, SnapLen: 96, Filter: bpf.Spec{TCPPorts: []uint16{port}}})
	if got := c.src.Interfaces()[0].SnapLen; got != 96 {
		t.Errorf("interface snap length %d, want 96", got)
	}
	liveExchange(t, ln.Addr().String(), make([]byte, 1000))
	frames := c.stop(t)
	cut := 0
	for i, f := range frames {
		if len(f.Data) > 96 {
			t.Errorf("frame %d: %d bytes kept, snap length is 96", i, len(f.Data))
		}
		if f.WireLen > 1000 {
			cut++
			if len(f.Data) != 96 {
				t.Errorf("frame %d of %d bytes: kept %d, want 96", i, f.WireLen, len(f.Data))
			}
		}
	}
	if cut != 2 {
		t.Errorf("%d frames longer than 1000 bytes, want 2 (the data and its echo)", cut)
	}
	a := flow.NewAnalyzer(flow.Options{})
	for i := range frames {
		a.Add(&frames[i])
	}
	if r := a.Result(); r.Stats.Truncated != 2 || len(r.Flows) != 1 || r.Flows[0].Bytes() != [2]uint64{1000, 1000} {
		t.Errorf("analyzer: %d truncated, flows %d, want 2 truncated and 1000 bytes each way", r.Stats.Truncated, len(r.Flows))
	}
}

// TestLiveAny: "any" opens every interface that is up, and tags each frame
// with the interface it came from.
func TestLiveAny(t *testing.T) {
	testenv.Root(t)
	ln, port := liveListen(t, "tcp4", "127.0.0.1:0")
	c := liveStart(t, Options{Interfaces: []string{"any", "lo"}, Filter: bpf.Spec{TCPPorts: []uint16{port}}})
	ifaces := c.src.Interfaces()
	all, _ := net.Interfaces()
	var up []string
	for _, ifc := range all {
		if ifc.Flags&net.FlagUp != 0 {
			up = append(up, ifc.Name)
		}
	}
	var names []string
	for _, ifc := range ifaces {
		names = append(names, ifc.Name)
	}
	if !slices.Equal(names, up) {
		t.Fatalf("interfaces %v, want those that are up, once each: %v", names, up)
	}
	lo := slices.Index(names, "lo")
	// Stats may be read while Next runs (go test -race checks it).
	polling := make(chan struct{})
	go func() {
		defer close(polling)
		for range 50 {
			c.src.Stats()
			time.Sleep(time.Millisecond)
		}
	}()
	liveExchange(t, ln.Addr().String(), []byte("x"))
	<-polling
	frames := c.stop(t)
	if len(frames) < 8 {
		t.Fatalf("%d frames, want a whole connection", len(frames))
	}
	for i, f := range frames {
		if f.Interface != lo || f.LinkType != ifaces[lo].LinkType {
			t.Errorf("frame %d: interface %d (%v), want lo (%d)", i, f.Interface, f.LinkType, lo)
		}
	}
	if st := c.src.Stats(); len(st.Interfaces) != len(ifaces) || st.Interfaces[lo].Received != uint64(len(frames)) || st.Received != uint64(len(frames)) {
		t.Errorf("stats %+v, want %d packets, all on lo", st, len(frames))
	}
}

func TestLiveOpenErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"unknown interface", Options{Interfaces: []string{"nope0"}}, `live: no interface "nope0" (there are: lo`},
		{"no interface", Options{}, "live: no interface given"},
		{"negative snap length", Options{Interfaces: []string{"lo"}, SnapLen: -1}, "live: snap length -1, want 1 to 262144"},
		{"snap length too large", Options{Interfaces: []string{"lo"}, SnapLen: 262145}, "live: snap length 262145"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(tc.opts)
			if err == nil {
				s.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestLiveClose: Close from other goroutines while Next blocks makes Next
// return capture.ErrClosed at once; concurrent Closes and Nexts neither deadlock
// nor fail.
func TestLiveClose(t *testing.T) {
	testenv.Root(t)
	src, err := Open(Options{Interfaces: []string{"lo"}, Filter: bpf.Spec{TCPPorts: []uint16{9}}})
	if err != nil {
		t.Fatal(err)
	}
	nexts := make(chan error, 2)
	for range 2 {
		go func() {
			var f capture.Frame
			nexts <- src.Next(&f)
		}()
	}
	time.Sleep(100 * time.Millisecond) // both Nexts are blocked by now
	start := time.Now()
	closes := make(chan error, 3)
	for range 3 {
		go func() { closes <- src.Close() }()
	}
	timeout := time.After(2 * time.Second)
	for range 3 {
		select {
		case err := <-closes:
			if err != nil {
				t.Errorf("Close: %v", err)
			}
		case <-timeout:
			t.Fatal("Close did not return: deadlock")
		}
	}
	for range 2 {
		select {
		case err := <-nexts:
			if !errors.Is(err, capture.ErrClosed) {
				t.Errorf("Next returned %v, want capture.ErrClosed", err)
			}
		case <-timeout:
			t.Fatal("Next did not return after Close")
		}
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("Next took %v to see the Close", d)
	}
	var f capture.Frame
	if err := src.Next(&f); !errors.Is(err, capture.ErrClosed) {
		t.Errorf("Next after Close: %v, want capture.ErrClosed", err)
	}
	if st := src.Stats(); st.Received != 0 || len(st.Interfaces) != 1 {
		t.Errorf("Stats after Close: %+v", st)
	}
}

// TestLiveProgram loads a program tcpdump compiled, as --bpf-file does, and
// lowers its snap length to the capture's.
func TestLiveProgram(t *testing.T) {
	testenv.Root(t)
	tcpdump := testenv.Tool(t, "tcpdump")
	sink, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	other, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	port := sink.LocalAddr().(*net.UDPAddr).Port
	out, err := exec.Command(tcpdump, "-ddd", "-i", "lo", fmt.Sprintf("udp dst port %d", port)).Output()
	if err != nil {
		t.Fatalf("tcpdump -ddd: %v", err)
	}
	prog, err := bpf.ParseTcpdumpDDD(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	c := liveStart(t, Options{Interfaces: []string{"lo"}, SnapLen: 64, Program: prog})
	for _, to := range []net.Addr{sink.LocalAddr(), other.LocalAddr()} {
		u, _ := net.Dial("udp4", to.String())
		u.Write(make([]byte, 200))
		u.Close()
	}
	frames := c.stop(t)
	if len(frames) != 1 {
		t.Fatalf("%d frames, want the one datagram to port %d", len(frames), port)
	}
	if f := frames[0]; len(f.Data) != 64 || f.WireLen != 14+20+8+200 {
		t.Errorf("kept %d of %d bytes, want 64 of %d", len(f.Data), f.WireLen, 14+20+8+200)
	}
}

// vxlanOnLo captures VXLAN on lo and returns a socket bound to
// 127.0.0.1:4789 that takes (and never reads) the datagrams sent to it, so
// the kernel answers them with no ICMP.
func vxlanOnLo(t *testing.T) (*Source, net.PacketConn) {
	t.Helper()
	sink, err := net.ListenPacket("udp4", "127.0.0.1:4789")
	if err != nil {
		testenv.Unavailable(t, "udp port 4789 on 127.0.0.1: %v", err)
	}
	t.Cleanup(func() { sink.Close() })
	src, err := Open(Options{Interfaces: []string{"lo"}, Filter: bpf.Spec{VXLAN: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src, sink
}

// TestLiveNextAllocs: reading packets that are ready allocates nothing.
func TestLiveNextAllocs(t *testing.T) {
	testenv.Root(t)
	src, sink := vxlanOnLo(t)
	u, _ := net.Dial("udp4", sink.LocalAddr().String())
	for range 300 {
		u.Write(make([]byte, 50))
	}
	u.Close()
	time.Sleep(5 * BlockTimeout)
	var f capture.Frame
	allocs := testing.AllocsPerRun(250, func() {
		if err := src.Next(&f); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Next allocates %v times per packet, want 0", allocs)
	}
}

// TestLiveDrops: when the reader falls behind, the ring fills and the
// kernel counts what it could not keep; the counts add up.
func TestLiveDrops(t *testing.T) {
	testenv.Root(t)
	src, sink := vxlanOnLo(t)
	// Each datagram takes about 160 bytes of the 32 MiB ring: 300000 of
	// them, unread, cannot all fit.
	const sent = 300000
	u, _ := net.Dial("udp4", sink.LocalAddr().String())
	payload := make([]byte, 40)
	for range sent {
		if _, err := u.Write(payload); err != nil {
			t.Fatal(err)
		}
	}
	u.Close()
	time.Sleep(5 * BlockTimeout)
	go func() {
		time.Sleep(time.Second)
		src.Close()
	}()
	var f capture.Frame
	captured := uint64(0)
	for src.Next(&f) == nil {
		captured++
	}
	st := src.Stats()
	t.Logf("sent %d, captured %d, kernel: %+v", sent, captured, st.Counts)
	if st.Dropped == 0 || captured == sent {
		t.Fatalf("no drops reported with %d of %d captured: %+v", captured, sent, st)
	}
	// Received may exceed sent: tests of other packages, run at the same
	// time by go test ./..., send VXLAN on lo too, and the filter takes
	// theirs. The kernel's accounting must add up all the same.
	if st.Received != captured+st.Dropped {
		t.Errorf("received %d, want captured %d + dropped %d", st.Received, captured, st.Dropped)
	}
}

// TestLiveWriter captures on lo, writes the frames to a pcapng file with
// the kernel counters, and reads it back with pcapgo and with tshark.
func TestLiveWriter(t *testing.T) {
	testenv.Root(t)
	ln, port := liveListen(t, "tcp4", "127.0.0.1:0")
	c := liveStart(t, Options{Interfaces: []string{"lo"}, Filter: bpf.Spec{TCPPorts: []uint16{port}}})
	for range 3 {
		liveExchange(t, ln.Addr().String(), []byte("evidence"))
	}
	frames := c.stop(t)
	path := filepath.Join(t.TempDir(), "live.pcapng")
	w, err := savefile.NewWriter(path, c.src.Interfaces())
	if err != nil {
		t.Fatal(err)
	}
	for i := range frames {
		if err := w.Write(&frames[i]); err != nil {
			t.Fatal(err)
		}
	}
	st := c.src.Stats()
	if err := w.Close(st.Interfaces); err != nil {
		t.Fatal(err)
	}

	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recv uint64
	r, err := pcapgo.NewNgReader(f, pcapgo.NgReaderOptions{StatisticsCallback: func(_ int, s pcapgo.NgInterfaceStatistics) { recv = s.PacketsReceived }})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if n < len(frames) && (!bytes.Equal(data, frames[n].Data) || !ci.Timestamp.Equal(frames[n].TS)) {
			t.Errorf("packet %d differs from the frame captured", n)
		}
		n++
	}
	if n != len(frames) || recv != uint64(len(frames)) {
		t.Errorf("pcapgo reads %d packets and %d received, want %d", n, recv, len(frames))
	}
	lines := liveTshark(t, path)
	if len(lines) != len(frames) {
		t.Fatalf("tshark reads %d packets, want %d", len(lines), len(frames))
	}
	for i, l := range lines {
		if !strings.HasPrefix(l, "lo\t") {
			t.Errorf("tshark packet %d: %q, want interface lo", i, l)
			break
		}
	}
}

// TestLiveDropPrivileges runs a child that opens a capture and an output
// file as root, drops to nobody, and checks that it is nobody, that the
// open socket and file still work and that nothing new can be opened.
func TestLiveDropPrivileges(t *testing.T) {
	if dir := os.Getenv("VPCE_LIVE_DROP_DIR"); dir != "" {
		liveDropChild(t, dir)
		return
	}
	testenv.Root(t)
	nobody, err := user.Lookup("nobody")
	if err != nil {
		testenv.Unavailable(t, "no user nobody: %v", err)
	}
	sink, err := net.ListenPacket("udp4", "127.0.0.1:4789")
	if err != nil {
		testenv.Unavailable(t, "udp port 4789 on 127.0.0.1: %v", err)
	}
	defer sink.Close()
	dir := t.TempDir() // 0700, root's
	cmd := exec.Command(os.Args[0], "-test.run=^TestLiveDropPrivileges$", "-test.v")
	cmd.Env = append(os.Environ(), "VPCE_LIVE_DROP_DIR="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	for _, want := range []string{
		"uid " + nobody.Uid + " gid " + nobody.Gid,
		"captured udp",
		"reopen: " + ErrPermission.Error(),
		"create: permission denied",
		"setuid 0: operation not permitted",
	} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("child output lacks %q:\n%s", want, out)
		}
	}
	lines := liveTshark(t, filepath.Join(dir, "kept.pcapng"))
	if len(lines) != 1 {
		t.Errorf("the file written after the drop holds %d packets, want 1", len(lines))
	}
}

func liveDropChild(t *testing.T, dir string) {
	src, err := Open(Options{Interfaces: []string{"lo"}, Filter: bpf.Spec{VXLAN: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	w, err := savefile.NewWriter(filepath.Join(dir, "kept.pcapng"), src.Interfaces())
	if err != nil {
		t.Fatal(err)
	}
	if err := host.DropPrivileges("nobody"); err != nil {
		t.Fatal(err)
	}
	groups, _ := syscall.Getgroups()
	fmt.Printf("uid %d gid %d groups %v euid %d egid %d\n", os.Getuid(), os.Getgid(), groups, os.Geteuid(), os.Getegid())
	u, err := net.Dial("udp4", "127.0.0.1:4789")
	if err != nil {
		t.Fatal(err)
	}
	u.Write([]byte("after the drop"))
	u.Close()
	var f capture.Frame
	if err := src.Next(&f); err != nil {
		t.Fatal(err)
	}
	s := liveDecode(t, f)
	fmt.Printf("captured %s %v -> %v\n", s.proto, s.src, s.dst)
	if err := w.Write(&f); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Options{Interfaces: []string{"lo"}}); errors.Is(err, ErrPermission) && errors.Is(err, os.ErrPermission) {
		fmt.Printf("reopen: %s\n", ErrPermission)
	} else {
		fmt.Printf("reopen: unexpected %v\n", err)
	}
	if _, err := os.Create(filepath.Join(dir, "new")); errors.Is(err, os.ErrPermission) {
		fmt.Println("create: permission denied")
	}
	if err := syscall.Setuid(0); err != nil {
		fmt.Printf("setuid 0: %v\n", err)
	}
}

// TestLiveNetns captures in a network namespace of its own holding a TUN
// device, whose packets are raw IP: "any" opens it beside lo, each with its
// link type, and a pcapng file keeps both while a pcap file cannot.
func TestLiveNetns(t *testing.T) {
	testenv.Root(t)
	ip := testenv.Tool(t, "ip")
	type result struct {
		ifaces  []capture.Interface
		frames  []capture.Frame
		progErr error
		err     error
		missing error // what the machine lacks for the test
	}
	done := make(chan result, 1)
	go func() {
		// This goroutine's thread enters the new namespace and, locked,
		// is never used for anything else: it ends with the goroutine.
		runtime.LockOSThread()
		var res result
		defer func() { done <- res }()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			res.missing = fmt.Errorf("a network namespace: unshare: %w", err)
			return
		}
		tun, err := liveTun("vpce0")
		if err != nil {
			res.missing = fmt.Errorf("a TUN device: %w", err)
			return
		}
		defer tun.Close()
		for _, args := range [][]string{
			{"link", "set", "lo", "up"},
			{"link", "set", "vpce0", "up"},
			{"addr", "add", "10.99.0.1/24", "dev", "vpce0"},
		} {
			if out, err := exec.Command(ip, args...).CombinedOutput(); err != nil {
				res.err = fmt.Errorf("ip %v: %v %s", args, err, out)
				return
			}
		}
		_, res.progErr = Open(Options{Interfaces: []string{"any"}, Program: []netbpf.RawInstruction{{Op: 6, K: 65535}}})
		src, err := Open(Options{Interfaces: []string{"any"}, Filter: bpf.Spec{VXLAN: true}})
		if err != nil {
			res.err = err
			return
		}
		defer src.Close()
		res.ifaces = src.Interfaces()
		sink, err := net.ListenPacket("udp4", "127.0.0.1:4789")
		if err != nil {
			res.err = err
			return
		}
		defer sink.Close()
		for _, to := range []string{"10.99.0.2:4789", "127.0.0.1:4789", "10.99.0.2:4790"} {
			u, err := net.Dial("udp4", to)
			if err != nil {
				res.err = err
				return
			}
			u.Write([]byte("to " + to))
			u.Close()
		}
		time.Sleep(5 * BlockTimeout)
		go func() {
			time.Sleep(5 * BlockTimeout)
			src.Close()
		}()
		var f capture.Frame
		for src.Next(&f) == nil {
			g := f
			g.Data = slices.Clone(f.Data)
			res.frames = append(res.frames, g)
		}
	}()
	res := <-done
	if res.missing != nil {
		testenv.Unavailable(t, "needs %v", res.missing)
	}
	if res.err != nil {
		t.Fatal(res.err)
	}
	want := []capture.Interface{{Name: "lo", LinkType: layers.LinkTypeEthernet, SnapLen: 262144}, {Name: "vpce0", LinkType: layers.LinkTypeRaw, SnapLen: 262144}}
	if !slices.Equal(res.ifaces, want) {
		t.Fatalf("interfaces %v, want %v", res.ifaces, want)
	}
	if res.progErr == nil || !strings.Contains(res.progErr.Error(), "lo is EN10MB and vpce0 is RAW") {
		t.Errorf("a program with interfaces of two link types: %v, want an error naming them", res.progErr)
	}
	var got []string
	for _, f := range res.frames {
		s := liveDecode(t, f)
		got = append(got, fmt.Sprintf("%s %v %s -> %v", res.ifaces[f.Interface].Name, f.LinkType, s.proto, s.dst))
	}
	wantFrames := []string{"vpce0 Raw udp -> 10.99.0.2:4789", "lo Ethernet udp -> 127.0.0.1:4789"}
	slices.Sort(got)
	slices.Sort(wantFrames)
	if !slices.Equal(got, wantFrames) {
		t.Fatalf("frames %q, want %q", got, wantFrames)
	}

	dir := t.TempDir()
	if _, err := savefile.NewWriter(filepath.Join(dir, "both.pcap"), res.ifaces); err == nil || !strings.Contains(err.Error(), ".pcapng") {
		t.Errorf("pcap of two link types: %v, want an error pointing to .pcapng", err)
	}
	path := filepath.Join(dir, "both.pcapng")
	w, err := savefile.NewWriter(path, res.ifaces)
	if err != nil {
		t.Fatal(err)
	}
	for i := range res.frames {
		if err := w.Write(&res.frames[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(nil); err != nil {
		t.Fatal(err)
	}
	tshark := testenv.Tool(t, "tshark")
	out, err := exec.Command(tshark, "-r", path, "-T", "fields", "-e", "frame.interface_name", "-e", "frame.encap_type", "-e", "udp.dstport").Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	slices.Sort(lines)
	// tshark's encapsulation numbers: 1 Ethernet, 7 raw IP.
	if wantT := []string{"lo\t1\t4789", "vpce0\t7\t4789"}; !slices.Equal(lines, wantT) {
		t.Errorf("tshark reads %q, want %q", lines, wantT)
	}
}

// liveTun creates a TUN device (no packet information header) in the
// current thread's network namespace; it exists while the file is open.
func liveTun(name string) (*os.File, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open /dev/net/tun: %w", err)
	}
	var req [unix.IFNAMSIZ + 64]byte
	copy(req[:], name)
	*(*uint16)(unsafe.Pointer(&req[unix.IFNAMSIZ])) = unix.IFF_TUN | unix.IFF_NO_PI
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TUNSETIFF, uintptr(unsafe.Pointer(&req[0]))); e != 0 {
		unix.Close(fd)
		return nil, fmt.Errorf("TUNSETIFF %s: %w", name, e)
	}
	return os.NewFile(uintptr(fd), "/dev/net/tun"), nil
}

// liveTshark lists a written file's frames as tshark reads them: interface,
// length, captured length, time.
func liveTshark(t *testing.T, path string) []string {
	t.Helper()
	return testenv.Tshark(t, "-r", path, "-T", "fields", "-e", "frame.interface_name", "-e", "frame.len", "-e", "frame.cap_len", "-e", "frame.time_epoch")
}
