package bpf

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/gopacket/gopacket/layers"
	"github.com/vpce-verify/vpce-verify/capture"
	"golang.org/x/net/bpf"
)

// Spec says which packets a live capture keeps. The kernel runs the
// program built from it on every packet, so that traffic the verdict does
// not need (SSH, backups, ...) never reaches the process.
//
// What the program matches, for IPv4 and IPv6 alike:
//   - TCP with a port of TCPPorts as source or destination port;
//   - with DNS, UDP and TCP with source or destination port 53 or one of
//     DNSPorts;
//   - with VXLAN, UDP ports 4789 and 8472 (Linux's and flannel's); with
//     Geneve, UDP port 6081 (either side);
//   - with GRE, IP protocol 47, every fragment of it (tcpdump's "proto
//     gre"): the decoder reassembles and decapsulates it.
//
// IPv4 packets match whatever their header length. Fragments other than
// the first carry no ports and never match, as with tcpdump's "port"; the
// first fragment matches on its ports. IPv6 packets match only when TCP or
// UDP follows the fixed header directly: packets with extension headers
// (hop-by-hop, routing, fragment, destination options) do not match, again
// as with tcpdump's "port" primitive.
//
// On Ethernet, frames that still carry one or two VLAN tags (TPID 0x8100,
// 0x88a8 or 0x9100) are matched on the packet inside; libpcap's "vlan"
// keyword reads the same tags.
type Spec struct {
	// TCPPorts are the service ports (default 443).
	TCPPorts []uint16
	// DNS adds UDP and TCP port 53, and DNSPorts.
	DNS bool
	// DNSPorts are more ports that carry DNS with DNS set: a resolver that
	// listens on another port than 53 (dnsmasq on 5300, a lab's server).
	DNSPorts []uint16
	// VXLAN adds UDP port 4789, where VPC Traffic Mirroring delivers, and
	// 8472, Linux's VXLAN port (flannel's backend).
	VXLAN bool
	// Geneve adds UDP port 6081, where Gateway Load Balancer delivers.
	Geneve bool
	// GRE adds IP protocol 47: Transit Gateway Connect peers and SD-WAN
	// appliances carry traffic in it.
	GRE bool
}

// bpfMaxPorts bounds the ports of one protocol, and bpfMaxAllPorts those
// of both, so that every conditional jump of the generated program fits in
// its 8-bit offset (a TCP port's jump to the accepting return crosses the
// UDP comparisons too).
const (
	bpfMaxPorts    = 64
	bpfMaxAllPorts = 120
)

// bpfSnap is what the generated programs return for a packet they accept:
// the kernel keeps that many bytes. It is libpcap's default snapshot
// length; a live source lowers it to its own snap length.
const bpfSnap = 262144

// MaxInstructions is the kernel's limit for a classic BPF program
// (BPF_MAXINSNS).
const MaxInstructions = 4096

// bpfProto is one "PROTO port N" term of the filter.
type bpfProto struct {
	udp  bool
	port uint16
}

// terms lists the filter's "tcp port N" and "udp port N" terms in the order
// String prints them, without repeats.
func (s Spec) terms() []bpfProto {
	tcp := s.TCPPorts
	if len(tcp) == 0 {
		tcp = []uint16{443}
	}
	var ts []bpfProto
	add := func(udp bool, port uint16) {
		t := bpfProto{udp, port}
		if !slices.Contains(ts, t) {
			ts = append(ts, t)
		}
	}
	for _, p := range tcp {
		add(false, p)
	}
	if s.DNS {
		for _, p := range append([]uint16{53}, s.DNSPorts...) {
			add(true, p)
			add(false, p)
		}
	}
	if s.VXLAN {
		add(true, capture.VXLANPort)
		add(true, capture.VXLANLinuxPort)
	}
	if s.Geneve {
		add(true, capture.GenevePort)
	}
	return ts
}

// String returns the tcpdump expression that matches what the filter
// matches in untagged frames, such as "tcp port 443 or udp port 53 or tcp
// port 53". It is meant for reports and for pcapng interface blocks.
func (s Spec) String() string {
	var b strings.Builder
	for i, t := range s.terms() {
		if i > 0 {
			b.WriteString(" or ")
		}
		if t.udp {
			b.WriteString("udp port ")
		} else {
			b.WriteString("tcp port ")
		}
		b.WriteString(strconv.Itoa(int(t.port)))
	}
	if s.GRE {
		b.WriteString(" or proto gre")
	}
	return b.String()
}

// Program builds the kernel filter for frames of link type lt: Ethernet
// (EN10MB, which is also what Linux's loopback delivers), raw IP (RAW,
// IPV4, IPV6), LINUX_SLL or LINUX_SLL2. An accepted packet is kept whole up
// to 262144 bytes; the live source lowers that to its snap length.
func (s Spec) Program(lt layers.LinkType) ([]bpf.RawInstruction, error) {
	var tcp, udp []uint16
	for _, t := range s.terms() {
		if t.udp {
			udp = append(udp, t.port)
		} else {
			tcp = append(tcp, t.port)
		}
	}
	if len(tcp) > bpfMaxPorts {
		return nil, fmt.Errorf("bpf: %d tcp ports, at most %d", len(tcp), bpfMaxPorts)
	}
	if len(udp) > bpfMaxPorts {
		return nil, fmt.Errorf("bpf: %d udp ports, at most %d", len(udp), bpfMaxPorts)
	}
	if len(tcp)+len(udp) > bpfMaxAllPorts {
		return nil, fmt.Errorf("bpf: %d tcp and %d udp ports, at most %d in all", len(tcp), len(udp), bpfMaxAllPorts)
	}
	g := &bpfGen{tcp: tcp, udp: udp, gre: s.GRE}
	a := &g.a
	switch lt {
	case layers.LinkTypeEthernet:
		// One dispatch per tag depth; each ends in jumps to the IP code
		// for that depth, laid out after all dispatches.
		var next bpfLabel = bpfNext
		for depth := 0; depth < 3; depth++ {
			if depth > 0 {
				a.place(next)
			}
			nh := uint32(14 + 4*depth)
			a.op(bpf.LoadAbsolute{Off: nh - 2, Size: 2})
			v4, v6 := a.newLabel(), a.newLabel()
			a.jumpIf(bpf.JumpEqual, 0x0800, v4, bpfNext)
			a.jumpIf(bpf.JumpEqual, 0x86dd, v6, bpfNext)
			if depth < 2 {
				next = a.newLabel()
				for _, tpid := range []uint32{0x8100, 0x88a8, 0x9100} {
					a.jumpIf(bpf.JumpEqual, tpid, next, bpfNext)
				}
			}
			a.op(bpf.RetConstant{Val: 0})
			g.far(v4, false, nh)
			g.far(v6, true, nh)
		}
	case layers.LinkTypeRaw, 12, 14, layers.LinkTypeIPv4, layers.LinkTypeIPv6:
		// The version nibble says which header follows.
		a.op(bpf.LoadAbsolute{Off: 0, Size: 1})
		a.op(bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: 0xf0})
		v4, v6 := a.newLabel(), a.newLabel()
		a.jumpIf(bpf.JumpEqual, 0x40, v4, bpfNext)
		a.jumpIf(bpf.JumpEqual, 0x60, v6, bpfNext)
		a.op(bpf.RetConstant{Val: 0})
		g.far(v4, false, 0)
		g.far(v6, true, 0)
	case layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2:
		// LINUX_SLL has the protocol at 14 of a 16-byte header, LINUX_SLL2
		// at 0 of a 20-byte one.
		var proto, nh uint32 = 14, 16
		if lt == layers.LinkTypeLinuxSLL2 {
			proto, nh = 0, 20
		}
		a.op(bpf.LoadAbsolute{Off: proto, Size: 2})
		v4, v6 := a.newLabel(), a.newLabel()
		a.jumpIf(bpf.JumpEqual, 0x0800, v4, bpfNext)
		a.jumpIf(bpf.JumpEqual, 0x86dd, v6, bpfNext)
		a.op(bpf.RetConstant{Val: 0})
		g.far(v4, false, nh)
		g.far(v6, true, nh)
	default:
		return nil, fmt.Errorf("bpf: no filter for link type %s", capture.LinkTypeName(lt))
	}
	for _, b := range g.blocks {
		a.place(b.label)
		g.ip(b.nh, b.v6)
	}
	return a.assemble()
}

// bpfGen writes the IP part of a filter program.
type bpfGen struct {
	a        bpfAsm
	tcp, udp []uint16
	gre      bool
	blocks   []bpfBlock
}

// bpfBlock is IP code still to be written: an IPv4 or IPv6 header at
// offset nh, reached through label.
type bpfBlock struct {
	label bpfLabel
	v6    bool
	nh    uint32
}

// far places at l an unconditional jump (whose offset is 32 bits) to the IP
// code for a header at nh, so that the 8-bit conditional jumps of the
// dispatch only ever go a few instructions ahead.
func (g *bpfGen) far(l bpfLabel, v6 bool, nh uint32) {
	for _, b := range g.blocks {
		if b.v6 == v6 && b.nh == nh {
			g.a.place(l)
			g.a.jump(b.label)
			return
		}
	}
	b := bpfBlock{label: g.a.newLabel(), v6: v6, nh: nh}
	g.blocks = append(g.blocks, b)
	g.a.place(l)
	g.a.jump(b.label)
}

// ip matches an IPv4 or IPv6 header at nh followed by TCP or UDP to or
// from the filter's ports. An IPv4 transport header's offset depends on the
// header length, so it is read through X; IPv6 is matched only with the
// transport header right after its fixed 40 bytes.
func (g *bpfGen) ip(nh uint32, v6 bool) {
	a := &g.a
	accept, reject := a.newLabel(), a.newLabel()
	if v6 {
		a.op(bpf.LoadAbsolute{Off: nh + 6, Size: 1})
		if g.gre {
			a.jumpIf(bpf.JumpEqual, uint32(layers.IPProtocolGRE), accept, bpfNext)
		}
	} else {
		if g.gre {
			// Every fragment of GRE, before the fragment test: the
			// decoder reassembles it.
			a.op(bpf.LoadAbsolute{Off: nh + 9, Size: 1})
			a.jumpIf(bpf.JumpEqual, uint32(layers.IPProtocolGRE), accept, bpfNext)
		}
		a.op(bpf.LoadAbsolute{Off: nh + 6, Size: 2})
		a.jumpIf(bpf.JumpBitsSet, 0x1fff, reject, bpfNext) // a later fragment: no ports
		a.op(bpf.LoadAbsolute{Off: nh + 9, Size: 1})
	}
	tcp, udp := a.newLabel(), a.newLabel()
	a.jumpIf(bpf.JumpEqual, uint32(layers.IPProtocolTCP), tcp, bpfNext)
	if len(g.udp) > 0 {
		a.jumpIf(bpf.JumpEqual, uint32(layers.IPProtocolUDP), udp, bpfNext)
	}
	a.jump(reject)
	for _, l4 := range []struct {
		l     bpfLabel
		ports []uint16
	}{{tcp, g.tcp}, {udp, g.udp}} {
		if len(l4.ports) == 0 {
			continue
		}
		a.place(l4.l)
		if !v6 {
			a.op(bpf.LoadMemShift{Off: nh})
		}
		for _, off := range []uint32{0, 2} { // source port, destination port
			if v6 {
				a.op(bpf.LoadAbsolute{Off: nh + 40 + off, Size: 2})
			} else {
				a.op(bpf.LoadIndirect{Off: nh + off, Size: 2})
			}
			for _, p := range l4.ports {
				a.jumpIf(bpf.JumpEqual, uint32(p), accept, bpfNext)
			}
		}
		a.jump(reject)
	}
	a.place(accept)
	a.op(bpf.RetConstant{Val: bpfSnap})
	a.place(reject)
	a.op(bpf.RetConstant{Val: 0})
}

// bpfLabel names an instruction of a program being assembled.
type bpfLabel int

// bpfNext, as a jump target, is the instruction that follows.
const bpfNext bpfLabel = -1

// bpfAsm assembles a classic BPF program whose jumps name labels instead of
// counting instructions.
type bpfAsm struct {
	steps  []bpfStep
	labels []int // instruction index of each label; -1 until placed
}

type bpfStep struct {
	ins  bpf.Instruction // nil for a jump
	cond bpf.JumpTest
	val  uint32
	t, f bpfLabel
	ja   bool // unconditional jump to t
}

func (a *bpfAsm) newLabel() bpfLabel {
	a.labels = append(a.labels, -1)
	return bpfLabel(len(a.labels) - 1)
}

func (a *bpfAsm) place(l bpfLabel) { a.labels[l] = len(a.steps) }

func (a *bpfAsm) op(ins bpf.Instruction) { a.steps = append(a.steps, bpfStep{ins: ins}) }

func (a *bpfAsm) jumpIf(cond bpf.JumpTest, val uint32, t, f bpfLabel) {
	a.steps = append(a.steps, bpfStep{cond: cond, val: val, t: t, f: f})
}

func (a *bpfAsm) jump(l bpfLabel) { a.steps = append(a.steps, bpfStep{ja: true, t: l}) }

func (a *bpfAsm) assemble() ([]bpf.RawInstruction, error) {
	if len(a.steps) > MaxInstructions {
		return nil, fmt.Errorf("bpf: program of %d instructions, the kernel takes at most %d", len(a.steps), MaxInstructions)
	}
	skip := func(i int, l bpfLabel) (uint32, error) {
		if l == bpfNext {
			return 0, nil
		}
		to := a.labels[l]
		if to <= i {
			return 0, fmt.Errorf("bpf: instruction %d jumps backwards or to an unplaced label", i)
		}
		return uint32(to - i - 1), nil
	}
	ins := make([]bpf.Instruction, len(a.steps))
	for i, s := range a.steps {
		switch {
		case s.ins != nil:
			ins[i] = s.ins
		case s.ja:
			n, err := skip(i, s.t)
			if err != nil {
				return nil, err
			}
			ins[i] = bpf.Jump{Skip: n}
		default:
			t, err := skip(i, s.t)
			if err != nil {
				return nil, err
			}
			f, err := skip(i, s.f)
			if err != nil {
				return nil, err
			}
			if t > 255 || f > 255 {
				return nil, fmt.Errorf("bpf: instruction %d jumps %d instructions, more than a conditional jump can", i, max(t, f))
			}
			ins[i] = bpf.JumpIf{Cond: s.cond, Val: s.val, SkipTrue: uint8(t), SkipFalse: uint8(f)}
		}
	}
	return bpf.Assemble(ins)
}

// ParseTcpdumpDDD reads a classic BPF program in the numeric form `tcpdump
// -ddd EXPR` prints: a line with the instruction count, then one line per
// instruction with four decimal numbers "code jt jf k". The program is
// checked as the kernel would (known opcodes, jumps inside the program, a
// return at the end) so that a bad file is reported with its line rather
// than as the kernel's EINVAL.
func ParseTcpdumpDDD(r io.Reader) ([]bpf.RawInstruction, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 256), 4096)
	line, last := 0, 0 // last: the line of the latest count or instruction
	count := -1
	var prog []bpf.RawInstruction
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		if count >= 0 && last != line-1 {
			return nil, fmt.Errorf("bpf: line %d: blank line inside the program", last+1)
		}
		last = line
		if count < 0 {
			n, err := strconv.ParseUint(text, 10, 16)
			if err != nil {
				return nil, fmt.Errorf("bpf: line %d: want the instruction count, got %q", line, bpfClip(text))
			}
			if n == 0 || n > MaxInstructions {
				return nil, fmt.Errorf("bpf: line %d: instruction count %d, want 1 to %d", line, n, MaxInstructions)
			}
			count = int(n)
			prog = make([]bpf.RawInstruction, 0, count)
			continue
		}
		if len(prog) == count {
			return nil, fmt.Errorf("bpf: line %d: more instructions than the %d announced", line, count)
		}
		fields := strings.Fields(text)
		if len(fields) != 4 {
			return nil, fmt.Errorf("bpf: line %d: want four numbers \"code jt jf k\", got %q", line, bpfClip(text))
		}
		var v [4]uint64
		for i, bits := range []int{16, 8, 8, 32} {
			n, err := strconv.ParseUint(fields[i], 10, bits)
			if err != nil {
				return nil, fmt.Errorf("bpf: line %d: %s %q is not a number from 0 to %d", line, [...]string{"code", "jt", "jf", "k"}[i], bpfClip(fields[i]), uint64(1)<<bits-1)
			}
			v[i] = n
		}
		ri := bpf.RawInstruction{Op: uint16(v[0]), Jt: uint8(v[1]), Jf: uint8(v[2]), K: uint32(v[3])}
		if err := bpfCheck(ri, len(prog), count); err != nil {
			return nil, fmt.Errorf("bpf: line %d: %w", line, err)
		}
		prog = append(prog, ri)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("bpf: line %d: longer than 4096 bytes", line+1)
		}
		return nil, fmt.Errorf("bpf: %w", err)
	}
	if count < 0 {
		return nil, errors.New("bpf: empty program: want the output of tcpdump -ddd")
	}
	if len(prog) < count {
		return nil, fmt.Errorf("bpf: %d instructions announced, only %d given", count, len(prog))
	}
	if prog[len(prog)-1].Op&0x07 != 0x06 { // BPF_RET
		return nil, fmt.Errorf("bpf: line %d: the last instruction must return", last)
	}
	return prog, nil
}

// bpfCheck reports what is wrong with instruction i of a program of n.
func bpfCheck(ri bpf.RawInstruction, i, n int) error {
	switch ri.Op {
	case 0x60, 0x61, 0x02, 0x03: // ld, ldx, st, stx M[k]
		if ri.K >= 16 {
			return fmt.Errorf("scratch slot %d, there are 16", ri.K)
		}
	}
	ins := ri.Disassemble()
	if _, unknown := ins.(bpf.RawInstruction); unknown {
		return fmt.Errorf("unknown opcode %d", ri.Op)
	}
	left := n - i - 1 // instructions after this one
	switch ins := ins.(type) {
	case bpf.Jump:
		if ins.Skip >= uint32(left) {
			return fmt.Errorf("jump of %d goes past the end of the program", ins.Skip)
		}
	case bpf.JumpIf, bpf.JumpIfX:
		if int(ri.Jt) >= left || int(ri.Jf) >= left {
			return fmt.Errorf("jump of %d goes past the end of the program", max(ri.Jt, ri.Jf))
		}
	case bpf.ALUOpConstant:
		if ins.Val == 0 && (ins.Op == bpf.ALUOpDiv || ins.Op == bpf.ALUOpMod) {
			return errors.New("division by zero")
		}
	}
	return nil
}

// bpfClip shortens text quoted in an error.
func bpfClip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
