package capture

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// Options tune an Analyzer.
type Options struct {
	// DNSPorts are the ports whose UDP and TCP payloads are parsed as DNS
	// (default: 53).
	DNSPorts []uint16
}

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
	// DNSMalformed counts payloads on DNS ports that did not parse as DNS.
	DNSMalformed uint64
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
	return &Analyzer{
		dec:   newDecoder(),
		flows: make(map[flowKey]*Flow),
		dns:   dnsTracker{ports: slices.Clone(ports), open: make(map[dnsKey]*DNSTransaction)},
	}
}

// Add analyses one frame. It fails only for a frame whose link type cannot
// be decoded (ErrLinkType): such input must not be skipped in silence.
// Frames that are malformed are counted, not reported as errors.
func (a *Analyzer) Add(f *Frame) error {
	a.stats.Packets++
	a.stats.Bytes += uint64(max(f.WireLen, len(f.Data)))
	if f.WireLen > len(f.Data) {
		a.stats.Truncated++
	}
	p := &a.p
	res, err := a.dec.decode(f, p)
	switch res {
	case decodedError:
		if errors.Is(err, ErrLinkType) {
			return err
		}
		a.stats.Malformed++
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

func (a *Analyzer) tcp(f *Frame) {
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

func (a *Analyzer) newFlow(f *Frame) *Flow {
	p := &a.p
	fl := &Flow{Client: p.src, Server: p.dst, FirstTS: f.TS, LastTS: f.TS, Interface: f.Interface, IfIndex: p.ifIndex}
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
	return s
}

// Result returns what was learned so far, with each flow's DNS names filled
// in. The Analyzer may go on receiving frames; call Result again for a newer
// view.
func (a *Analyzer) Result() *Result {
	r := &Result{Flows: slices.Clone(a.order), DNS: slices.Clone(a.dns.list), Stats: a.Stats()}
	correlate(r.Flows, r.DNS)
	return r
}

// correlate gives each flow the DNS names whose answers, seen before the
// flow's first packet, led through any CNAME chain to its server address.
func correlate(flows []*Flow, txs []*DNSTransaction) {
	type sighting struct {
		ts    time.Time
		names []string
	}
	byAddr := make(map[netip.Addr][]sighting)
	for _, tx := range txs {
		if tx.ResponseTS.IsZero() || len(tx.Answers) == 0 {
			continue
		}
		// CNAME links: owner -> target, followed from the query name.
		for _, ans := range tx.Answers {
			if !ans.Addr.IsValid() {
				continue
			}
			addr := ans.Addr.Unmap()
			byAddr[addr] = append(byAddr[addr], sighting{tx.ResponseTS, chainTo(tx, ans.Name)})
		}
	}
	for _, fl := range flows {
		fl.DNSNames = nil
		for _, s := range byAddr[fl.Server.Addr().Unmap()] {
			if s.ts.After(fl.FirstTS) {
				continue
			}
			for _, n := range s.names {
				if !slices.Contains(fl.DNSNames, n) {
					fl.DNSNames = append(fl.DNSNames, n)
				}
			}
		}
	}
}

// chainTo returns the names from the transaction's query name through its
// CNAME records to owner, the name an address record was for.
func chainTo(tx *DNSTransaction, owner string) []string {
	names := []string{owner}
	for range len(tx.Answers) {
		prev := ""
		for _, ans := range tx.Answers {
			if ans.Type == "CNAME" && strings.EqualFold(ans.Target, names[0]) && !containsFold(names, ans.Name) {
				prev = ans.Name
				break
			}
		}
		if prev == "" {
			break
		}
		names = append([]string{prev}, names...)
	}
	if tx.QName != "" && !containsFold(names, tx.QName) {
		// The chain did not reach the question (records missing from a
		// cut message): keep the question name, it is what was asked.
		names = append([]string{tx.QName}, names...)
	}
	return names
}

func containsFold(names []string, s string) bool {
	return slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, s) })
}
