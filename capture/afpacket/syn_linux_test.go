package afpacket

import (
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/vpce-verify/vpce-verify/internal/testenv"
)

// WatchSYNs tells of each connection's SYN on lo once (not loopback's
// outgoing copy, not the SYN-ACK), as it passes, IPv4 and IPv6.
func TestWatchSYNs(t *testing.T) {
	testenv.Root(t)
	var mu sync.Mutex
	var got [][2]netip.AddrPort
	w, err := WatchSYNs([]string{"lo"}, nil, func(src, dst netip.AddrPort) {
		mu.Lock()
		got = append(got, [2]netip.AddrPort{src, dst})
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var want [][2]netip.AddrPort
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0"} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		s.Write([]byte("data, not a SYN"))
		defer s.Close()
		want = append(want, [2]netip.AddrPort{c.LocalAddr().(*net.TCPAddr).AddrPort(), c.RemoteAddr().(*net.TCPAddr).AddrPort()})
	}
	time.Sleep(100 * time.Millisecond)
	w.Close()
	mu.Lock()
	defer mu.Unlock()
	if len(got) != len(want) {
		t.Fatalf("SYNs %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("SYN %d: %v, want %v", i, got[i], want[i])
		}
	}
}

// A SYN on an interface not watched is not told of (the socket is bound to
// every interface; the others' packets are dropped by index).
func TestWatchSYNsOtherInterface(t *testing.T) {
	testenv.Root(t)
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	other := ""
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagLoopback == 0 && ifc.Flags&net.FlagUp != 0 {
			other = ifc.Name
			break
		}
	}
	if other == "" {
		t.Skip("no interface but lo")
	}
	n := 0
	w, err := WatchSYNs([]string{other}, nil, func(src, dst netip.AddrPort) {
		if src.Addr().IsLoopback() {
			n++
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	time.Sleep(100 * time.Millisecond)
	w.Close()
	if n != 0 {
		t.Errorf("%d SYNs on lo told of a watch of %s", n, other)
	}
}

// With ports, only the SYNs from or to them are told of.
func TestWatchSYNsPorts(t *testing.T) {
	testenv.Root(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	other, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	port := ln.Addr().(*net.TCPAddr).AddrPort().Port()
	var mu sync.Mutex
	var got []uint16
	w, err := WatchSYNs([]string{"lo"}, []uint16{port}, func(src, dst netip.AddrPort) {
		mu.Lock()
		got = append(got, dst.Port())
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []net.Listener{ln, other, ln} {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	time.Sleep(100 * time.Millisecond)
	w.Close()
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || got[0] != port || got[1] != port {
		t.Errorf("SYNs to %v, want two to %d", got, port)
	}
}
