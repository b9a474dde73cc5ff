//go:build linux

package afpacket

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/gopacket/gopacket/layers"
	netbpf "golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/vpce-verify/vpce-verify/capture"
	"github.com/vpce-verify/vpce-verify/capture/bpf"
)

// Layout of the TPACKET_V3 ring (linux/if_packet.h).
const (
	liveBlockStatus = 8  // tpacket_block_desc.hdr.bh1.block_status
	liveBlockPkts   = 12 // .num_pkts
	liveBlockFirst  = 16 // .offset_to_first_pkt
	liveHdrLen      = 48 // struct tpacket3_hdr; struct sockaddr_ll follows
	liveSllLen      = 20
	liveFrameSize   = 2048 // any multiple of 16 above the headers: V3 packs packets
)

// Ring sizes: unless Options.BufferSize says otherwise, each interface
// gets its share of liveRingTotal, within liveRingMin and liveRingMax, in
// blocks of liveBlockSize (larger when the snap length needs it). 32 MiB on
// one interface rides out about a second of 200 000 packets/s (bench/live).
const (
	liveBlockSize = 256 << 10
	liveRingMin   = 4 << 20
	liveRingMax   = 32 << 20
	liveRingTotal = 64 << 20
	liveMaxSnap   = 262144
)

// Source captures packets from network interfaces. Next is called
// from one goroutine at a time; Stats and Close may be called from any
// goroutine, also while Next blocks.
//
// Each interface has a ring of 32 MiB (less, down to 4 MiB, when "any"
// opens many): at 200 000 small packets a second that is about a second of
// packets a stalled reader can catch up on. What does not fit is counted
// by the kernel as dropped (Stats).
type Source struct {
	ifaces []capture.Interface
	socks  []*liveSocket
	pfds   []unix.PollFd // the wake eventfd, then one per socket
	wake   int
	snap   int
	cur    int // the socket Next reads from

	closing atomic.Bool
	readMu  sync.Mutex // held by Next
	closeMu sync.Mutex // serializes Close
	statsMu sync.Mutex // guards closed, stats and the sockets' descriptors
	closed  bool
	stats   Stats

	// The kernel counters are 32 bits and reset on every read, so Next
	// reads them now and then: after a second without, or 64 blocks.
	lastStats time.Time
	released  int

	// What Next gave, and why it stopped giving, for Inputs.
	packets, bytes atomic.Uint64
	first, last    atomic.Int64 // packet times given, Unix nanoseconds
	failed         atomic.Pointer[error]
}

// liveSocket is one interface's packet socket and its ring.
type liveSocket struct {
	fd        int
	ring      []byte
	blockSize int
	blocks    int
	linkType  layers.LinkType
	loopback  bool // drop the outgoing copy: loopback shows each packet twice
	ethernet  bool // frames start with an Ethernet header: put stripped VLAN tags back
	block     int  // the block to read next
	held      bool // block belongs to the process until released
	left      int  // packets of the held block not yet read
	pos       int  // ring offset of the next packet
	end       int  // ring offset where the held block ends
	kstats    unix.TpacketStatsV3
}

// Open opens a packet socket on each interface of opts, with the kernel
// filter attached before any packet can arrive. It fails with an error
// wrapping ErrPermission without CAP_NET_RAW, and names the interfaces that
// exist when one of opts.Interfaces does not.
func Open(opts Options) (*Source, error) {
	snap := opts.SnapLen
	switch {
	case snap == 0:
		snap = liveMaxSnap
	case snap < 0 || snap > liveMaxSnap:
		return nil, fmt.Errorf("live: snap length %d, want 1 to %d", snap, liveMaxSnap)
	}
	if opts.BufferSize < 0 {
		return nil, fmt.Errorf("live: buffer size %d bytes", opts.BufferSize)
	}
	ifs, err := liveInterfaces(opts.Interfaces)
	if err != nil {
		return nil, err
	}
	if len(opts.Program) > bpf.MaxInstructions-3 {
		return nil, fmt.Errorf("live: filter program of %d instructions, at most %d", len(opts.Program), bpf.MaxInstructions-3)
	}
	s := &Source{snap: snap, wake: -1}
	ok := false
	defer func() {
		if !ok {
			s.release()
		}
	}()
	s.wake, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("live: eventfd: %w", err)
	}
	ring := min(max(liveRingTotal/len(ifs), liveRingMin), liveRingMax)
	if opts.BufferSize > 0 {
		ring = opts.BufferSize
	}
	for _, ifc := range ifs {
		k, err := liveOpen(ifc, opts, snap, ring)
		if err != nil {
			return nil, err
		}
		s.socks = append(s.socks, k)
		s.ifaces = append(s.ifaces, capture.Interface{Name: ifc.Name, LinkType: k.linkType, SnapLen: snap})
	}
	if len(opts.Program) > 0 {
		for _, ifc := range s.ifaces[1:] {
			if ifc.LinkType != s.ifaces[0].LinkType {
				return nil, fmt.Errorf("live: a filter program is compiled for one link type, but %s is %s and %s is %s: capture them separately",
					s.ifaces[0].Name, capture.LinkTypeName(s.ifaces[0].LinkType), ifc.Name, capture.LinkTypeName(ifc.LinkType))
			}
		}
	}
	s.pfds = append(s.pfds, unix.PollFd{Fd: int32(s.wake), Events: unix.POLLIN})
	for _, k := range s.socks {
		s.pfds = append(s.pfds, unix.PollFd{Fd: int32(k.fd), Events: unix.POLLIN})
	}
	s.stats.Interfaces = make([]capture.Counts, len(s.socks))
	s.lastStats = time.Now()
	ok = true
	return s, nil
}

// liveInterfaces resolves names, expanding "any", in the order given.
func liveInterfaces(names []string) ([]net.Interface, error) {
	if len(names) == 0 {
		return nil, errors.New("live: no interface given")
	}
	all, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("live: list interfaces: %w", err)
	}
	var out []net.Interface
	add := func(ifc net.Interface) {
		if !slices.ContainsFunc(out, func(o net.Interface) bool { return o.Index == ifc.Index }) {
			out = append(out, ifc)
		}
	}
	for _, name := range names {
		if name == "any" {
			for _, ifc := range all {
				if ifc.Flags&net.FlagUp != 0 {
					add(ifc)
				}
			}
			continue
		}
		i := slices.IndexFunc(all, func(ifc net.Interface) bool { return ifc.Name == name })
		if i < 0 {
			have := make([]string, len(all))
			for j, ifc := range all {
				have[j] = ifc.Name
			}
			return nil, fmt.Errorf("live: no interface %q (there are: %s, and any)", name, strings.Join(have, ", "))
		}
		add(all[i])
	}
	if len(out) == 0 {
		return nil, errors.New("live: no interface is up")
	}
	return out, nil
}

// liveOpen opens the socket of one interface. The socket is created for
// protocol 0, which receives nothing, and is bound to all protocols only
// once the filter and the ring are in place.
func liveOpen(ifc net.Interface, opts Options, snap, ringBytes int) (_ *liveSocket, err error) {
	fail := func(what string, err error) error {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return fmt.Errorf("live: %s: %s: %w (%w)", ifc.Name, what, err, ErrPermission)
		}
		return fmt.Errorf("live: %s: %s: %w", ifc.Name, what, err)
	}
	k := &liveSocket{fd: -1}
	defer func() {
		if err != nil {
			k.close()
		}
	}()
	// The device type decides the framing: Ethernet and loopback frames
	// are kept whole; devices without a link header (tun, WireGuard) give
	// IP packets; anything else is read without its link header, as IP.
	k.fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fail("packet socket", err)
	}
	if err := unix.Bind(k.fd, &unix.SockaddrLinklayer{Ifindex: ifc.Index}); err != nil {
		return nil, fail("bind", err)
	}
	sa, err := unix.Getsockname(k.fd)
	if err != nil {
		return nil, fail("getsockname", err)
	}
	ll, _ := sa.(*unix.SockaddrLinklayer)
	if ll == nil {
		return nil, fail("getsockname", errors.New("not a link-layer address"))
	}
	switch ll.Hatype {
	case unix.ARPHRD_ETHER, unix.ARPHRD_LOOPBACK:
		k.linkType, k.ethernet = layers.LinkTypeEthernet, true
		k.loopback = ll.Hatype == unix.ARPHRD_LOOPBACK
	case unix.ARPHRD_NONE:
		k.linkType = layers.LinkTypeRaw
	default:
		k.linkType = layers.LinkTypeRaw
		unix.Close(k.fd)
		k.fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return nil, fail("packet socket", err)
		}
	}
	if err := unix.SetsockoptInt(k.fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
		return nil, fail("TPACKET_V3", err)
	}
	prog := opts.Program
	if len(prog) == 0 {
		if prog, err = opts.Filter.Program(k.linkType); err != nil {
			return nil, fmt.Errorf("live: %s: %w", ifc.Name, err)
		}
	}
	prog = liveProgram(prog, k.loopback, snap)
	filter := make([]unix.SockFilter, len(prog))
	for i, ri := range prog {
		filter[i] = unix.SockFilter{Code: ri.Op, Jt: ri.Jt, Jf: ri.Jf, K: ri.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.SetsockoptSockFprog(k.fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fprog); err != nil {
		return nil, fail("attach filter", err)
	}
	if opts.Promisc {
		mreq := unix.PacketMreq{Ifindex: int32(ifc.Index), Type: unix.PACKET_MR_PROMISC}
		if err := unix.SetsockoptPacketMreq(k.fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq); err != nil {
			return nil, fail("promiscuous mode", err)
		}
	}
	k.blockSize = liveBlockSize
	for k.blockSize < snap+liveHdrLen+liveSllLen+4096 {
		k.blockSize *= 2
	}
	k.blocks = max(ringBytes/k.blockSize, 2)
	req := unix.TpacketReq3{
		Block_size:     uint32(k.blockSize),
		Block_nr:       uint32(k.blocks),
		Frame_size:     liveFrameSize,
		Frame_nr:       uint32(k.blockSize / liveFrameSize * k.blocks),
		Retire_blk_tov: uint32(BlockTimeout / time.Millisecond),
	}
	if err := unix.SetsockoptTpacketReq3(k.fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return nil, fail("ring", err)
	}
	k.ring, err = unix.Mmap(k.fd, 0, k.blockSize*k.blocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fail("map ring", err)
	}
	if err := unix.Bind(k.fd, &unix.SockaddrLinklayer{Ifindex: ifc.Index, Protocol: liveHtons(unix.ETH_P_ALL)}); err != nil {
		return nil, fail("bind", err)
	}
	return k, nil
}

// liveProgram makes the program the kernel runs: on loopback a guard that
// drops the outgoing copy of each packet first (libpcap drops it in user
// space), and every accepting return lowered to the snap length.
func liveProgram(prog []netbpf.RawInstruction, loopback bool, snap int) []netbpf.RawInstruction {
	var out []netbpf.RawInstruction
	if loopback {
		guard, _ := netbpf.Assemble([]netbpf.Instruction{
			netbpf.LoadExtension{Num: netbpf.ExtType},
			netbpf.JumpIf{Cond: netbpf.JumpNotEqual, Val: unix.PACKET_OUTGOING, SkipTrue: 1},
			netbpf.RetConstant{Val: 0},
		})
		out = append(out, guard...)
	}
	for _, ri := range prog {
		if ri.Op == 0x06 && ri.K > uint32(snap) { // BPF_RET|BPF_K
			ri.K = uint32(snap)
		}
		out = append(out, ri)
	}
	return out
}

func liveHtons(v uint16) uint16 { return v<<8 | v>>8 }

// Interfaces describes the capture's interfaces; Frame.Interface indexes
// this list, and each belongs to the one input (Input 0).
func (s *Source) Interfaces() []capture.Interface { return slices.Clone(s.ifaces) }

// Next waits for the next packet of any interface and puts it in f, with
// the kernel's timestamp. f.Data stays valid until the next call. After
// Close, Next returns capture.ErrClosed.
func (s *Source) Next(f *capture.Frame) error {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	for {
		if s.closing.Load() {
			return capture.ErrClosed
		}
		if s.take(f) {
			s.packets.Add(1)
			s.bytes.Add(uint64(max(f.WireLen, len(f.Data))))
			ns := f.TS.UnixNano()
			if first := s.first.Load(); first == 0 || ns < first {
				s.first.Store(ns)
			}
			if ns > s.last.Load() {
				s.last.Store(ns)
			}
			return nil
		}
		if err := s.wait(); err != nil {
			s.failed.Store(&err)
			return err
		}
	}
}

// Inputs describes the capture as one input, "live:" and the interface
// names, with the packets given so far and the kernel's drops.
func (s *Source) Inputs() []capture.Input {
	in := capture.Input{Format: "live", Packets: s.packets.Load(), Bytes: s.bytes.Load(), DropsKnown: true}
	var names []string
	for _, ifc := range s.ifaces {
		names = append(names, ifc.Name)
		if lt := capture.LinkTypeName(ifc.LinkType); !slices.Contains(in.LinkTypes, lt) {
			in.LinkTypes = append(in.LinkTypes, lt)
		}
	}
	in.Name = "live:" + strings.Join(names, ",")
	in.Drops = s.Stats().Dropped
	if first := s.first.Load(); first != 0 {
		in.First, in.Last = time.Unix(0, first), time.Unix(0, s.last.Load())
	}
	if err := s.failed.Load(); err != nil {
		in.Err = *err
	}
	return []capture.Input{in}
}

// take puts the next ready packet in f, going round the interfaces one
// block at a time so that a busy one does not starve the others.
func (s *Source) take(f *capture.Frame) bool {
	for idle := 0; idle < len(s.socks); {
		k := s.socks[s.cur]
		switch {
		case k.left > 0:
			if k.packet(f, s.snap) {
				f.Interface = s.cur
				return true
			}
		case k.held:
			k.release()
			if s.released++; s.released >= 64 {
				s.readStats()
			}
			s.cur = (s.cur + 1) % len(s.socks)
			idle = 0
		case k.ready():
			k.open()
		default:
			s.cur = (s.cur + 1) % len(s.socks)
			idle++
		}
	}
	return false
}

// wait blocks until a socket has a block ready or Close is called.
func (s *Source) wait() error {
	if time.Since(s.lastStats) > time.Second {
		s.readStats()
	}
	for {
		_, err := unix.Poll(s.pfds, -1)
		if err == nil {
			break
		}
		if err != unix.EINTR {
			return fmt.Errorf("live: poll: %w", err)
		}
	}
	for i, p := range s.pfds[1:] {
		if p.Revents&(unix.POLLERR|unix.POLLNVAL) == 0 {
			continue
		}
		// The kernel reports ENETDOWN when an interface goes down; the
		// socket resumes if it comes back up. Reading the error clears it.
		e, err := unix.GetsockoptInt(int(p.Fd), unix.SOL_SOCKET, unix.SO_ERROR)
		if err == nil && (e == 0 || syscall.Errno(e) == unix.ENETDOWN) {
			continue
		}
		if err == nil {
			err = syscall.Errno(e)
		}
		return fmt.Errorf("live: %s: %w", s.ifaces[i].Name, err)
	}
	return nil
}

func (k *liveSocket) status(block int) *uint32 {
	return (*uint32)(unsafe.Pointer(&k.ring[block*k.blockSize+liveBlockStatus]))
}

// ready reports whether the kernel has handed over the next block.
func (k *liveSocket) ready() bool {
	return atomic.LoadUint32(k.status(k.block))&unix.TP_STATUS_USER != 0
}

func (k *liveSocket) open() {
	base := k.block * k.blockSize
	b := k.ring[base : base+k.blockSize]
	k.held = true
	k.left = int(binary.NativeEndian.Uint32(b[liveBlockPkts:]))
	k.pos = base + int(binary.NativeEndian.Uint32(b[liveBlockFirst:]))
	k.end = base + k.blockSize
}

// release gives the held block back to the kernel.
func (k *liveSocket) release() {
	atomic.StoreUint32(k.status(k.block), unix.TP_STATUS_KERNEL)
	k.held, k.left = false, 0
	k.block = (k.block + 1) % k.blocks
}

// packet reads the next packet of the held block into f. It returns false
// for a packet to skip.
func (k *liveSocket) packet(f *capture.Frame, snap int) bool {
	k.left--
	p := k.pos
	if p < 0 || p+liveHdrLen+liveSllLen > k.end {
		k.left = 0 // a damaged block: never seen, but never read past it
		return false
	}
	h := k.ring[p : p+liveHdrLen+liveSllLen]
	ne := binary.NativeEndian
	next := int(ne.Uint32(h[0:]))
	sec, nsec := ne.Uint32(h[4:]), ne.Uint32(h[8:])
	capLen, wireLen := int(ne.Uint32(h[12:])), int(ne.Uint32(h[16:]))
	status := ne.Uint32(h[20:])
	mac := int(ne.Uint16(h[24:]))
	pktType := h[liveHdrLen+10] // sockaddr_ll.sll_pkttype
	if next > 0 {
		k.pos = p + next
	} else {
		k.left = 0
	}
	start, end := p+mac, p+mac+capLen
	if mac < liveHdrLen+liveSllLen || end > k.end {
		k.left = 0
		return false
	}
	if k.loopback && pktType == unix.PACKET_OUTGOING {
		return false
	}
	if k.ethernet && status&unix.TP_STATUS_VLAN_VALID != 0 && capLen >= 12 && mac-4 >= liveHdrLen+liveSllLen {
		// The kernel took the tag out of the frame; put it back behind
		// the MAC addresses, in the free space before the frame.
		tci := uint16(ne.Uint32(h[32:]))
		tpid := uint16(layers.EthernetTypeDot1Q)
		if status&unix.TP_STATUS_VLAN_TPID_VALID != 0 {
			tpid = ne.Uint16(h[36:])
		}
		copy(k.ring[start-4:start+8], k.ring[start:start+12])
		binary.BigEndian.PutUint16(k.ring[start+8:], tpid)
		binary.BigEndian.PutUint16(k.ring[start+10:], tci)
		start -= 4
		wireLen += 4
	}
	f.Data = k.ring[start:min(end, start+snap)]
	f.WireLen = max(wireLen, len(f.Data))
	f.TS = time.Unix(int64(sec), int64(nsec))
	f.LinkType = k.linkType
	return true
}

// readStats is Next's periodic read of the counters.
func (s *Source) readStats() {
	s.lastStats, s.released = time.Now(), 0
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	s.readStatsLocked()
}

// readStatsLocked adds the kernel counters, which reset on every read, to
// the totals.
func (s *Source) readStatsLocked() {
	if s.closed {
		return
	}
	var total capture.Counts
	for i, k := range s.socks {
		size := uint32(unsafe.Sizeof(k.kstats))
		_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(k.fd), unix.SOL_PACKET, unix.PACKET_STATISTICS,
			uintptr(unsafe.Pointer(&k.kstats)), uintptr(unsafe.Pointer(&size)), 0)
		if e == 0 {
			s.stats.Interfaces[i].Received += uint64(k.kstats.Packets)
			s.stats.Interfaces[i].Dropped += uint64(k.kstats.Drops)
		}
		total.Received += s.stats.Interfaces[i].Received
		total.Dropped += s.stats.Interfaces[i].Dropped
	}
	s.stats.Counts = total
}

// Stats returns the kernel's counters so far, or, after Close, at Close.
func (s *Source) Stats() Stats {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	s.readStatsLocked()
	st := s.stats
	st.Interfaces = slices.Clone(st.Interfaces)
	return st
}

// Close stops the capture: a Next blocked in another goroutine returns
// capture.ErrClosed at once. Packets the kernel has not yet handed over (at most
// BlockTimeout of them) are lost. Calling Close again does nothing.
func (s *Source) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closing.Load() {
		return nil
	}
	s.closing.Store(true)
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	if _, err := unix.Write(s.wake, one[:]); err != nil && err != unix.EAGAIN {
		return fmt.Errorf("live: wake reader: %w", err)
	}
	s.readMu.Lock() // Next has returned and will not touch the rings again
	defer s.readMu.Unlock()
	s.statsMu.Lock()
	s.readStatsLocked()
	s.statsMu.Unlock()
	s.release()
	return nil
}

// release frees the sockets, rings and eventfd.
func (s *Source) release() {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	for _, k := range s.socks {
		k.close()
	}
	if s.wake >= 0 {
		unix.Close(s.wake)
		s.wake = -1
	}
	s.closed = true
}

func (k *liveSocket) close() {
	if k.ring != nil {
		unix.Munmap(k.ring)
		k.ring = nil
	}
	if k.fd >= 0 {
		unix.Close(k.fd)
		k.fd = -1
	}
}
