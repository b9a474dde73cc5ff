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

// Options tune an Analyzer.
type Options struct {
	// DNSPorts are the ports whose UDP and TCP payloads are parsed as DNS
	// (default: 53).
	DNSPorts []uint16
	// BufferBudget bounds the bytes all reassembly buffers (ClientHello,
	// HTTP request, DNS over TCP, IP fragments) hold together (default 64
	// MiB); each connection keeps its own cap too. A buffer the budget
	// cannot grow is cut (AnomalyBudgetExhausted): a ClientHello stays
	// incomplete with TLSInfo.Err "reassembly budget exhausted".
	BufferBudget int
}

// DefaultBufferBudget is the BufferBudget used when Options leaves it 0.
const DefaultBufferBudget = 64 << 20

// Stats counts what an Analyzer was given.
type Stats struct {
	Packets   uint64 // frames given
	Bytes     uint64 // their length on the wire
	Truncated uint64 // frames cut by the snap length
	TCP       uint64
	UDP       uint64
	Other     uint64 // not TCP or UDP over IP: ARP, ICMP, ...
	Fragments uint64 // non-first IP fragments (no transport header)
	Malformed uint64 // frames that did not decode as far as their transport header
	Tunneled  uint64 // packets decapsulated from VXLAN or Geneve
	// DNSMalformed counts messages on DNS ports that did not parse whole
	// though the snap length did not cut them (AnomalyDNSMalformed): those
	// whose question did not parse are not listed, the others keep the
	// records before the fault.
	DNSMalformed uint64
	// BufferPeak is the most bytes the reassembly buffers held together
	// (at most Options.BufferBudget).
	BufferPeak uint64
	// DNSNamesDropped counts names that DNS answers led to but that the
	// join of names to connections left out: beyond 32 names for one
	// address or a million for all, or (once per chain) links of a CNAME
	// chain beyond 32 names.
	DNSNamesDropped uint64
}

// Result is everything an Analyzer learned.
type Result struct {
	// Flows lists every TCP connection, in the order their first packet
	// was seen.
	Flows []*Flow
	// DNS lists the DNS transactions in the order their first message was
	// seen.
	DNS   []*DNSTransaction
	Stats Stats
}

// Analyzer decodes frames, tracks TCP connections and collects DNS. It is
// not safe for concurrent use. Its per-packet path allocates nothing once a
// connection is known.
type Analyzer struct {
	dec   *decoder
	p     packet
	flows map[flowKey]*Flow
	order []*Flow
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

// NewAnalyzer returns an Analyzer.
func NewAnalyzer(opts Options) *Analyzer {
	ports := opts.DNSPorts
	if len(ports) == 0 {
		ports = []uint16{53}
	}
	a := &Analyzer{flows: make(map[flowKey]*Flow)}
	a.sh.limit = opts.BufferBudget
	if a.sh.limit <= 0 {
		a.sh.limit = DefaultBufferBudget
	}
	a.dec = newDecoder(&a.sh)
	a.dns = dnsTracker{ports: slices.Clone(ports), open: make(map[dnsKey]*DNSTransaction), sh: &a.sh}
	a.dns.names.sh = &a.sh
	return a
}

// Add analyses one frame. It fails only for a frame whose link type cannot
// be decoded (ErrLinkType): such input must not be skipped in silence.
// Frames that are malformed are counted, not reported as errors.
func (a *Analyzer) Add(f *capture.Frame) error {
	a.stats.Packets++
	a.sh.pkt, a.sh.ts = a.stats.Packets, f.TS
	a.stats.Bytes += uint64(max(f.WireLen, len(f.Data)))
	if f.WireLen > len(f.Data) {
		a.stats.Truncated++
		a.sh.note(anPacketTruncated)
	}
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

func (a *Analyzer) tcp(f *capture.Frame) {
	p := &a.p
	k := keyOf(p.src, p.dst)
	fl := a.flows[k]
	isSYN := p.flags&(tcpSYN|tcpACK) == tcpSYN
	if fl != nil && isSYN && fl.Closed() && !(p.src == fl.Client && fl.ep[0].sawSYN && p.seq == fl.ep[0].isn) {
		// The 4-tuple is used again after the connection ended.
		fl = nil
	}
	if fl == nil {
		fl = a.newFlow(f)
		a.flows[k] = fl
		a.order = append(a.order, fl)
	}
	fl.tcpPacket(p, f.TS, p.src == fl.Client)
}

func (a *Analyzer) newFlow(f *capture.Frame) *Flow {
	p := &a.p
	fl := &Flow{Client: p.src, Server: p.dst, FirstTS: f.TS, LastTS: f.TS, Interface: f.Interface, IfIndex: p.ifIndex, sh: &a.sh}
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
	return fl
}

// Flow returns the current connection between client and server, or nil.
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
	s.DNSMalformed = a.dns.malformed
	s.DNSNamesDropped = a.dns.names.dropped
	s.BufferPeak = uint64(a.sh.peak)
	return s
}

// Anomalies returns what the analysis could not take as it came so far,
// each kind once with its count, in the order they first occurred.
func (a *Analyzer) Anomalies() []Anomaly { return a.sh.list() }

// Result returns what was learned so far, with each flow's DNS names filled
// in. The Analyzer may go on receiving frames; call Result again for a newer
// view.
func (a *Analyzer) Result() *Result {
	r := &Result{Flows: slices.Clone(a.order), DNS: slices.Clone(a.dns.list), Stats: a.Stats()}
	for _, fl := range r.Flows {
		fl.DNSNames = a.dns.names.lookup(fl.Server.Addr(), fl.FirstTS)
	}
	return r
}

// Bounds of the join of DNS names to connections: real answers lead to an
// address through a handful of names, and a resolver follows CNAME chains
// of ten or so links.
const (
	// maxNamesPerAddr bounds the distinct names kept for one address, and
	// the names taken from one CNAME chain.
	maxNamesPerAddr = 32
	// maxNameSightings bounds the names kept for all addresses together.
	maxNameSightings = 1 << 20
)

// nameIndex joins DNS answers to connections. It is kept as responses
// arrive: for each address an answer gave, the distinct names that led to
// it (the query name through any CNAME chain to the record's owner), each
// with when it was first seen. A connection then gets its names by one
// lookup, instead of a scan of every answer before it.
type nameIndex struct {
	byAddr map[netip.Addr][]nameSighting
	size   int // sightings held, all addresses together
	limit  int // bound on size: maxNameSightings unless a test sets it
	// dropped counts names left out by the bounds.
	dropped uint64
	sh      *shared
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
	// order places the name among the others of its address: the position
	// of the transaction in Result.DNS, then of the name among those the
	// transaction gave.
	order uint64
}

// add takes the answers of a transaction's response; seq is the
// transaction's index in the list of transactions.
func (ix *nameIndex) add(tx *DNSTransaction, seq int) {
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
			ix.see(addr, n, tx.ResponseTS, uint64(seq)<<32|pos)
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
		ix.byAddr = make(map[netip.Addr][]nameSighting)
	}
	list := ix.byAddr[addr]
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
	if len(list) == maxNamesPerAddr || ix.size >= cmp.Or(ix.limit, maxNameSightings) {
		ix.drop()
		return
	}
	i, _ := slices.BinarySearchFunc(list, order, func(s nameSighting, o uint64) int { return cmp.Compare(s.order, o) })
	ix.byAddr[addr] = slices.Insert(list, i, nameSighting{name: name, ts: ts, order: order})
	ix.size++
}

// lookup returns the names that led to addr in responses seen no later
// than ts (a connection's first packet), in the order of the transactions
// that gave them and, within one, from the query name on.
func (ix *nameIndex) lookup(addr netip.Addr, ts time.Time) []string {
	var names []string
	for _, s := range ix.byAddr[addr.Unmap()] {
		if !s.ts.After(ts) {
			names = append(names, s.name)
		}
	}
	return names
}

func containsFold(names []string, s string) bool {
	return slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, s) })
}
