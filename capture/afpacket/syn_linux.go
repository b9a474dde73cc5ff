//go:build linux

package afpacket

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	netbpf "golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// SYNWatch reports the TCP SYNs (connection openings, not SYN-ACKs) on
// some interfaces as the kernel sees them, one system call per SYN: a
// capture's ring hands packets over in blocks, up to BlockTimeout late,
// and a short connection may be over by then. Process attribution asks
// who owns the socket at that moment.
type SYNWatch struct {
	fd, wake int
	ifaces   map[int]bool // index -> loopback
	ports    map[uint16]bool
	each     func(src, dst netip.AddrPort)
	done     chan struct{}
	once     sync.Once
}

// synProgram keeps IPv4 and IPv6 TCP segments with SYN set and ACK clear
// (cooked: the packet starts at the network header), 128 bytes of them.
func synProgram() []netbpf.RawInstruction {
	prog, err := netbpf.Assemble([]netbpf.Instruction{
		netbpf.LoadExtension{Num: netbpf.ExtProto},                        // 0
		netbpf.JumpIf{Cond: netbpf.JumpEqual, Val: 0x0800, SkipFalse: 7},  // 1: IPv6 at 9
		netbpf.LoadAbsolute{Off: 9, Size: 1},                              // 2: protocol
		netbpf.JumpIf{Cond: netbpf.JumpEqual, Val: 6, SkipFalse: 11},      // 3
		netbpf.LoadAbsolute{Off: 6, Size: 2},                              // 4: fragment offset
		netbpf.JumpIf{Cond: netbpf.JumpBitsSet, Val: 0x1fff, SkipTrue: 9}, // 5
		netbpf.LoadMemShift{Off: 0},                                       // 6: X = header length
		netbpf.LoadIndirect{Off: 13, Size: 1},                             // 7: TCP flags
		netbpf.Jump{Skip: 4},                                              // 8
		netbpf.JumpIf{Cond: netbpf.JumpEqual, Val: 0x86dd, SkipFalse: 5},  // 9
		netbpf.LoadAbsolute{Off: 6, Size: 1},                              // 10: next header
		netbpf.JumpIf{Cond: netbpf.JumpEqual, Val: 6, SkipFalse: 3},       // 11
		netbpf.LoadAbsolute{Off: 53, Size: 1},                             // 12: TCP flags
		netbpf.ALUOpConstant{Op: netbpf.ALUOpAnd, Val: 0x12},              // 13: SYN, ACK
		netbpf.JumpIf{Cond: netbpf.JumpEqual, Val: 0x02, SkipTrue: 1},     // 14
		netbpf.RetConstant{Val: 0},                                        // 15
		netbpf.RetConstant{Val: 128},                                      // 16
	})
	if err != nil {
		panic(err) // a constant program
	}
	return prog
}

// WatchSYNs calls each, from a goroutine of its own, for every TCP SYN
// seen on the interfaces (names as Options.Interfaces) from or to one of
// ports (any port when there are none), until Close. It needs
// CAP_NET_RAW, as Open does.
func WatchSYNs(interfaces []string, ports []uint16, each func(src, dst netip.AddrPort)) (*SYNWatch, error) {
	ifs, err := liveInterfaces(interfaces)
	if err != nil {
		return nil, err
	}
	w := &SYNWatch{fd: -1, wake: -1, ifaces: map[int]bool{}, each: each, done: make(chan struct{})}
	if len(ports) > 0 {
		w.ports = map[uint16]bool{}
		for _, p := range ports {
			w.ports[p] = true
		}
	}
	ok := false
	defer func() {
		if !ok {
			w.release()
		}
	}()
	if w.wake, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		return nil, fmt.Errorf("syn watch: eventfd: %w", err)
	}
	if w.fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0); err != nil {
		if errors.Is(err, unix.EPERM) {
			err = fmt.Errorf("%w (%w)", err, ErrPermission)
		}
		return nil, fmt.Errorf("syn watch: packet socket: %w", err)
	}
	prog := synProgram()
	filter := make([]unix.SockFilter, len(prog))
	for i, ri := range prog {
		filter[i] = unix.SockFilter{Code: ri.Op, Jt: ri.Jt, Jf: ri.Jf, K: ri.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.SetsockoptSockFprog(w.fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fprog); err != nil {
		return nil, fmt.Errorf("syn watch: attach filter: %w", err)
	}
	// Bound to every interface: the interfaces are told apart by index.
	if err := unix.Bind(w.fd, &unix.SockaddrLinklayer{Protocol: liveHtons(unix.ETH_P_ALL)}); err != nil {
		return nil, fmt.Errorf("syn watch: bind: %w", err)
	}
	for _, ifc := range ifs {
		w.ifaces[ifc.Index] = ifc.Flags&(1<<2) != 0 // net.FlagLoopback
	}
	ok = true
	go w.loop()
	return w, nil
}

func (w *SYNWatch) loop() {
	defer close(w.done)
	var buf [128]byte
	pfds := []unix.PollFd{{Fd: int32(w.wake), Events: unix.POLLIN}, {Fd: int32(w.fd), Events: unix.POLLIN}}
	for {
		if _, err := unix.Poll(pfds, -1); err != nil && err != unix.EINTR {
			return
		}
		if pfds[0].Revents != 0 {
			return
		}
		for {
			n, from, err := unix.Recvfrom(w.fd, buf[:], 0)
			if err != nil {
				break // EAGAIN: read them all
			}
			ll, _ := from.(*unix.SockaddrLinklayer)
			if ll == nil {
				continue
			}
			loopback, ok := w.ifaces[ll.Ifindex]
			if !ok || loopback && ll.Pkttype == unix.PACKET_OUTGOING {
				continue // not captured, or loopback's second copy
			}
			src, dst, ok := synEnds(buf[:n])
			if ok && (w.ports == nil || w.ports[src.Port()] || w.ports[dst.Port()]) {
				w.each(src, dst)
			}
		}
	}
}

// synEnds reads the addresses and ports of an IPv4 or IPv6 TCP segment.
func synEnds(p []byte) (src, dst netip.AddrPort, ok bool) {
	if len(p) < 1 {
		return src, dst, false
	}
	var s, d netip.Addr
	off := 0
	switch p[0] >> 4 {
	case 4:
		off = int(p[0]&0xf) * 4
		if off < 20 || len(p) < off+4 {
			return src, dst, false
		}
		s, d = netip.AddrFrom4([4]byte(p[12:16])), netip.AddrFrom4([4]byte(p[16:20]))
	case 6:
		off = 40
		if len(p) < off+4 {
			return src, dst, false
		}
		s, d = netip.AddrFrom16([16]byte(p[8:24])), netip.AddrFrom16([16]byte(p[24:40]))
	default:
		return src, dst, false
	}
	be := binary.BigEndian
	return netip.AddrPortFrom(s, be.Uint16(p[off:])), netip.AddrPortFrom(d, be.Uint16(p[off+2:])), true
}

// Close stops the watch; each is not called after it returns.
func (w *SYNWatch) Close() error {
	w.once.Do(func() {
		var one [8]byte
		binary.NativeEndian.PutUint64(one[:], 1)
		unix.Write(w.wake, one[:])
		select {
		case <-w.done:
		case <-time.After(time.Second):
		}
		w.release()
	})
	return nil
}

func (w *SYNWatch) release() {
	if w.fd >= 0 {
		unix.Close(w.fd)
		w.fd = -1
	}
	if w.wake >= 0 {
		unix.Close(w.wake)
		w.wake = -1
	}
}
