package tcpdumptext

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// kind says what a packet line was.
type kind uint8

const (
	kindOther kind = iota // another protocol: skipped
	kindTCP
	kindDNS // a DNS message over UDP
)

// TCP flag bits, as in the header's 13th byte.
const (
	flagFIN = 1 << iota
	flagSYN
	flagRST
	flagPSH
	flagACK
	flagURG
	flagECE
	flagCWR
)

// tcpFields are what a TCP line says, the numbers as printed.
type tcpFields struct {
	flags  uint8
	ae     bool // tcpdump's "e": the AccECN bit
	seq    uint32
	end    uint32 // seq+length, printed as seq:end when length > 0
	ack    uint32
	win    uint32
	urg    uint16
	length int
	// app is what tcpdump printed after the length: the application's
	// decoding (a DNS message over TCP, "HTTP", ...), or "".
	app string

	hasSeq, hasEnd, hasAck, hasWin, hasLength bool
}

// tunnel is the VXLAN or Geneve encapsulation a packet line describes
// before its inner packet.
type tunnel struct {
	kind     uint8 // tunnelNone, tunnelVXLAN, tunnelGeneve
	vni      uint32
	src, dst netip.AddrPort
}

const (
	tunnelNone uint8 = iota
	tunnelVXLAN
	tunnelGeneve
)

// Ports tcpdump prints as tunnels and decodes as DNS.
const (
	portVXLAN = 4789
	// portVXLANLinux is Linux's (and flannel's) VXLAN port, 8472.
	portVXLANLinux = 8472
	portGeneve     = 6081
)

// seqMode says how a text prints sequence numbers: relative to the first
// of each conversation (tcpdump's default) or as sent (tcpdump -S). The
// text does not say; the numbers tell.
type seqMode uint8

const (
	seqUnknown seqMode = iota
	seqRelative
	seqAbsolute
)

// conv mirrors what tcpdump keeps of a conversation to print relative
// numbers: the base of each side's sequence space, set by the first packet
// carrying an ACK (or a SYN-ACK, which starts over).
type conv struct {
	base  [2]uint32 // side 0 is the lower address and port
	based bool
	// next is the sequence number each side sends next, as far as the text
	// showed (its segments, or the other side's acks); a line that prints
	// none (a pure ACK) gets it.
	next      [2]uint32
	nextKnown [2]bool
	last      time.Time
}

type convKey struct{ a, b netip.AddrPort }

// Bounds of the state kept across lines: a conversation idle for
// convIdle by capture time may be forgotten once maxConvs are known, and
// a query waiting for its response once maxQueries wait.
const (
	maxConvs   = 1 << 18
	convIdle   = 5 * time.Minute
	maxQueries = 1 << 16
	queryIdle  = time.Minute
)

// question is a DNS query's question, kept until its response names its
// answers' owners.
type question struct {
	name   string
	qtype  uint16
	qclass uint16
	rd     bool
	ts     time.Time
}

type queryKey struct {
	client, server netip.AddrPort
	id             uint16
}

// parser reads packet lines (after their timestamp) and keeps what later
// lines need: conversations' sequence bases, queries' questions.
type parser struct {
	src, dst netip.AddrPort
	tun      tunnel
	tcp      tcpFields
	msg      dns.Msg
	dnsCut   bool // tcpdump printed [|domain]: the message was cut in the capture
	// tcpDNS is set when the TCP segment just parsed carries the whole DNS
	// message in p.msg (tcpdump decodes one only when the segment holds
	// exactly one message, behind its two-byte length).
	tcpDNS bool

	mode    seqMode
	convs   map[convKey]*conv
	queries map[queryKey]question

	buf    []byte // the frame given last
	msgBuf []byte
	tcpBuf []byte // a DNS-over-TCP segment's payload
}

func newParser() parser {
	return parser{convs: make(map[convKey]*conv), queries: make(map[queryKey]question)}
}

// parse reads one packet's text, from after its timestamp: the link layer
// (-e), the IP header (-v), any VXLAN or Geneve header, then the transport
// description "SRC.PORT > DST.PORT: ...". ts is the packet's time.
func (p *parser) parse(s string, ts time.Time) (kind, error) {
	p.tun = tunnel{}
	rest := s
	for {
		i := strings.Index(rest, " > ")
		if i < 0 {
			if p.tun.kind != tunnelNone || ipPacket(s) {
				// tcpdump prints "SRC > DST:" for every IP packet.
				return 0, fmt.Errorf("an IP packet without addresses tcpdump -nn prints (a line cut short, or mixed with other output?): %q", cut(s))
			}
			return kindOther, nil // ARP, STP, LLDP, ...
		}
		x := rest[strings.LastIndexByte(rest[:i], ' ')+1 : i]
		after := rest[i+3:]
		y, body, _ := strings.Cut(after, " ")
		if !strings.HasSuffix(y, ":") {
			// Not an IP description: link-layer addresses (-e) end with
			// a comma.
			rest = after
			continue
		}
		y = y[:len(y)-1]
		src, sport, ok1 := parseEndpoint(x)
		dst, dport, ok2 := parseEndpoint(y)
		if !ok1 || !ok2 {
			if namedPort(x) || namedPort(y) || strings.HasPrefix(body, "Flags [") {
				return 0, fmt.Errorf("%q > %q: addresses and ports must be numbers (print them with tcpdump -nn)", cut(x), cut(y))
			}
			rest = after
			continue
		}
		if src.Is4() != dst.Is4() {
			return 0, fmt.Errorf("%s > %s: an IPv4 and an IPv6 address", src, dst)
		}
		if sport < 0 && dport < 0 && greInner(body) {
			// A GRE tunnel: the inner packet follows, read as if
			// captured directly (as the analysis decodes GRE).
			rest = body
			continue
		}
		if sport < 0 || dport < 0 {
			// ICMP, fragments after the first, other IP protocols.
			return kindOther, nil
		}
		sp, dp := netip.AddrPortFrom(src, uint16(sport)), netip.AddrPortFrom(dst, uint16(dport))
		if k := tunnelKind(dport, body); k != tunnelNone {
			if p.tun.kind == tunnelNone {
				vni, err := parseVNI(body)
				if err != nil {
					return 0, err
				}
				p.tun = tunnel{kind: k, vni: vni, src: sp, dst: dp}
			}
			// The inner packet follows (nested tunnels keep the outermost
			// header, as the analysis reports it).
			rest = body
			continue
		}
		p.src, p.dst = sp, dp
		switch {
		case strings.HasPrefix(body, "Flags ["):
			if err := p.parseTCP(body); err != nil {
				return 0, err
			}
			p.absolute(ts)
			p.tcpDNS = false
			if app := p.tcp.app; (isDNSPort(sport) || isDNSPort(dport)) && p.tcp.length > 2 && startsDNS(app) && !strings.HasPrefix(app, "[prefix length") {
				// A DNS message over TCP. What tcpdump could not decode
				// (or printed otherwise) leaves the segment as it is:
				// the TCP line was read, only the message is lost.
				p.tcpDNS = p.parseDNS(app, ts) == nil && !p.dnsCut
			}
			return kindTCP, nil
		case strings.HasPrefix(body, "tcp "):
			return 0, errors.New("no TCP flags: tcpdump -q output is not supported")
		case isDNSPort(sport) || isDNSPort(dport):
			if !startsDNS(body) {
				return kindOther, nil // UDP, length N: not decoded as DNS (tcpdump -q)
			}
			if err := p.parseDNS(body, ts); err != nil {
				return 0, err
			}
			return kindDNS, nil
		}
		return kindOther, nil
	}
}

// ipPacket reports whether a packet's text says it is IP: "IP " and "IP6 "
// begin it, or -e names the ethertype or address family. (Other protocols
// print "Flags [" too: STP, for one.)
func ipPacket(s string) bool {
	s = strings.TrimLeft(s, " ")
	for _, w := range []string{"ethertype IPv4", "ethertype IPv6", "AF IPv4", "AF IPv6", " IP ", " IP6 "} {
		if strings.Contains(s, w) {
			return true
		}
	}
	return strings.HasPrefix(s, "IP ") || strings.HasPrefix(s, "IP6 ") || strings.HasPrefix(s, "ip: ")
}

// parseEndpoint reads ADDR.PORT, or ADDR alone (port -1), as tcpdump -nn
// prints them. An IPv4 address has exactly four parts, so the last dot
// separates the port only when what is before it is an address.
func parseEndpoint(s string) (netip.Addr, int, bool) {
	if i := strings.LastIndexByte(s, '.'); i > 0 {
		if port, err := strconv.ParseUint(s[i+1:], 10, 16); err == nil {
			if a, err := netip.ParseAddr(s[:i]); err == nil {
				return a.WithZone(""), int(port), true
			}
		}
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, 0, false
	}
	return a.WithZone(""), -1, true
}

// namedPort reports whether s is an address followed by a port name
// (tcpdump -n without the second n prints "https").
func namedPort(s string) bool {
	i := strings.LastIndexByte(s, '.')
	if i <= 0 || i == len(s)-1 {
		return false
	}
	_, err := netip.ParseAddr(s[:i])
	return err == nil
}

func tunnelKind(dport int, body string) uint8 {
	// -vv notes the UDP checksum first: "[udp sum ok] VXLAN, ...".
	for strings.HasPrefix(body, "[") {
		_, rest, ok := strings.Cut(body, "] ")
		if !ok {
			break
		}
		body = rest
	}
	switch {
	case dport == portVXLAN && strings.HasPrefix(body, "VXLAN,"):
		return tunnelVXLAN
	case dport == portVXLANLinux && strings.HasPrefix(body, "OTV,"):
		// Linux's VXLAN port, which tcpdump decodes as OTV (the same
		// header: the I flag, a 24-bit instance, an Ethernet frame).
		return tunnelVXLAN
	case dport == portGeneve && strings.HasPrefix(body, "Geneve,"):
		return tunnelGeneve
	}
	return tunnelNone
}

// greInner reports whether a line's body is a GRE header whose inner IP
// packet tcpdump prints after it ("GREv0, length 44: IP ...", or with -v
// "GREv0, Flags [none], length 44" and the inner packet below; with -e,
// "GREv0, proto IPv4 (0x0800), length 44: 10.0.1.25.43820 > ...").
func greInner(body string) bool {
	if !strings.HasPrefix(body, "GREv0, ") {
		return false
	}
	for _, w := range []string{": IP ", ": IP6 ", " IP (", " IP6 (", "(0x0800)", "(0x86dd)"} {
		if strings.Contains(body, w) {
			return true
		}
	}
	return false
}

// parseVNI reads the "vni N" of a VXLAN (decimal) or Geneve (0x hex) line,
// or the "instance N" of an OTV one.
func parseVNI(body string) (uint32, error) {
	_, v, ok := strings.Cut(body, " vni ")
	if !ok {
		_, v, ok = strings.Cut(body, " instance ")
	}
	if !ok {
		return 0, errors.New("a tunnel header without its vni")
	}
	v, _, _ = strings.Cut(v, ",")
	v, _, _ = strings.Cut(v, " ")
	v = strings.TrimSuffix(v, ":") // Geneve without options: "vni 0x0: IP ..."
	n, err := strconv.ParseUint(v, 0, 32)
	if err != nil || n >= 1<<24 {
		return 0, fmt.Errorf("vni %q is not a 24-bit number", cut(v))
	}
	return uint32(n), nil
}

// isDNSPort reports whether tcpdump decodes a UDP port as DNS: DNS,
// multicast DNS and LLMNR.
func isDNSPort(port int) bool { return port == 53 || port == 5353 || port == 5355 }

// startsDNS reports whether a UDP line's body is a DNS message as tcpdump
// prints it: an ID, after any checksum note (-vv: "[udp sum ok] 1234+
// ..." but "[udp sum ok] UDP, length 25" for what it did not decode).
func startsDNS(body string) bool {
	for strings.HasPrefix(body, "[") {
		_, rest, ok := strings.Cut(body, "] ")
		if !ok {
			return false
		}
		body = rest
	}
	return body != "" && body[0] >= '0' && body[0] <= '9'
}

// parseTCP reads "Flags [S.], cksum ..., seq 1:518, ack 1, win 63, urg 0,
// options [...], length 517" and whatever follows the length.
func (p *parser) parseTCP(body string) error {
	t := &p.tcp
	*t = tcpFields{}
	flags, rest, ok := strings.Cut(body[len("Flags ["):], "]")
	if !ok {
		return errors.New("TCP flags without their closing bracket")
	}
	if flags != "none" {
		for i := 0; i < len(flags); i++ {
			switch flags[i] {
			case 'F':
				t.flags |= flagFIN
			case 'S':
				t.flags |= flagSYN
			case 'R':
				t.flags |= flagRST
			case 'P':
				t.flags |= flagPSH
			case '.':
				t.flags |= flagACK
			case 'U':
				t.flags |= flagURG
			case 'E':
				t.flags |= flagECE
			case 'W':
				t.flags |= flagCWR
			case 'e':
				t.ae = true
			default:
				return fmt.Errorf("TCP flags [%s]: %q is not a flag tcpdump prints", cut(flags), flags[i])
			}
		}
	}
	for !t.hasLength && strings.HasPrefix(rest, ", ") {
		var field string
		full := rest[2:]
		field, rest = nextField(full)
		key, val, _ := strings.Cut(field, " ")
		var err error
		switch key {
		case "seq":
			s, e, span := strings.Cut(val, ":")
			t.seq, err = parseUint32("seq", s)
			t.hasSeq = err == nil
			if err == nil && span {
				t.end, err = parseUint32("seq", e)
				t.hasEnd = err == nil
			}
		case "ack":
			t.ack, err = parseUint32("ack", val)
			t.hasAck = err == nil
		case "win":
			t.win, err = parseUint32("win", val)
			if err == nil && t.win > 0xffff {
				err = fmt.Errorf("win %d does not fit the 16-bit window field", t.win)
			}
			t.hasWin = err == nil
		case "urg":
			var u uint32
			u, err = parseUint32("urg", val)
			if err == nil && u > 0xffff {
				err = fmt.Errorf("urg %d does not fit the 16-bit urgent pointer", u)
			}
			t.urg = uint16(u)
		case "length":
			// What follows is the application's decoding (": HTTP", a
			// DNS message over TCP): not read.
			n, after, ok := leadingNumber(val)
			if !ok || n > 1<<20 {
				return fmt.Errorf("length %q is not a segment length", cut(val))
			}
			t.length, t.hasLength = int(n), true
			t.app = strings.TrimLeft(full[len("length ")+len(val)-len(after):], " ")
		}
		if err != nil {
			return err
		}
	}
	switch {
	case !t.hasLength && strings.Contains(body, "[|tcp]"):
		return errors.New("tcpdump could not decode the whole TCP header ([|tcp]): the capture cut it")
	case !t.hasLength:
		return errors.New("a TCP line without its length")
	case !t.hasWin:
		return errors.New("a TCP line without its window")
	case !t.hasSeq && (t.length > 0 || t.flags&(flagSYN|flagFIN|flagRST) != 0):
		return errors.New("a TCP line with data or SYN, FIN or RST but no seq")
	case !t.hasAck && t.flags&flagACK != 0:
		return errors.New("a TCP line with the ACK flag but no ack")
	case t.hasEnd && t.end-t.seq != uint32(t.length):
		return fmt.Errorf("seq %d:%d does not span length %d", t.seq, t.end, t.length)
	case t.hasEnd && t.length == 0:
		return fmt.Errorf("seq %d:%d on a segment of length 0", t.seq, t.end)
	}
	return nil
}

// nextField returns the text up to the next ", " outside brackets, and
// what follows from that ", " on.
func nextField(s string) (string, string) {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			depth++
		case ']':
			if depth > 0 {
				depth--
			}
		case ',':
			if depth == 0 && i+1 < len(s) && s[i+1] == ' ' {
				return s[:i], s[i:]
			}
		}
	}
	return s, ""
}

func parseUint32(what, s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%s %q is not a 32-bit number", what, cut(s))
	}
	return uint32(n), nil
}

// absolute turns the numbers of the TCP line just parsed into the numbers
// sent, as tcpdump made them relative: it keeps, for each conversation,
// the sequence bases that the first packet carrying an ACK (or a SYN-ACK)
// set, and takes each later ACK-bearing packet's numbers from them, unless
// the text shows it was printed with -S. A line that prints no sequence
// number (a pure ACK) gets the one its side sends next.
func (p *parser) absolute(ts time.Time) {
	t := &p.tcp
	k, side := convKey{p.src, p.dst}, 0
	if p.dst.Compare(p.src) < 0 {
		k, side = convKey{p.dst, p.src}, 1
	}
	c := p.convs[k]
	if c == nil {
		c = p.newConv(k, ts)
	}
	c.last = ts
	if !t.hasSeq {
		t.seq = c.next[side]
	}
	if t.flags&flagACK != 0 && p.mode != seqAbsolute {
		if !c.based || t.flags&flagSYN != 0 {
			// Printed as sent; the bases of what follows.
			c.base[side], c.base[1-side] = t.seq, t.ack-1
			c.based = true
		} else {
			if p.mode == seqUnknown {
				p.mode = guessMode(t.ack, c.base[1-side])
			}
			if p.mode != seqAbsolute {
				if t.hasSeq {
					t.seq += c.base[side]
					t.end += c.base[side]
				}
				t.ack += c.base[1-side]
			}
		}
	}
	next := t.seq + uint32(t.length)
	if t.flags&(flagSYN|flagFIN) != 0 {
		next++
	}
	if t.hasSeq {
		c.next[side], c.nextKnown[side] = next, true
	}
	if t.flags&flagACK != 0 && !c.nextKnown[1-side] {
		c.next[1-side], c.nextKnown[1-side] = t.ack, true
	}
}

// guessMode tells relative numbers from -S's: a relative ack is near 0,
// one as sent is near the base its conversation set. seqUnknown when the
// ack is as near one as the other (a base near 0 makes both readings
// nearly the same).
func guessMode(ack, base uint32) seqMode {
	dRel, dAbs := serialDist(ack, 0), serialDist(ack, base)
	switch {
	case dRel < dAbs:
		return seqRelative
	case dAbs < dRel:
		return seqAbsolute
	}
	return seqUnknown
}

func serialDist(a, b uint32) uint32 { return min(a-b, b-a) }

// newConv starts tracking a conversation, forgetting idle ones when too
// many are known.
func (p *parser) newConv(k convKey, ts time.Time) *conv {
	if len(p.convs) >= maxConvs {
		for key, c := range p.convs {
			if ts.Sub(c.last) > convIdle {
				delete(p.convs, key)
			}
		}
		// Still too many active at once: forget any quarter of them.
		for key := range p.convs {
			if len(p.convs) < maxConvs*3/4 {
				break
			}
			delete(p.convs, key)
		}
	}
	c := &conv{last: ts}
	p.convs[k] = c
	return c
}
