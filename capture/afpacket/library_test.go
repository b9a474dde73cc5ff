//go:build linux

package afpacket

import (
	"bytes"
	"fmt"
	"net"
	"testing"
	"time"

	gafpacket "github.com/gopacket/gopacket/afpacket"
	"github.com/vpce-verify/vpce-verify/internal/testenv"
	netbpf "golang.org/x/net/bpf"
)

// What gopacket's afpacket (v1.7.7) does on loopback, for the reasons
// doc.go gives for not using it. The other two (Close while a read blocks,
// one socket per read) need a hung or faulting read to show, and are
// stated with the library's lines in doc.go instead.

// libraryDatagram sends one UDP datagram with a payload no other traffic
// carries to a socket of its own on 127.0.0.1 (so that no ICMP answer
// follows), and returns the payload.
func libraryDatagram(t *testing.T) []byte {
	t.Helper()
	ln, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("udp4", ln.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	payload := fmt.Appendf(nil, "vpce-verify library test %d", time.Now().UnixNano())
	if _, err := c.Write(payload); err != nil {
		t.Fatal(err)
	}
	return payload
}

// libraryCopies reads tp until its poll times out and counts the packets
// that carry payload.
func libraryCopies(t *testing.T, tp *gafpacket.TPacket, payload []byte) int {
	t.Helper()
	n := 0
	for {
		data, _, err := tp.ZeroCopyReadPacketData()
		if err == gafpacket.ErrTimeout {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, payload) {
			n++
		}
	}
}

func libraryTPacket(t *testing.T) *gafpacket.TPacket {
	t.Helper()
	tp, err := gafpacket.NewTPacket(gafpacket.OptInterface("lo"), gafpacket.OptPollTimeout(300*time.Millisecond), gafpacket.OptBlockTimeout(5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	// Closed only once no read runs: its Close must not race a read.
	t.Cleanup(tp.Close)
	return tp
}

// NewTPacket returns a socket that is already bound and receiving, so a
// packet that arrives before SetBPF is in the ring whatever the filter
// says. Source attaches its filter before it binds.
func TestLibraryFilterAfterBind(t *testing.T) {
	testenv.Root(t)
	rejectAll, err := netbpf.Assemble([]netbpf.Instruction{netbpf.RetConstant{Val: 0}})
	if err != nil {
		t.Fatal(err)
	}

	tp := libraryTPacket(t)
	payload := libraryDatagram(t) // between the socket's creation and its filter
	if err := tp.SetBPF(rejectAll); err != nil {
		t.Fatal(err)
	}
	if n := libraryCopies(t, tp, payload); n != 2 {
		t.Errorf("gopacket afpacket: %d copies of a datagram sent before SetBPF rejected everything, want 2 (out and in)", n)
	}

	c := liveStart(t, Options{Interfaces: []string{"lo"}, Program: rejectAll})
	libraryDatagram(t)
	if frames := c.stop(t); len(frames) != 0 {
		t.Errorf("Source with a filter rejecting everything read %d packets", len(frames))
	}
}

// Loopback shows each packet twice, leaving and arriving. gopacket's
// TPacket does not say which is which, but the kernel guard Source puts
// before its filter (liveProgram) removes the outgoing copy through
// TPacket.SetBPF as well: not a reason to keep the ring.
func TestLibraryLoopbackCopies(t *testing.T) {
	testenv.Root(t)
	accept, err := netbpf.Assemble([]netbpf.Instruction{netbpf.RetConstant{Val: liveMaxSnap}})
	if err != nil {
		t.Fatal(err)
	}
	for _, guard := range []bool{false, true} {
		t.Run(fmt.Sprint("guard ", guard), func(t *testing.T) {
			tp := libraryTPacket(t)
			prog := accept
			if guard {
				prog = liveProgram(accept, true, liveMaxSnap)
			}
			if err := tp.SetBPF(prog); err != nil {
				t.Fatal(err)
			}
			// Empty the ring of what came before the filter.
			libraryCopies(t, tp, []byte("nothing carries this"))
			payload := libraryDatagram(t)
			want := 2
			if guard {
				want = 1
			}
			if n := libraryCopies(t, tp, payload); n != want {
				t.Errorf("%d copies of one datagram on lo, want %d", n, want)
			}
		})
	}
}
