package sockowner

import (
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
)

// connPair is a TCP connection on loopback: the dialled end and the
// accepted end.
func connPair(t *testing.T, network, addr string) (client, server *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Skipf("no %s loopback: %v", network, err)
	}
	defer ln.Close()
	c, err := net.Dial(network, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

func addrs(c net.Conn) (local, remote netip.AddrPort) {
	return c.LocalAddr().(*net.TCPAddr).AddrPort(), c.RemoteAddr().(*net.TCPAddr).AddrPort()
}

// inode is the inode of the socket behind c, as fstat says.
func inode(t *testing.T, c *net.TCPConn) uint32 {
	t.Helper()
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	raw.Control(func(fd uintptr) { err = syscall.Fstat(int(fd), &st) })
	if err != nil {
		t.Fatal(err)
	}
	return uint32(st.Ino)
}

// The request is encoded and the answer decoded as the kernel means them:
// the kernel finds the socket by its 4-tuple and gives its inode (the one
// fstat gives), its UID and its state, for IPv4 and IPv6, either end.
func TestDiagFindsSockets(t *testing.T) {
	d, err := openDiag()
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	for _, tc := range []struct{ network, addr string }{{"tcp4", "127.0.0.1:0"}, {"tcp6", "[::1]:0"}} {
		t.Run(tc.network, func(t *testing.T) {
			c, s := connPair(t, tc.network, tc.addr)
			for _, conn := range []*net.TCPConn{c, s} {
				local, remote := addrs(conn)
				e, found, err := d.find(local, remote)
				if err != nil || !found {
					t.Fatalf("find %s -> %s: found %v, %v", local, remote, found, err)
				}
				if e.local != local || e.remote != remote || e.inode != inode(t, conn) || e.uid != uint32(os.Getuid()) || tcpState(e.state) != "ESTABLISHED" {
					t.Errorf("find %s -> %s: %+v (state %s), want inode %d uid %d", local, remote, e, tcpState(e.state), inode(t, conn), os.Getuid())
				}
			}
		})
	}
}

// No socket: ENOENT is "not found", not an error; and the listener an
// exact lookup falls back to for a port it listens on is not taken for
// the connection.
func TestDiagNotFound(t *testing.T) {
	d, err := openDiag()
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	lport := ln.Addr().(*net.TCPAddr).AddrPort()
	for _, q := range [][2]netip.AddrPort{
		{netip.MustParseAddrPort("127.0.0.1:1"), netip.MustParseAddrPort("127.0.0.1:2")},
		{netip.MustParseAddrPort("[::1]:1"), netip.MustParseAddrPort("[::1]:2")},
		{lport, netip.MustParseAddrPort("127.0.0.1:40000")},
	} {
		e, found, err := d.find(q[0], q[1])
		if err != nil || found {
			t.Errorf("find %s -> %s: found %v %+v, %v", q[0], q[1], found, e, err)
		}
	}
}

// After the closing end's FIN exchange the socket stays in TIME-WAIT,
// owned by nobody: inode 0.
func TestDiagTimeWait(t *testing.T) {
	d, err := openDiag()
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	c, s := connPair(t, "tcp4", "127.0.0.1:0")
	local, remote := addrs(c)
	c.Close()
	buf := make([]byte, 1)
	s.Read(buf) // EOF once the FIN arrived
	s.Close()
	e, found, err := d.find(local, remote)
	if err != nil || !found || e.inode != 0 {
		t.Fatalf("closed socket: found %v %+v (state %s), %v", found, e, tcpState(e.state), err)
	}
	if st := tcpState(e.state); st != "TIME-WAIT" && st != "FIN-WAIT-2" {
		t.Errorf("state %s, want TIME-WAIT", st)
	}
}

// Answers the kernel would never give, or that a damaged datagram holds,
// are errors or ignored, never a read past the buffer.
func TestDecodeReplyDamaged(t *testing.T) {
	var good [nlHdrLen + diagMsgLen]byte
	hdr := func(b []byte, l uint32, typ uint16, seq uint32) []byte {
		binary.NativeEndian.PutUint32(b[0:], l)
		binary.NativeEndian.PutUint16(b[4:], typ)
		binary.NativeEndian.PutUint32(b[8:], seq)
		return b
	}
	msg := hdr(good[:], uint32(len(good)), sockDiagByFamily, 7)
	msg[nlHdrLen] = syscall.AF_INET
	if _, found, mine, err := decodeReply(msg, 7); !found || !mine || err != nil {
		t.Fatalf("good answer: %v %v %v", found, mine, err)
	}
	for _, tc := range []struct {
		name string
		b    []byte
		mine bool
		err  bool
	}{
		{"length beyond the datagram", hdr(make([]byte, 20), 400, sockDiagByFamily, 7), true, true},
		{"length below a header", hdr(make([]byte, 20), 4, sockDiagByFamily, 7), true, true},
		{"short answer", hdr(make([]byte, 40), 40, sockDiagByFamily, 7), true, true},
		{"short error", hdr(make([]byte, 16), 16, syscall.NLMSG_ERROR, 7), true, true},
		{"another request's", hdr(make([]byte, 88), 88, sockDiagByFamily, 6), false, false},
		{"less than a header", make([]byte, 10), false, false},
		{"unknown family", func() []byte {
			b := hdr(make([]byte, 88), 88, sockDiagByFamily, 7)
			b[nlHdrLen] = 99
			return b
		}(), true, true},
	} {
		_, found, mine, err := decodeReply(tc.b, 7)
		if found || mine != tc.mine || (err != nil) != tc.err {
			t.Errorf("%s: found %v mine %v err %v", tc.name, found, mine, err)
		}
	}
}
