package flow

import (
	"cmp"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/vpce-verify/vpce-verify/capture"
)

// Options tune an Analyzer. Zero values take the defaults.
type Options struct {
	// DNSPorts are the ports whose UDP and TCP payloads are parsed as DNS
	// (default: 53).
	DNSPorts []uint16
	// IdleTimeout finishes a connection with no packet for this long, by
	// capture time (Zeek's tcp_inactivity_timeout; default 5 min). A
	// packet of it after that starts a new connection, seen midstream.
	IdleTimeout time.Duration
	// CloseDelay finishes a closed connection (both sides sent a FIN, or
	// one a RST; not a client's RST during its handshake, which it may
	// follow with the same SYN again) this long after its last packet
	// (Zeek's tcp_close_delay; default 5 s): the last ACK and
	// retransmissions still join it.
	CloseDelay time.Duration
	// MaxFlows caps the connections open at once (default 50,000); past
	// it the least recently active is finished early, closed ones first,
	// and counted (AnomalyFlowTableFull).
	MaxFlows int
	// MaxDNS caps the DNS transactions waiting for an answer or lingering
	// after one (default 100,000), the same way (AnomalyDNSTableFull).
	MaxDNS int
	// BufferBudget bounds the bytes all reassembly buffers (ClientHello,
	// HTTP request, DNS over TCP, IP fragments) hold together (default 16
	// MiB); each connection keeps its own cap too. A buffer the budget
	// cannot grow is cut (AnomalyBudgetExhausted): a ClientHello stays
	// incomplete with TLSInfo.Err "reassembly budget exhausted".
	BufferBudget int
	// OnFlow receives each connection once it is finished, with DNSNames
	// filled in, from within Add or Finish (it must not call them). It
	// must not keep the *Flow: copy what it needs. nil: finished
	// connections are kept for Result.
	OnFlow func(*Flow)
	// OnDNS receives each DNS transaction once it is finished: answered,
	// CloseDelay after its last response (so that repeated answers stay
	// one transaction); unanswered, IdleTimeout after its query. The same
	// rules as OnFlow apply. nil: kept for Result.
	OnDNS func(*DNSTransaction)
	// OnStart is told of each connection as its first packet is seen (the
	// SYN, when the capture saw it), with Client, Server and FirstTS set,
	// from within Add: it must not block, call the Analyzer or keep the
	// *Flow. Live capture asks there which process owns the socket, while
	// it still exists.
	OnStart func(*Flow)
}

// Defaults of Options.
const (
	DefaultIdleTimeout  = 5 * time.Minute
	DefaultCloseDelay   = 5 * time.Second
	DefaultMaxFlows     = 50_000
	DefaultMaxDNS       = 100_000
	DefaultBufferBudget = 16 << 20
)

// Stats counts what an Analyzer was given.
type Stats struct {
	Packets   uint64 // frames given
	Bytes     uint64 // their length on the wire
	Truncated uint64 // frames cut by the snap length
	TCP       uint64
	UDP       uint64
	Other     uint64 // not TCP or UDP over IP: ARP, ICMP, ...
	// Fragments counts IP fragments that did not complete a datagram (the
	// one that does counts as TCP or UDP).
	Fragments uint64
	// Malformed counts frames that did not decode as far as their
	// transport header, whatever the reason (Anomalies says which).
	Malformed uint64
	Tunneled  uint64 // packets decapsulated from VXLAN or Geneve
	// Flows and DNSTransactions count the connections and DNS
	// transactions begun.
	Flows           uint64
	DNSTransactions uint64
	// DNSMalformed counts messages on DNS ports that did not parse whole
	// though the snap length did not cut them (AnomalyDNSMalformed): those
	// whose question did not parse are not listed, the others keep the
	// records before the fault.
	DNSMalformed uint64
	// BufferPeak is the most bytes the reassembly buffers held together
	// (at most Options.BufferBudget).
	BufferPeak uint64
	// DNSNamesDropped counts names that DNS answers led to but that the
	// join of names to connections left out (AnomalyDNSNamesDropped):
	// beyond 32 names for one address, or (once per chain) links of a
	// CNAME chain beyond 32 names. Names the join forgot to stay within
	// its bound are AnomalyDNSNamesEvicted.
	DNSNamesDropped uint64
}

// Result is what an Analyzer learned.
type Result struct {
	// Flows lists the TCP connections finished and kept (Options.OnFlow
	// nil) and those still open, in the order their first packet was
	// seen. The open ones are copies, their DNSNames as of now.
	Flows []*Flow
	// DNS lists the DNS transactions finished and kept (Options.OnDNS
	// nil) and those still pending, in the order their first message was
	// seen; the pending ones are copies.
	DNS   []*DNSTransaction
	Stats Stats
}

// Analyzer decodes frames, tracks TCP connections and collects DNS. It is
// not safe for concurrent use. Its per-packet path allocates nothing once a
// connection is known.
//
// Connections and DNS transactions are finished as packets arrive, by
// their timestamps (Options): open connections sit in a list ordered by
// their last packet, closed ones in another, pending DNS transactions in
// two more, so that finishing what is due costs a look at the heads of
// the lists, O(1) a packet.
type Analyzer struct {
	opts  Options
	dec   *decoder
	p     packet
	flows map[flowKey]*Flow
	// open and closed hold the connections in flows, least recently
	// active first; done the finished ones kept for Result.
	open, closed flowList
	done         []*Flow
	free         []*Flow // finished connections to reuse (OnFlow set)
	// now is the capture's clock: the latest packet time seen, so that a
	// packet stamped earlier does not turn it back.
	now   time.Time
	dns   dnsTracker
	stats Stats
	sh    shared
}

// flowKey is a connection's 4-tuple in a canonical order, so that both
// directions find the same flow.
type flowKey struct{ a, b netip.AddrPort }

func keyOf(src, dst netip.AddrPort) flowKey {
	if src.Compare(dst) < 0 {
		return flowKey{src, dst}
	}
	return flowKey{dst, src}
}

// flowList is a list of connections linked through the Flows themselves.
type flowList struct{ head, tail *Flow }

func (l *flowList) push(f *Flow) {
	f.list, f.prev, f.next = l, l.tail, nil
	if l.tail != nil {
		l.tail.next = f
	} else {
		l.head = f
	}
	l.tail = f
}

func (l *flowList) remove(f *Flow) {
	if f.prev != nil {
		f.prev.next = f.next
	} else {
		l.head = f.next
	}
	if f.next != nil {
		f.next.prev = f.prev
	} else {
		l.tail = f.prev
	}
	f.list, f.prev, f.next = nil, nil, nil
}

// NewAnalyzer returns an Analyzer.
func NewAnalyzer(opts Options) *Analyzer {
	if len(opts.DNSPorts) == 0 {
		opts.DNSPorts = []uint16{53}
	}
	opts.DNSPorts = slices.Clone(opts.DNSPorts)
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.CloseDelay <= 0 {
		opts.CloseDelay = DefaultCloseDelay
	}
	if opts.MaxFlows <= 0 {
		opts.MaxFlows = DefaultMaxFlows
	}
	if opts.MaxDNS <= 0 {
		opts.MaxDNS = DefaultMaxDNS
	}
	if opts.BufferBudget <= 0 {
		opts.BufferBudget = DefaultBufferBudget
	}
	a := &Analyzer{opts: opts, flows: make(map[flowKey]*Flow)}
	a.sh.limit = opts.BufferBudget
	a.dec = newDecoder(&a.sh)
	a.dns = dnsTracker{ports: opts.DNSPorts, open: make(map[dnsKey]*DNSTransaction), sh: &a.sh,
		idle: opts.IdleTimeout, linger: opts.CloseDelay, max: opts.MaxDNS, onDNS: opts.OnDNS}
	a.dns.names.sh = &a.sh
	return a
}

// Add analyses one frame. It fails only for a frame whose link type cannot
// be decoded (ErrLinkType): such input must not be skipped in silence.
// Frames that are malformed are counted, not reported as errors.
// Connections and DNS transactions that are due are finished first.
func (a *Analyzer) Add(f *capture.Frame) error {
	a.stats.Packets++
	a.sh.pkt, a.sh.ts = a.stats.Packets, f.TS
	a.stats.Bytes += uint64(max(f.WireLen, len(f.Data)))
	if f.WireLen > len(f.Data) {
		a.stats.Truncated++
		a.sh.note(anPacketTruncated)
	}
	if f.TS.After(a.now) {
		a.now = f.TS
	}
	a.expire()
	p := &a.p
	res, err := a.dec.decode(f, p)
	switch res {
	case decodedError:
		if errors.Is(err, capture.ErrLinkType) {
			a.sh.note(anLinkType)
			return err
		}
		a.stats.Malformed++
		if err != errNoted {
			a.sh.note(anPacketMalformed)
		}
		return nil
	case decodedOther:
		a.stats.Other++
		return nil
	case decodedFragment:
		a.stats.Fragments++
		return nil
	}
	if p.tunnel.kind != tunnelNone {
		a.stats.Tunneled++
	}
	switch p.proto {
	case layers.IPProtocolTCP:
		a.stats.TCP++
		a.tcp(f)
	case layers.IPProtocolUDP:
		a.stats.UDP++
		if len(p.payload) > 0 && a.dns.onPort(p.src, p.dst) {
			a.dns.message(f.TS, p.src, p.dst, false, p.payload, len(p.payload) < p.payloadLen)
		}
	}
	return nil
}

// expire finishes the connections and DNS transactions that are due by the
// capture's clock: only list heads are looked at.
func (a *Analyzer) expire() {
	for f := a.closed.head; f != nil && a.now.Sub(f.idle) > a.opts.CloseDelay; f = a.closed.head {
		a.finish(f)
	}
	for f := a.open.head; f != nil && a.now.Sub(f.idle) > a.opts.IdleTimeout; f = a.open.head {
		a.finish(f)
	}
	a.dns.expire(a.now)
}

func (a *Analyzer) tcp(f *capture.Frame) {
	p := &a.p
	k := keyOf(p.src, p.dst)
	fl := a.flows[k]
	isSYN := p.flags&(tcpSYN|tcpACK) == tcpSYN
	if fl != nil && isSYN && (fl.Closed() || fl.restartedBy(p)) && !(p.src == fl.Client && fl.ep[0].sawSYN && p.seq == fl.ep[0].isn) {
		// The 4-tuple is used again after the connection ended (also when
		// the capture did not show the end).
		a.finish(fl)
		fl = nil
	}
	if fl == nil {
		if len(a.flows) >= a.opts.MaxFlows {
			victim := a.closed.head
			if victim == nil {
				victim = a.open.head
			}
			a.sh.note(anFlowTableFull)
			a.finish(victim)
		}
		fl = a.newFlow(f)
		a.flows[k] = fl
	}
	fl.tcpPacket(p, f.TS, p.src == fl.Client)
	fl.idle = a.now
	l := &a.open
	if fl.over() {
		l = &a.closed
	}
	if l.tail != fl {
		if fl.list != nil {
			fl.list.remove(fl)
		}
		l.push(fl)
	}
}

func (a *Analyzer) newFlow(f *capture.Frame) *Flow {
	p := &a.p
	a.stats.Flows++
	var fl *Flow
	if n := len(a.free); n > 0 {
		fl, a.free = a.free[n-1], a.free[:n-1]
	} else {
		fl = new(Flow)
	}
	*fl = Flow{Client: p.src, Server: p.dst, FirstTS: f.TS, LastTS: f.TS, Interface: f.Interface, IfIndex: p.ifIndex,
		seq: a.stats.Flows, sh: &a.sh}
	flip := false
	switch {
	case p.flags&tcpSYN != 0:
		// A SYN-ACK seen first: its receiver is the client.
		flip = p.flags&tcpACK != 0
	default:
		flip = wellKnownPort(p.src.Port()) && !wellKnownPort(p.dst.Port())
	}
	if flip {
		fl.Client, fl.Server = p.dst, p.src
		fl.history[0], fl.histLen = '^', 1
	}
	if p.tunnel.kind != tunnelNone {
		t := &Tunnel{Type: "vxlan", VNI: p.tunnel.vni, OuterSrc: p.tunnel.src, OuterDst: p.tunnel.dst}
		if p.tunnel.kind == tunnelGeneve {
			t.Type = "geneve"
		}
		fl.Tunnel = t
	}
	if a.dns.onPort(p.src, p.dst) {
		fl.dns = &tcpDNS{t: &a.dns, flow: fl}
	}
	if a.opts.OnStart != nil {
		a.opts.OnStart(fl)
	}
	return fl
}

// finish ends a connection: it leaves the table, its buffers go back to
// the budget, its DNS names are looked up once, and it goes to OnFlow or
// is kept.
func (a *Analyzer) finish(f *Flow) {
	f.list.remove(f)
	if k := keyOf(f.Client, f.Server); a.flows[k] == f {
		delete(a.flows, k)
	}
	f.release()
	f.DNSNames = a.dns.names.lookup(f.Server.Addr(), f.FirstTS)
	if a.opts.OnFlow == nil {
		a.done = append(a.done, f)
		return
	}
	a.opts.OnFlow(f)
	// OnFlow did not keep f (its contract): the next connection reuses
	// it. Reset to its zero value, it shares nothing with what OnFlow
	// copied out of it (strings, and slices whose arrays are not reused).
	// A SYN flood would otherwise allocate a fresh kilobyte, and the page
	// faults and collections that come with it, for every SYN.
	if len(a.free) < maxFreeFlows {
		*f = Flow{}
		a.free = append(a.free, f)
	}
}

// maxFreeFlows bounds the finished connections kept for reuse.
const maxFreeFlows = 1024

// Finish says the input ended: it finishes every open connection and DNS
// transaction, each in the order they began, and forgets the IP fragments
// still waiting (AnomalyFragmentExpired). The Analyzer may then be given
// more frames, as a new capture.
func (a *Analyzer) Finish() {
	a.sh.pkt, a.sh.ts = 0, a.now
	a.dec.defrag.flush()
	for _, f := range a.openFlows() {
		a.finish(f)
	}
	a.dns.finishAll()
}

// openFlows returns the connections not finished, in the order they
// began.
func (a *Analyzer) openFlows() []*Flow {
	out := make([]*Flow, 0, len(a.flows))
	for _, l := range []*flowList{&a.open, &a.closed} {
		for f := l.head; f != nil; f = f.next {
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(x, y *Flow) int { return cmp.Compare(x.seq, y.seq) })
	return out
}

// Flow returns the connection between client and server not finished yet
// (a closed one stays findable for Options.CloseDelay), or nil.
func (a *Analyzer) Flow(client, server netip.AddrPort) *Flow {
	f := a.flows[keyOf(client, server)]
	if f == nil || f.Client != client {
		return nil
	}
	return f
}

// Stats returns the counters so far.
func (a *Analyzer) Stats() Stats {
	s := a.stats
	s.DNSTransactions = a.dns.next
	s.DNSMalformed = a.dns.malformed
	s.DNSNamesDropped = a.dns.names.dropped
	s.BufferPeak = uint64(a.sh.peak)
	return s
}

// Anomalies returns what the analysis could not take as it came so far,
// each kind once with its count, in the order they first occurred (those
// first met at Finish last).
func (a *Analyzer) Anomalies() []Anomaly { return a.sh.list() }

// Result returns what was learned so far: the connections and DNS
// transactions finished and kept, and copies of those still open, with
// each connection's DNS names. It finishes nothing and changes nothing
// another Result shares; the Analyzer may go on receiving frames.
func (a *Analyzer) Result() *Result {
	r := &Result{Stats: a.Stats()}
	r.Flows = slices.Clone(a.done)
	for _, f := range a.openFlows() {
		c := *f
		c.DNSNames = a.dns.names.lookup(c.Server.Addr(), c.FirstTS)
		r.Flows = append(r.Flows, &c)
	}
	slices.SortStableFunc(r.Flows, func(x, y *Flow) int { return cmp.Compare(x.seq, y.seq) })
	r.DNS = a.dns.result()
	return r
}

// Bounds of the join of DNS names to connections: real answers lead to an
// address through a handful of names, and a resolver follows CNAME chains
// of ten or so links.
const (
	// maxNamesPerAddr bounds the distinct names kept for one address, and
	// the names taken from one CNAME chain.
	maxNamesPerAddr = 32
	// maxNameSightings bounds the names kept for all addresses together;
	// past it the addresses least recently answered are forgotten.
	maxNameSightings = 1 << 20
)

// nameIndex joins DNS answers to connections. It is kept as responses
// arrive: for each address an answer gave, the distinct names that led to
// it (the query name through any CNAME chain to the record's owner), each
// with when it was first seen. A connection then gets its names by one
// lookup, instead of a scan of every answer before it.
//
// A capture of a week must not freeze the index once it is full: the
// addresses are kept in a list by their last answer, and a new name
// forgets the least recently answered address (AnomalyDNSNamesEvicted) to
// make room. A connection to it that began before is finished without
// those names.
type nameIndex struct {
	byAddr     map[netip.Addr]*addrNames
	head, tail *addrNames // least recently answered first
	size       int        // sightings held, all addresses together
	limit      int        // bound on size: maxNameSightings unless a test sets it
	// dropped counts names left out by the bounds per address and chain;
	// evicted those forgotten to stay within limit.
	dropped, evicted uint64
	sh               *shared
}

// addrNames is the names that led to one address, sorted by order.
type addrNames struct {
	addr       netip.Addr
	names      []nameSighting
	prev, next *addrNames
}

func (ix *nameIndex) unlink(e *addrNames) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		ix.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		ix.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

func (ix *nameIndex) push(e *addrNames) {
	e.prev = ix.tail
	if ix.tail != nil {
		ix.tail.next = e
	} else {
		ix.head = e
	}
	ix.tail = e
}

// evict forgets the least recently answered address.
func (ix *nameIndex) evict() {
	e := ix.head
	ix.unlink(e)
	delete(ix.byAddr, e.addr)
	ix.size -= len(e.names)
	ix.evicted += uint64(len(e.names))
	ix.sh.noteN(anDNSNamesEvicted, uint64(len(e.names)))
}

// drop counts a name left out.
func (ix *nameIndex) drop() {
	ix.dropped++
	ix.sh.note(anDNSNamesDropped)
}

// nameSighting is a name that led to an address.
type nameSighting struct {
	name string
	ts   time.Time // the earliest response that gave it
	// order places the name among the others of its address: the order
	// number of the transaction (its place in Result.DNS), then of the
	// name among those the transaction gave.
	order uint64
}

// orderOf is the order of the pos-th name a transaction gave: a message
// of 65,535 bytes holds at most 4,096 address records, each reached by at
// most 32 names (2^17 in all), which leaves 2^44 transaction numbers.
func orderOf(seq, pos uint64) uint64 { return seq<<20 | min(pos, 1<<20-1) }

// add takes the answers of a transaction's response; seq is the
// transaction's order number.
func (ix *nameIndex) add(tx *DNSTransaction, seq uint64) {
	if tx.ResponseTS.IsZero() || len(tx.Answers) == 0 {
		return
	}
	var links cnameLinks
	linked := false
	var owner string
	var buf [maxNamesPerAddr]string
	var chain []string
	pos := uint64(0)
	for _, ans := range tx.Answers {
		if !ans.Addr.IsValid() {
			continue
		}
		if chain == nil || ans.Name != owner {
			if !linked {
				links, linked = newCNAMELinks(tx.Answers), true
			}
			owner = ans.Name
			chain = ix.chain(tx, owner, links, buf[:0])
		}
		addr := ans.Addr.Unmap()
		for _, n := range chain {
			ix.see(addr, n, tx.ResponseTS, orderOf(seq, pos))
			pos++
		}
	}
}

// cnameLinks maps a CNAME target (lower case) to the owners of the CNAME
// records pointing at it, in answer order, each owner once; nil for
// answers without CNAME records.
type cnameLinks map[string][]string

func newCNAMELinks(answers []DNSAnswer) cnameLinks {
	var links cnameLinks
	var seen map[[2]string]bool
	for _, a := range answers {
		if a.Type != "CNAME" {
			continue
		}
		if links == nil {
			links, seen = cnameLinks{}, map[[2]string]bool{}
		}
		target, owner := strings.ToLower(a.Target), strings.ToLower(a.Name)
		if seen[[2]string{target, owner}] {
			continue // a repeated record: the first one stands for it
		}
		seen[[2]string{target, owner}] = true
		links[target] = append(links[target], a.Name)
	}
	return links
}

// chain returns the names that led to owner, the owner of an address
// record: from the query name through the CNAME records, each taken once
// whatever its case. At each link back from owner the first record in
// answer order that points at the name wins. A chain longer than
// maxNamesPerAddr keeps the links nearest the owner (and the query name).
// The names are appended to back, which has room for maxNamesPerAddr.
func (ix *nameIndex) chain(tx *DNSTransaction, owner string, links cnameLinks, back []string) []string {
	back = append(back, owner) // from the owner towards the query name
	for cur := owner; links != nil; {
		prev := ""
		for _, o := range links[strings.ToLower(cur)] {
			if !containsFold(back, o) {
				prev = o
				break
			}
		}
		if prev == "" {
			break
		}
		if len(back) == maxNamesPerAddr-1 {
			ix.drop() // the chain goes on: once per chain
			break
		}
		back = append(back, prev)
		cur = prev
	}
	if tx.QName != "" && !containsFold(back, tx.QName) {
		// The chain did not reach the question (records missing from a
		// cut message, or a chain too long): keep the question name, it is
		// what was asked.
		back = append(back, tx.QName)
	}
	slices.Reverse(back)
	return back
}

// see records that name led to addr in a response at ts.
func (ix *nameIndex) see(addr netip.Addr, name string, ts time.Time, order uint64) {
	if ix.byAddr == nil {
		ix.byAddr = make(map[netip.Addr]*addrNames)
	}
	e := ix.byAddr[addr]
	if e == nil {
		e = &addrNames{addr: addr}
		ix.byAddr[addr] = e
	} else {
		ix.unlink(e)
	}
	ix.push(e)
	list := e.names
	for i := range list {
		s := &list[i]
		if s.name != name {
			continue
		}
		if ts.Before(s.ts) {
			s.ts = ts
		}
		if order < s.order {
			s.order = order
			slices.SortFunc(list, func(a, b nameSighting) int { return cmp.Compare(a.order, b.order) })
		}
		return
	}
	if len(list) == maxNamesPerAddr {
		ix.drop()
		return
	}
	limit := cmp.Or(ix.limit, maxNameSightings)
	for ix.size >= limit && ix.head != e {
		ix.evict()
	}
	if ix.size >= limit {
		ix.drop() // a limit below one address's names: tests only
		return
	}
	i, _ := slices.BinarySearchFunc(list, order, func(s nameSighting, o uint64) int { return cmp.Compare(s.order, o) })
	e.names = slices.Insert(list, i, nameSighting{name: name, ts: ts, order: order})
	ix.size++
}

// lookup returns the names that led to addr in responses seen no later
// than ts (a connection's first packet), in the order of the transactions
// that gave them and, within one, from the query name on.
func (ix *nameIndex) lookup(addr netip.Addr, ts time.Time) []string {
	e := ix.byAddr[addr.Unmap()]
	if e == nil {
		return nil
	}
	var names []string
	for _, s := range e.names {
		if !s.ts.After(ts) {
			names = append(names, s.name)
		}
	}
	return names
}

func containsFold(names []string, s string) bool {
	return slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, s) })
}
