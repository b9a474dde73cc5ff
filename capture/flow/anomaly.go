package flow

import (
	"cmp"
	"slices"
	"time"
)

// Anomaly is something in the input the analysis could not take as it
// came, in the spirit of Zeek's weird.log: a table full, a buffer refused,
// a header chain too long, a message that did not parse. Each kind is
// counted, with where it first occurred, so that no loss is silent.
type Anomaly struct {
	// Name is one of the Anomaly* constants: stable, kebab-case.
	Name  string
	Count uint64
	// FirstPacket is the Analyzer's number (1-based) of the packet being
	// analysed when it first occurred; 0 when that was at the end of the
	// input (Finish).
	FirstPacket uint64
	FirstTS     time.Time
}

// Names of anomalies. Those that Hides reports can hide the evidence a
// verdict rests on: a DNS answer lost, a ClientHello cut, a connection
// split.
const (
	// AnomalyFlowTableFull counts connections finished early because
	// Options.MaxFlows were open: a later packet of one starts a new
	// connection, seen midstream.
	AnomalyFlowTableFull = "flow-table-full"
	// AnomalyDNSTableFull counts DNS transactions finished early because
	// Options.MaxDNS were pending: an answer that comes later is listed
	// without its query (its names still reach the connections).
	AnomalyDNSTableFull = "dns-table-full"
	// AnomalyDNSNamesEvicted counts the names the join of DNS names to
	// connections forgot to stay within its bound (a million), least
	// recently answered addresses first: a connection to such an address
	// finished later does not get them.
	AnomalyDNSNamesEvicted = "dns-names-evicted"
	// AnomalyDNSNamesDropped counts names the join left out: beyond 32 for
	// one address, or (once per chain) links of a CNAME chain beyond 32.
	AnomalyDNSNamesDropped = "dns-names-dropped"
	// AnomalyBudgetExhausted counts reassembly buffers (a ClientHello or
	// HTTP request, a DNS message over TCP, an IP datagram) cut because
	// all of them together reached Options.BufferBudget.
	AnomalyBudgetExhausted = "reassembly-budget-exhausted"
	// AnomalyFragmentTableFull counts datagrams under reassembly forgotten
	// to make room for a new one (1024 at once).
	AnomalyFragmentTableFull = "fragment-table-full"
	// AnomalyFragmentExpired counts datagrams whose fragments did not all
	// arrive within 30 seconds, or before the input ended.
	AnomalyFragmentExpired = "fragment-expired"
	// AnomalyFragmentOverlap counts datagrams dropped because two of their
	// fragments overlapped with different extents (how fragment attacks
	// work; Linux drops them too).
	AnomalyFragmentOverlap = "fragment-overlap"
	// AnomalyFragmentMalformed counts datagrams dropped for a fragment
	// that cannot be right: past 65,535 bytes, empty, a non-final one not
	// a multiple of 8 bytes, two different ends, more than 64 pieces.
	AnomalyFragmentMalformed = "fragment-malformed"
	// AnomalyTunnelTooDeep counts packets in VXLAN or Geneve nested deeper
	// than 8 levels: not decoded.
	AnomalyTunnelTooDeep = "tunnel-too-deep"
	// AnomalyIPv6ChainTooLong counts IPv6 packets with more than 32
	// extension headers: not decoded.
	AnomalyIPv6ChainTooLong = "ipv6-header-chain-too-long"
	// AnomalyDNSMalformed counts messages on DNS ports that did not parse
	// whole (what miekg/dns rejects: compression pointer loops, records
	// past the end, ...) though the snap length did not cut them. The
	// records that parsed before the fault are kept.
	AnomalyDNSMalformed = "dns-malformed"
	// AnomalyDNSCut counts DNS messages cut by the snap length.
	AnomalyDNSCut = "dns-cut"
	// AnomalyPacketMalformed counts frames that did not decode as far as
	// their TCP or UDP header.
	AnomalyPacketMalformed = "packet-malformed"
	// AnomalyPacketTruncated counts frames cut by the snap length.
	AnomalyPacketTruncated = "packet-truncated"
	// AnomalySequenceJump counts connection sides whose sequence numbers
	// jumped more than 16 MiB: their sequence span is not believable
	// (Flow.SeqBytes), their payload count still is.
	AnomalySequenceJump = "implausible-sequence-jump"
	// AnomalyLinkType counts frames of a link type the decoder does not
	// know (Analyzer.Add also returns ErrLinkType for them).
	AnomalyLinkType = "link-type-unsupported"
)

// anomalyKind indexes the counters; anomalyNames gives each its name.
type anomalyKind uint8

const (
	anFlowTableFull anomalyKind = iota
	anDNSTableFull
	anDNSNamesEvicted
	anDNSNamesDropped
	anBudget
	anFragTableFull
	anFragExpired
	anFragOverlap
	anFragMalformed
	anTunnelTooDeep
	anIPv6ChainTooLong
	anDNSMalformed
	anDNSCut
	anPacketMalformed
	anPacketTruncated
	anSeqJump
	anLinkType
	numAnomalies
)

var anomalyNames = [numAnomalies]string{
	anFlowTableFull:    AnomalyFlowTableFull,
	anDNSTableFull:     AnomalyDNSTableFull,
	anDNSNamesEvicted:  AnomalyDNSNamesEvicted,
	anDNSNamesDropped:  AnomalyDNSNamesDropped,
	anBudget:           AnomalyBudgetExhausted,
	anFragTableFull:    AnomalyFragmentTableFull,
	anFragExpired:      AnomalyFragmentExpired,
	anFragOverlap:      AnomalyFragmentOverlap,
	anFragMalformed:    AnomalyFragmentMalformed,
	anTunnelTooDeep:    AnomalyTunnelTooDeep,
	anIPv6ChainTooLong: AnomalyIPv6ChainTooLong,
	anDNSMalformed:     AnomalyDNSMalformed,
	anDNSCut:           AnomalyDNSCut,
	anPacketMalformed:  AnomalyPacketMalformed,
	anPacketTruncated:  AnomalyPacketTruncated,
	anSeqJump:          AnomalySequenceJump,
	anLinkType:         AnomalyLinkType,
}

// Hides reports whether the anomaly can hide evidence of S3 traffic: a DNS
// answer or the names it gave lost, a ClientHello or request cut, packets
// not decoded, a connection split in two. Only a table of DNS transactions
// full (the answers still reach the index of names) and implausible
// sequence numbers (the payload is still counted) cannot.
func (a Anomaly) Hides() bool {
	switch a.Name {
	case AnomalyDNSTableFull, AnomalySequenceJump:
		return false
	}
	return true
}

type anomalyTally struct {
	n, pkt uint64
	ts     time.Time
}

// shared is what the parts of one Analyzer share: the packet being
// analysed (where an anomaly first occurred), the anomaly counters and the
// reassembly budget. The methods do nothing on a nil *shared (parts used
// alone in tests): no anomaly is counted and no budget applies.
type shared struct {
	pkt       uint64
	ts        time.Time
	anomalies [numAnomalies]anomalyTally
	// limit bounds held, the bytes of capacity all reassembly buffers hold
	// together; peak is the most they held at once.
	limit, held, peak int
	// free holds buffers that finished connections gave back, by size
	// class, for the next connections: a capture of a million connections
	// would otherwise allocate (and zero) a ClientHello buffer for each.
	free [bufClasses][][]byte
}

// Buffer size classes: powers of two from 512 bytes, and every size above
// the last class in one class of its own (a hello's limit, 16 KiB + 5).
const (
	bufMinClass = 9 // 512 bytes
	bufClasses  = 7 // 512 B to 32 KiB
	bufFreeMax  = 32
)

// bufClass is the class index for a buffer of capacity c, or -1.
func bufClass(c int) int {
	for i := range bufClasses {
		if c == 1<<(bufMinClass+i) {
			return i
		}
	}
	return -1
}

// classSize rounds c up to its class size when one fits under limit; a
// buffer under the smallest class keeps its size (and is not reused).
func classSize(c, limit int) int {
	if c < 1<<bufMinClass {
		return c
	}
	for i := range bufClasses {
		if n := 1 << (bufMinClass + i); n >= c {
			if n > limit {
				return c
			}
			return n
		}
	}
	return c
}

// getBuf returns a free buffer of capacity c, or nil.
func (s *shared) getBuf(c int) []byte {
	if s == nil {
		return nil
	}
	i := bufClass(c)
	if i < 0 || len(s.free[i]) == 0 {
		return nil
	}
	l := s.free[i]
	b := l[len(l)-1]
	l[len(l)-1] = nil
	s.free[i] = l[:len(l)-1]
	return b[:0]
}

// putBuf keeps b for reuse when its class has room.
func (s *shared) putBuf(b []byte) {
	if s == nil {
		return
	}
	if i := bufClass(cap(b)); i >= 0 && len(s.free[i]) < bufFreeMax {
		s.free[i] = append(s.free[i], b[:0])
	}
}

// note counts one anomaly of kind k.
func (s *shared) note(k anomalyKind) { s.noteN(k, 1) }

func (s *shared) noteN(k anomalyKind, n uint64) {
	if s == nil || n == 0 {
		return
	}
	c := &s.anomalies[k]
	if c.n == 0 {
		c.pkt, c.ts = s.pkt, s.ts
	}
	c.n += n
}

// take reserves n bytes of the budget for a buffer; false when that would
// go past it.
func (s *shared) take(n int) bool {
	if s == nil || n <= 0 {
		return true
	}
	if s.held+n > s.limit {
		return false
	}
	s.held += n
	s.peak = max(s.peak, s.held)
	return true
}

// roomy reports whether at most half the budget is held.
func (s *shared) roomy() bool { return s == nil || s.held <= s.limit/2 }

// give returns n bytes to the budget.
func (s *shared) give(n int) {
	if s != nil {
		s.held -= n
	}
}

func (s *shared) list() []Anomaly {
	var out []Anomaly
	for k, c := range s.anomalies {
		if c.n > 0 {
			out = append(out, Anomaly{Name: anomalyNames[k], Count: c.n, FirstPacket: c.pkt, FirstTS: c.ts})
		}
	}
	// Those that first occurred at the end of the input (packet 0) last.
	slices.SortStableFunc(out, func(a, b Anomaly) int {
		return cmp.Compare(a.FirstPacket-1, b.FirstPacket-1)
	})
	return out
}
