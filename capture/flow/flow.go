package flow

import (
	"net/netip"
	"time"

	"github.com/vpce-verify/vpce-verify/capture/hello"
)

// Endpoint states of a TCP connection, after Zeek's TCP analyzer: conn_state
// is computed from the pair of them, so the states must mean what they mean
// in Zeek for our conn_state to match what analysts know.
type tcpState uint8

const (
	stInactive    tcpState = iota // nothing seen from this endpoint yet
	stSynSent                     // sent a SYN (originator) or a SYN-ACK first (SYN_ACK_SENT)
	stSynAckSent                  // originator that sent a SYN-ACK: a reversed handshake
	stPartial                     // first packet seen was not a SYN: midstream
	stEstablished                 // handshake completed
	stClosed                      // sent a FIN
	stReset                       // sent a RST
)

// History letters are recorded once per direction (Zeek's convention); the
// bits say which ones this endpoint already recorded.
const (
	histSYN = 1 << iota
	histSYNACK
	histACK
	histData
	histFIN
	histRST
	histMulti
	histFINRST
)

const maxHistory = 48

// tcpEndpoint is one side of a TCP connection.
type tcpEndpoint struct {
	state, prev tcpState
	hist        uint16
	sawSYN      bool
	// Sequence space: seqInit is set once base is known. base is the
	// sequence number of the first payload byte (ISN+1 after a SYN), end is
	// one past the highest payload byte seen; span accumulates how far end
	// (and, midstream, base) moved, so sequence wraparound does not lose
	// count. endAbs is end unwrapped: its distance from where counting
	// began, in 64 bits.
	seqInit   bool
	isn       uint32
	base, end uint32
	span      uint64
	endAbs    int64
	// payload counts the bytes of the sequence space the capture showed,
	// each once; seen holds the highest ranges (unwrapped, sorted,
	// disjoint) they came from, so that a retransmission is not counted
	// again.
	payload uint64
	seen    [seqRanges]seqRange
	nseen   uint8
	// ackGaps is the part of span that only acknowledgements showed;
	// jumped says a segment landed more than maxSeqJump from the data
	// around it.
	ackGaps uint64
	jumped  bool
	// Sequence numbers of the last SYN, FIN and RST, so a repeated one is
	// recorded again in the history only when it is a different one.
	lastSYN, lastFIN, lastRST uint32
	// Logarithmic counters for retransmissions, zero windows and gaps: the
	// letter is added again at 10, 100, 1000 occurrences (Zeek's rule).
	rxmit, zeroWin, gaps         uint32
	rxmitNext, zeroNext, gapNext uint32
	packets                      uint64
	// acked says the peer acknowledged data this endpoint sent: an ack
	// beyond the first payload byte seen. It proves a connection whose
	// handshake the capture missed.
	acked bool
}

// Flow is one TCP connection, keyed by its 4-tuple; a 4-tuple used again
// after the connection closed is a new Flow.
type Flow struct {
	// Client sent the first SYN; when no SYN was seen it is inferred (the
	// receiver of a SYN-ACK, else the side not using a well-known port).
	Client, Server netip.AddrPort
	FirstTS        time.Time
	LastTS         time.Time
	// Interface indexes the source's interfaces where the first packet was
	// seen.
	Interface int
	// IfIndex is the index of the network interface the first packet was
	// captured on, as the LINUX_SLL2 header of tcpdump -i any says (for
	// tunnelled packets, the outer header); 0 when the link type does not
	// carry it. It tells which interface each connection of an "any"
	// capture used.
	IfIndex int
	// Tunnel is set when the flow was carried in VXLAN or Geneve.
	Tunnel *Tunnel
	// HandshakeRTT is the time from the (last) SYN to the SYN-ACK; zero when
	// either was not seen.
	HandshakeRTT time.Duration
	// TLS is what the client's ClientHello revealed.
	TLS TLSInfo
	// HTTP is what the client's HTTP/1.x request revealed, when its first
	// bytes were one.
	HTTP HTTPInfo
	// Resent says the client sent some of its first bytes (the ClientHello
	// or request that names the server) again with other contents before
	// the server acknowledged them: a decoy the server may never have had
	// (a bad checksum, a short TTL) or the copy it took; or it sent a
	// second ClientHello (after a HelloRetryRequest) that names another
	// server or could not be read whole. What TLS and HTTP say is the
	// first copy's, and the server may have taken the other.
	Resent bool
	// Truncated counts this flow's packets that were cut by the snap length.
	Truncated uint64
	// DNSNames are the names whose DNS answers, seen before the flow
	// started, led (through any CNAME chain) to the server address: in the
	// order of the transactions that gave them (Result.DNS) and, within
	// one, from the query name on; at most 32 (Stats.DNSNamesDropped counts
	// what the bounds left out). Filled in when the connection is finished,
	// or in the copy Analyzer.Result makes of an open one.
	DNSNames []string

	ep      [2]tcpEndpoint // 0 = client (originator), 1 = server (responder)
	history [maxHistory]byte
	histLen uint8
	synTS   time.Time
	first   *firstBytes
	dns     *tcpDNS
	sh      *shared
	// seq numbers the connections in the order they began; list, prev
	// and next place it among the open or the closed ones, by idle: the
	// Analyzer's clock at its last packet.
	seq        uint64
	list       *flowList
	prev, next *Flow
	idle       time.Time
	// reset says a RST ended the connection (see over).
	reset bool
}

// release returns the connection's reassembly buffers to the budget; what
// they said stays.
func (f *Flow) release() {
	if f.first != nil {
		f.first.done = true
		f.first.release()
	}
	if f.dns != nil {
		f.dns.release()
	}
}

// Tunnel describes the encapsulation a flow was captured in.
type Tunnel struct {
	Type     string // "vxlan" or "geneve"
	VNI      uint32
	OuterSrc netip.Addr
	OuterDst netip.Addr
}

// TLSInfo is what the ClientHello of a flow said, and whether it was seen.
type TLSInfo struct {
	// Hello is "" when the client sent no data, else one of HelloComplete,
	// HelloIncomplete, HelloNotTLS, HelloNotSeen, HelloMalformed.
	Hello string
	hello.ClientHello
	// Err says why the hello is incomplete or malformed.
	Err string
	// SecondSNI is the server name of a second ClientHello (the answer to
	// a HelloRetryRequest), when it names another server than the first.
	SecondSNI string
	// InTunnel says the hello was looked for inside an HTTP CONNECT tunnel
	// (see Flow.HTTP): it was sent through the proxy that Server is, and
	// names the CONNECT target, not Server.
	InTunnel bool
}

// Values of TLSInfo.Hello.
const (
	HelloComplete   = "complete"
	HelloIncomplete = "incomplete"
	HelloNotTLS     = "not-tls"
	HelloMalformed  = "malformed"
	// HelloNotSeen says the start of the client's stream (or of its
	// CONNECT tunnel) is not in the capture, and no later segment began a
	// hello: whether there was one is unknown. A capture that begins in the
	// middle of a connection gives it.
	HelloNotSeen = "not-seen"
)

// HTTPInfo is what the HTTP/1.x request that began a flow said. A flow
// through an HTTP proxy carries a CONNECT (then TLS.InTunnel is set) or
// requests with an absolute-form target.
type HTTPInfo struct {
	// Request is "" when the client sent no data, else one of
	// HTTPComplete, HTTPIncomplete, HTTPNotHTTP, HTTPNotSeen, HTTPMalformed.
	Request string
	Method  string
	// Target is the request-target as sent.
	Target string
	// Host is the Host header field (it may carry a port).
	Host string
	// ProxyHost is the host a proxy was asked to reach: the CONNECT
	// authority's host, or the host of an absolute-form target
	// ("GET http://HOST/key"); "" otherwise. IPv6 literals lose their
	// brackets.
	ProxyHost string
	// ProxyPort is ProxyHost's port; for an http:// target without one, 80
	// (https://, 443). A CONNECT without a port is malformed.
	ProxyPort uint16
	// later are the hosts the client's later requests on the connection
	// named, after an absolute-form request to a proxy (keep-alive: one
	// connection to the proxy for many hosts): each request's ProxyHost
	// (or its Host), each once, other than ProxyHost (LaterHosts);
	// LaterOmitted counts those beyond maxLater.
	later        *[maxLater]string // made for the first later host: most flows have none
	nLater       int
	LaterOmitted int
	// LaterUnread says a later request could not be read whole or found
	// (a body whose end the header does not tell, a request cut), so the
	// hosts it named are unknown.
	LaterUnread bool
	// Err says why the request is malformed.
	Err string
}

// LaterHosts returns the hosts later requests on the connection named
// (see HTTPInfo.later).
func (i *HTTPInfo) LaterHosts() []string {
	if i.later == nil {
		return nil
	}
	return i.later[:i.nLater]
}

// Values of HTTPInfo.Request. The fields hold what a request that is
// incomplete or malformed said before it stopped.
const (
	HTTPComplete   = "complete"
	HTTPIncomplete = "incomplete"
	HTTPNotHTTP    = "not-http"
	HTTPMalformed  = "malformed"
	// HTTPNotSeen says the start of the client's stream is not in the
	// capture and no later segment began a request.
	HTTPNotSeen = "not-seen"
)

// Packets returns the packets sent by the client and by the server.
func (f *Flow) Packets() [2]uint64 { return [2]uint64{f.ep[0].packets, f.ep[1].packets} }

// Bytes returns the TCP payload bytes the capture showed the client and
// the server sending: each byte of a side's sequence space once (a
// retransmission counts once), and a hole the capture missed not at all.
// A segment cut by the snap length counts its length on the wire. Each
// segment counts at most its own length, so the total is never more than
// the payload in the capture: a side remembers the 4 highest ranges of
// its sequence space it has seen, and a copy of data below all of them
// (a retransmission long after, past 4 holes) counts again.
func (f *Flow) Bytes() [2]uint64 { return [2]uint64{f.ep[0].payload, f.ep[1].payload} }

// SeqBytes returns how far each side's sequence numbers advanced, as
// Zeek's orig_bytes and resp_bytes count: data the capture missed counts
// too, when later data or an acknowledgement shows it was sent. believable
// says both spans can be taken for data sent: no segment landed more than
// 16 MiB beyond (or, seen midstream, before) the data around it, and each
// span is at most the bytes acknowledgements revealed plus 64 times the
// payload seen (Bytes). Otherwise the span says more about the sequence
// numbers (crafted, corrupt, or a capture that missed nearly everything)
// than about the data; Bytes still holds.
func (f *Flow) SeqBytes() (span [2]uint64, believable bool) {
	return [2]uint64{f.ep[0].span, f.ep[1].span}, f.ep[0].believable() && f.ep[1].believable()
}

func (e *tcpEndpoint) believable() bool {
	return !e.jumped && e.span-min(e.span, e.ackGaps) <= 64*e.payload
}

// seqRanges is how many ranges of its sequence space an endpoint
// remembers: enough for the holes and reordering of a real connection's
// recent past, and few enough to keep a connection's state within 1 KiB.
const seqRanges = 4

// seqRange is a range of unwrapped sequence space, [lo, hi).
type seqRange struct{ lo, hi int64 }

// cover records that [lo, hi) was seen and returns how many of its bytes
// no remembered range covered. When more than seqRanges ranges result, the
// lowest is forgotten.
func (e *tcpEndpoint) cover(lo, hi int64) uint64 {
	r := e.seen[:e.nseen]
	i := 0
	for i < len(r) && r[i].hi < lo {
		i++
	}
	fresh, nlo, nhi := hi-lo, lo, hi
	j := i
	for ; j < len(r) && r[j].lo <= hi; j++ {
		if ov := min(hi, r[j].hi) - max(lo, r[j].lo); ov > 0 {
			fresh -= ov
		}
		nlo, nhi = min(nlo, r[j].lo), max(nhi, r[j].hi)
	}
	switch {
	case j > i:
		// Merge with the ranges it touches.
		r[i] = seqRange{nlo, nhi}
		n := copy(r[i+1:], r[j:])
		e.nseen = uint8(i + 1 + n)
	case len(r) < seqRanges:
		r = append(r, seqRange{})
		copy(r[i+1:], r[i:])
		r[i] = seqRange{lo, hi}
		e.nseen++
	case i > 0:
		// Full: forget the lowest range to make room.
		copy(r[:i-1], r[1:i])
		r[i-1] = seqRange{lo, hi}
	default:
		// Full, and below every range remembered: it is the one to
		// forget.
	}
	return uint64(fresh)
}

// History returns the connection history in Zeek's letters: upper case for
// the client, lower case for the server; '^' first when the roles were
// inferred against the direction of the first packet.
func (f *Flow) History() string { return string(f.history[:f.histLen]) }

// Established reports whether the connection was established: a SYN-ACK
// answered the SYN, or, for a capture that missed the handshake, data
// flowed in both directions or one side acknowledged data the other sent
// (a bulk upload seen midstream: data one way, pure ACKs back), or the
// client went on after its SYN with an ACK or data, which its stack sends
// only once a SYN-ACK came (a capture that holds one direction only).
func (f *Flow) Established() bool {
	o, r := &f.ep[0], &f.ep[1]
	if o.sawSYN && (r.hist&histSYNACK != 0 || o.hist&(histACK|histData) != 0) {
		return true
	}
	if o.hist&histData != 0 && r.hist&histData != 0 {
		return true
	}
	return !o.sawSYN && (o.acked || r.acked)
}

// ConnState returns the connection state in Zeek's vocabulary (S0 S1 SF REJ
// S2 S3 RSTO RSTR RSTOS0 RSTRH SH SHR OTH), computed as Zeek's conn_state
// does from the two endpoint states.
func (f *Flow) ConnState() string {
	os, rs := f.ep[0].state, f.ep[1].state
	oInactive := os == stInactive || os == stPartial
	rInactive := rs == stInactive || rs == stPartial
	switch {
	case rs == stReset:
		if os == stSynSent || os == stSynAckSent || (os == stReset && f.ep[0].span == 0 && f.ep[1].span == 0) {
			return "REJ"
		}
		if oInactive {
			return "RSTRH"
		}
		return "RSTR"
	case os == stReset:
		if rInactive {
			if f.rstAfterSYNOnly() {
				return "RSTOS0"
			}
			return "OTH"
		}
		return "RSTO"
	case rs == stClosed && os == stClosed:
		return "SF"
	case os == stClosed:
		if rInactive {
			return "SH"
		}
		return "S2"
	case rs == stClosed:
		if oInactive {
			return "SHR"
		}
		return "S3"
	case os == stSynSent && rs == stInactive:
		return "S0"
	case os == stEstablished && rs == stEstablished:
		return "S1"
	}
	return "OTH"
}

// rstAfterSYNOnly matches the history against Zeek's /^\^?S[^HAFGIQ]*R.*/:
// the originator sent a SYN and then a RST with nothing from the responder.
func (f *Flow) rstAfterSYNOnly() bool {
	h := f.history[:f.histLen]
	if len(h) > 0 && h[0] == '^' {
		h = h[1:]
	}
	if len(h) == 0 || h[0] != 'S' {
		return false
	}
	for _, c := range h[1:] {
		switch c {
		case 'R':
			return true
		case 'H', 'A', 'F', 'G', 'I', 'Q':
			return false
		}
	}
	return false
}

func (f *Flow) addHistory(c byte, orig bool) {
	if !orig {
		c += 'a' - 'A'
	}
	if int(f.histLen) < len(f.history) {
		f.history[f.histLen] = c
		f.histLen++
	}
}

// once records letter c for the endpoint the first time bit is seen.
func (f *Flow) once(e *tcpEndpoint, bit uint16, c byte, orig bool) bool {
	if e.hist&bit != 0 {
		return false
	}
	e.hist |= bit
	f.addHistory(c, orig)
	return true
}

// threshold records letter c at the 1st, 10th, 100th, ... occurrence.
func (f *Flow) threshold(count, next *uint32, c byte, orig bool) {
	*count++
	if *next == 0 {
		*next = 1
	}
	if *count == *next {
		f.addHistory(c, orig)
		*next *= 10
	}
}

// seqLT reports a < b in sequence space (RFC 1982 serial arithmetic).
func seqLT(a, b uint32) bool { return int32(a-b) < 0 }

// tcpPacket updates the flow with one of its packets. orig says whether the
// client sent it.
func (f *Flow) tcpPacket(p *packet, ts time.Time, orig bool) {
	d := 1
	if orig {
		d = 0
	}
	e, peer := &f.ep[d], &f.ep[1-d]
	e.packets++
	f.LastTS = ts
	if p.truncated {
		f.Truncated++
	}
	syn, rst, ack := p.flags&tcpSYN != 0, p.flags&tcpRST != 0, p.flags&tcpACK != 0
	n := p.payloadLen
	if rst {
		// Data carried by a RST is not part of the stream.
		n = 0
	}

	if rst && !(orig && e.state == stSynSent && peer.hist&histSYNACK == 0) {
		f.reset = true
	}
	f.updateHistory(e, p, orig, n)
	f.updateSequence(e, peer, p, orig, n)
	f.updateState(e, peer, p, orig, n)

	if !orig && ack && !rst {
		f.acked(p.ack)
	}
	if syn && !ack && orig {
		f.synTS = ts
	}
	if syn && ack && !orig && !f.synTS.IsZero() && f.HandshakeRTT == 0 {
		f.HandshakeRTT = ts.Sub(f.synTS)
	}
	if n > 0 && !rst && len(p.payload) > 0 {
		seq := p.seq
		if syn {
			seq++
		}
		if orig && (f.first == nil || !f.first.done) {
			f.clientData(seq, p.payload)
		} else if orig {
			f.resent(seq, p.payload)
		}
		if f.dns != nil {
			f.dns.data(d, seq, p.payload, ts)
		}
	}
}

func (f *Flow) updateHistory(e *tcpEndpoint, p *packet, orig bool, n int) {
	syn, fin, rst, ack := p.flags&tcpSYN != 0, p.flags&tcpFIN != 0, p.flags&tcpRST != 0, p.flags&tcpACK != 0
	bits := 0
	for _, b := range [3]bool{syn, fin, rst} {
		if b {
			bits++
		}
	}
	switch {
	case bits > 1 && fin && rst:
		f.once(e, histFINRST, 'I', orig)
	case bits > 1:
		f.once(e, histMulti, 'Q', orig)
	case syn:
		bit, c := uint16(histSYN), byte('S')
		if ack {
			bit, c = histSYNACK, 'H'
		}
		if !f.once(e, bit, c, orig) && p.seq != e.lastSYN {
			f.addHistory(c, orig)
		}
		e.lastSYN = p.seq
	case fin:
		end := p.seq + uint32(n)
		if !f.once(e, histFIN, 'F', orig) && end != e.lastFIN {
			f.addHistory('F', orig)
		}
		e.lastFIN = end
	case rst:
		if !f.once(e, histRST, 'R', orig) && p.seq != e.lastRST {
			f.addHistory('R', orig)
		}
		e.lastRST = p.seq
	case n > 0:
		f.once(e, histData, 'D', orig)
	case ack:
		f.once(e, histACK, 'A', orig)
	}
	if p.window == 0 && !rst && !syn && e.state != stReset {
		f.threshold(&e.zeroWin, &e.zeroNext, 'W', orig)
	}
}

// updateSequence tracks the payload sequence space of e, counts
// retransmissions, and notices acknowledgements of data the capture never
// showed (gaps) in the peer's stream.
func (f *Flow) updateSequence(e, peer *tcpEndpoint, p *packet, orig bool, n int) {
	syn := p.flags&tcpSYN != 0
	if syn {
		e.sawSYN = true
		if !e.seqInit || e.isn != p.seq {
			e.seqInit = true
			e.isn = p.seq
			e.base, e.end = p.seq+1, p.seq+1
			e.endAbs, e.nseen = 0, 0
		}
	}
	if n > 0 {
		seq := p.seq
		if syn {
			seq++
		}
		if !e.seqInit {
			e.seqInit = true
			e.isn = seq - 1
			e.base, e.end = seq, seq
			e.endAbs, e.nseen = 0, 0
		}
		end := seq + uint32(n)
		lo := e.endAbs + int64(int32(seq-e.end))
		e.payload += e.cover(lo, lo+int64(n))
		switch {
		case seqLT(e.end, end):
			// New bytes; a hole before seq (data the capture missed, or
			// that arrives later out of order) counts too, as in Zeek.
			if hole := int32(seq - e.end); hole > maxSeqJump {
				f.jump(e)
			}
			e.span += uint64(end - e.end)
			e.endAbs += int64(end - e.end)
			e.end = end
		case !e.sawSYN && seqLT(seq, e.base):
			// Midstream: an earlier part of the stream arrived late.
			if hole := int32(e.base - end); hole > maxSeqJump {
				f.jump(e)
			}
			e.span += uint64(e.base - seq)
			e.base = seq
		default:
			f.threshold(&e.rxmit, &e.rxmitNext, 'T', orig)
		}
	}
	if p.flags&tcpACK != 0 && p.flags&tcpRST == 0 && peer.seqInit && seqLT(peer.base, p.ack) && !seqLT(peer.end+maxAckGap, p.ack) {
		// An ack beyond the first byte seen (and not so far beyond the
		// last that it is a broken ack) acknowledges peer data.
		peer.acked = true
	}
	if p.flags&tcpACK != 0 && p.flags&tcpRST == 0 && peer.seqInit && seqLT(peer.end, p.ack) {
		// The ack covers peer bytes the capture never showed: a gap. The
		// peer's FIN takes one sequence number, which is not a gap; an
		// implausible jump is a broken ack, not a gap.
		gap := p.ack - peer.end
		if (gap == 1 && peer.hist&histFIN != 0) || gap > maxAckGap {
			return
		}
		peer.span += uint64(gap)
		peer.ackGaps += uint64(gap)
		peer.endAbs += int64(gap)
		peer.end = p.ack
		f.threshold(&peer.gaps, &peer.gapNext, 'G', !orig)
	}
}

// maxAckGap bounds how much missed data one ack may reveal before it is
// taken for a broken ack instead.
const maxAckGap = 16 << 20

// maxSeqJump is the largest hole a segment may leave after (or, seen
// midstream, before) the data seen so far before its side's sequence span
// stops being believable: more than a capture plausibly misses between
// two segments it shows.
const maxSeqJump = 16 << 20

// jump records that a segment of e landed implausibly far from its data.
func (f *Flow) jump(e *tcpEndpoint) {
	if !e.jumped {
		e.jumped = true
		f.sh.note(anSeqJump)
	}
}

// updateState moves the endpoint state machine, as Zeek's TCP analyzer does.
func (f *Flow) updateState(e, peer *tcpEndpoint, p *packet, orig bool, n int) {
	syn, fin, rst, ack := p.flags&tcpSYN != 0, p.flags&tcpFIN != 0, p.flags&tcpRST != 0, p.flags&tcpACK != 0
	set := func(s tcpState) { e.prev, e.state = e.state, s }
	switch e.state {
	case stInactive:
		if syn {
			if orig {
				if ack {
					set(stSynAckSent)
				} else {
					set(stSynSent)
				}
			} else {
				if peer.state == stSynSent {
					peer.prev, peer.state = peer.state, stEstablished
				}
				set(stEstablished)
			}
		}
		if fin {
			set(stClosed)
		}
		if rst {
			set(stReset)
		}
		if e.state == stInactive {
			switch {
			case !orig && n == 0 && peer.state == stSynSent:
				// Some stacks ack a SYN before their SYN-ACK: not midstream.
			case ack && peer.state == stEstablished:
				// The SYN was missed but the SYN-ACK was not.
				set(stEstablished)
			default:
				set(stPartial)
			}
		}
	case stSynSent, stSynAckSent:
		if fin {
			set(stClosed)
		}
		if rst {
			set(stReset)
		}
	case stEstablished, stPartial:
		if syn && e.state == stPartial && peer.state == stInactive && !ack {
			set(stSynSent)
		}
		if fin && !rst {
			set(stClosed)
			if peer.state == stReset && peer.prev == stClosed {
				// FIN then RST from the peer was a normal close.
				peer.prev, peer.state = peer.state, stClosed
			}
		}
		if rst {
			set(stReset)
		}
	case stClosed:
		if rst && peer.state != stClosed {
			set(stReset)
		}
	case stReset:
	}
}

// Closed reports whether the connection is over: reset, or closed by both
// sides. A new SYN on the same 4-tuple then starts a new connection.
func (f *Flow) Closed() bool {
	o, r := f.ep[0].state, f.ep[1].state
	return o == stReset || r == stReset || (o == stClosed && r == stClosed)
}

// restartedBy reports whether p, a SYN, begins a new connection on the
// 4-tuple although the capture did not show the old one end: its sender
// already sent data in this one, and the SYN's sequence number is not
// that side's initial one. Its first bytes are then another connection's,
// and name another server.
func (f *Flow) restartedBy(p *packet) bool {
	e := &f.ep[1]
	if p.src == f.Client {
		e = &f.ep[0]
	}
	return e.hist&histData != 0 && p.seq != e.isn
}

// over reports whether the connection is closed for the Analyzer's close
// delay. A RST the client sends after its SYN, before any SYN-ACK, does
// not count: that is how a client answers the ACK a server sends for a
// SYN that meets an old connection (RFC 5961's challenge ACK, TIME_WAIT),
// and it then sends the same SYN again, seconds later, and the
// connection goes on.
func (f *Flow) over() bool {
	return f.reset || (f.ep[0].state == stClosed && f.ep[1].state == stClosed)
}

// wellKnownPort tells which side of a connection seen without its SYN is
// probably the server.
func wellKnownPort(p uint16) bool {
	if p < 1024 {
		return true
	}
	switch p {
	case 1433, 1521, 2049, 3128, 3306, 5432, 5671, 6379, 8000, 8080, 8443, 8888, 9092, 9200, 9443, 27017:
		return true
	}
	return false
}
