package flow

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// DNSTransaction is one DNS query and its response as seen on the wire.
// Either half may be missing: a query never answered, or a response whose
// query was not captured.
type DNSTransaction struct {
	QueryTS    time.Time // zero when the query was not seen
	ResponseTS time.Time // zero when no response was seen
	Client     netip.AddrPort
	Server     netip.AddrPort
	Transport  string // "udp" or "tcp"
	ID         uint16
	QName      string // without the trailing dot
	QType      string // "A", "AAAA", ...; "" when cut off
	RCode      string // "NOERROR", "NXDOMAIN", ...; "" without a response
	Answers    []DNSAnswer
	// Truncated is the TC bit: the server said the answer did not fit.
	Truncated bool
	// Incomplete says the response, or a query's question, was cut short
	// in the capture (snap length): Answers holds the records that parsed
	// whole.
	Incomplete bool
	// QNameCut says the cut fell inside the question name and no other
	// message of the transaction had it whole: QName holds only the labels
	// before the cut (perhaps none), so it is not a name that was asked.
	QNameCut bool
	// Responses counts responses seen for this query (retransmissions or
	// duplicates make it more than one).
	Responses int

	// seq numbers the transactions in the order they began; key, list,
	// prev and next place a pending one in the tracker, by at: the
	// Analyzer's clock when it was queried or last answered.
	seq        uint64
	key        dnsKey
	list       *txList
	prev, next *DNSTransaction
	at         time.Time
}

// DNSAnswer is one record of the answer section, its data typed for the
// types the join of names to connections follows.
type DNSAnswer struct {
	Name string // owner, without the trailing dot
	Type string // "CNAME", "A", "AAAA", "HTTPS", ...
	// Addr is the address of an A or AAAA record (an AAAA record holding
	// an IPv4-mapped address keeps its IPv6 form).
	Addr netip.Addr
	// Target is the name a CNAME record points to, without the trailing
	// dot.
	Target string
	// Data is the record data of other types in presentation format, as
	// dig prints it; "" for A, AAAA and CNAME.
	Data string
	TTL  uint32
	// ECH says an HTTPS or SVCB record carries an ech SvcParam: the DNS
	// offered an Encrypted Client Hello configuration for the name. Only
	// then does a hello's ECH extension mean ECH was used: Chromium sends a
	// GREASE one on every hello.
	ECH bool
}

// TS returns when the transaction is best placed in time: the response when
// there is one, else the query.
func (t *DNSTransaction) TS() time.Time {
	if !t.ResponseTS.IsZero() {
		return t.ResponseTS
	}
	return t.QueryTS
}

type dnsKey struct {
	client, server netip.AddrPort
	id             uint16
	tcp            bool
}

// dnsTracker matches DNS queries with their responses. A transaction is
// pending in open until it is finished: waiting holds those without a
// response, by query time, answered those with one, by their last
// response; kept the finished ones when there is no onDNS.
type dnsTracker struct {
	ports             []uint16
	open              map[dnsKey]*DNSTransaction
	waiting, answered txList
	kept              []*DNSTransaction
	next              uint64 // transactions begun
	now               time.Time
	idle, linger      time.Duration
	max               int
	onDNS             func(*DNSTransaction)
	// names joins the answers to connections.
	names nameIndex
	// Malformed counts messages on DNS ports that did not parse whole
	// though the snap length did not cut them.
	malformed uint64
	sh        *shared
}

// txList is a list of DNS transactions linked through themselves.
type txList struct{ head, tail *DNSTransaction }

func (l *txList) push(tx *DNSTransaction) {
	tx.list, tx.prev, tx.next = l, l.tail, nil
	if l.tail != nil {
		l.tail.next = tx
	} else {
		l.head = tx
	}
	l.tail = tx
}

func (l *txList) remove(tx *DNSTransaction) {
	if tx.prev != nil {
		tx.prev.next = tx.next
	} else {
		l.head = tx.next
	}
	if tx.next != nil {
		tx.next.prev = tx.prev
	} else {
		l.tail = tx.prev
	}
	tx.list, tx.prev, tx.next = nil, nil, nil
}

// place puts tx at the end of l, stamped with the clock.
func (t *dnsTracker) place(tx *DNSTransaction, l *txList) {
	if tx.list != nil {
		tx.list.remove(tx)
	}
	tx.at = t.now
	l.push(tx)
}

// begin makes a pending transaction for k, making room when the table is
// full.
func (t *dnsTracker) begin(k dnsKey, tx *DNSTransaction) {
	if len(t.open) >= t.max {
		victim := t.answered.head
		if victim == nil {
			victim = t.waiting.head
		}
		t.sh.note(anDNSTableFull)
		t.finish(victim)
	}
	t.next++
	tx.seq, tx.key = t.next, k
	t.open[k] = tx
}

// expire finishes the transactions that are due at now.
func (t *dnsTracker) expire(now time.Time) {
	t.now = now
	for tx := t.answered.head; tx != nil && now.Sub(tx.at) > t.linger; tx = t.answered.head {
		t.finish(tx)
	}
	for tx := t.waiting.head; tx != nil && now.Sub(tx.at) > t.idle; tx = t.waiting.head {
		t.finish(tx)
	}
}

func (t *dnsTracker) finish(tx *DNSTransaction) {
	tx.list.remove(tx)
	if t.open[tx.key] == tx {
		delete(t.open, tx.key)
	}
	if t.onDNS != nil {
		t.onDNS(tx)
	} else {
		t.kept = append(t.kept, tx)
	}
}

// pending returns the transactions not finished, in the order they began.
func (t *dnsTracker) pending() []*DNSTransaction {
	out := make([]*DNSTransaction, 0, len(t.open))
	for _, l := range []*txList{&t.waiting, &t.answered} {
		for tx := l.head; tx != nil; tx = tx.next {
			out = append(out, tx)
		}
	}
	slices.SortFunc(out, func(x, y *DNSTransaction) int { return cmp.Compare(x.seq, y.seq) })
	return out
}

// finishAll finishes every pending transaction, in the order they began.
func (t *dnsTracker) finishAll() {
	for _, tx := range t.pending() {
		t.finish(tx)
	}
}

// result lists the kept transactions and copies of the pending ones, in
// the order they began.
func (t *dnsTracker) result() []*DNSTransaction {
	out := slices.Clone(t.kept)
	for _, tx := range t.pending() {
		c := *tx
		out = append(out, &c)
	}
	slices.SortStableFunc(out, func(x, y *DNSTransaction) int { return cmp.Compare(x.seq, y.seq) })
	return out
}

// onPort reports whether either end of a conversation is on a DNS port.
func (t *dnsTracker) onPort(src, dst netip.AddrPort) bool {
	return slices.Contains(t.ports, src.Port()) || slices.Contains(t.ports, dst.Port())
}

// message records one DNS message from src to dst. cut says the bytes were
// cut short by the snap length.
func (t *dnsTracker) message(ts time.Time, src, dst netip.AddrPort, tcp bool, b []byte, cut bool) {
	m, parsed, err := parseDNS(b)
	switch {
	case err != nil || parsed >= dnsCutQType && !cut:
		// A question that does not parse is malformed, unless the snap
		// length explains it.
		t.malformed++
		t.sh.note(anDNSMalformed)
		return
	case parsed != dnsWhole && cut:
		t.sh.note(anDNSCut)
	case parsed != dnsWhole:
		// The records before the fault are kept, but what follows it
		// is lost: as much a loss as a cut.
		t.malformed++
		t.sh.note(anDNSMalformed)
	}
	transport := "udp"
	if tcp {
		transport = "tcp"
	}
	if !m.Response {
		k := dnsKey{client: src, server: dst, id: m.Id, tcp: tcp}
		if _, ok := t.open[k]; ok {
			return // a retransmitted query
		}
		tx := &DNSTransaction{QueryTS: ts, Client: src, Server: dst, Transport: transport, ID: m.Id}
		setQuestion(tx, m, parsed)
		tx.Incomplete = parsed >= dnsCutQType
		t.begin(k, tx)
		t.place(tx, &t.waiting)
		return
	}
	k := dnsKey{client: dst, server: src, id: m.Id, tcp: tcp}
	tx := t.open[k]
	if tx != nil && tx.Responses > 0 && !sameQuestion(tx, m, parsed) {
		// The ID is used again for another question: the transaction
		// before is over.
		t.finish(tx)
		tx = nil
	}
	if tx == nil {
		tx = &DNSTransaction{Client: dst, Server: src, Transport: transport, ID: m.Id}
		setQuestion(tx, m, parsed)
		t.begin(k, tx)
	}
	tx.Responses++
	t.place(tx, &t.answered)
	if tx.Responses > 1 {
		return
	}
	if tx.QType == "" && parsed < dnsCutQType {
		// The query's question was cut; the response has it whole.
		setQuestion(tx, m, parsed)
	}
	tx.ResponseTS = ts
	tx.RCode = dns.RcodeToString[m.Rcode]
	if tx.RCode == "" {
		tx.RCode = fmt.Sprintf("RCODE%d", m.Rcode)
	}
	tx.Truncated = m.Truncated
	tx.Incomplete = parsed != dnsWhole || cut
	for _, rr := range m.Answer {
		tx.Answers = append(tx.Answers, answerOf(rr))
	}
	t.names.add(tx, tx.seq)
}

func setQuestion(tx *DNSTransaction, m *dns.Msg, parsed dnsParsed) {
	if len(m.Question) == 0 {
		return
	}
	q := m.Question[0]
	tx.QName = trimDot(q.Name)
	tx.QType, tx.QNameCut = "", parsed == dnsCutQName
	if parsed < dnsCutQType {
		tx.QType = typeString(q.Qtype)
	}
}

// sameQuestion reports whether m may answer the question of tx; a question
// cut short may.
func sameQuestion(tx *DNSTransaction, m *dns.Msg, parsed dnsParsed) bool {
	return len(m.Question) == 0 || parsed >= dnsCutQType ||
		(strings.EqualFold(tx.QName, trimDot(m.Question[0].Name)) && tx.QType == typeString(m.Question[0].Qtype))
}

func typeString(t uint16) string {
	if s, ok := dns.TypeToString[t]; ok {
		return s
	}
	return fmt.Sprintf("TYPE%d", t)
}

func trimDot(s string) string { return strings.TrimSuffix(s, ".") }

func answerOf(rr dns.RR) DNSAnswer {
	h := rr.Header()
	a := DNSAnswer{Name: trimDot(h.Name), Type: typeString(h.Rrtype), TTL: h.Ttl}
	switch r := rr.(type) {
	case *dns.A:
		addr, _ := netip.AddrFromSlice(r.A)
		a.Addr = addr.Unmap()
		return a
	case *dns.AAAA:
		a.Addr, _ = netip.AddrFromSlice(r.AAAA)
		return a
	case *dns.CNAME:
		a.Target = trimDot(r.Target)
		return a
	case *dns.HTTPS:
		a.ECH = hasECH(r.Value)
	case *dns.SVCB:
		a.ECH = hasECH(r.Value)
	}
	a.Data = strings.TrimSpace(strings.TrimPrefix(rr.String(), h.String()))
	return a
}

// dnsParsed says how much of a message parseDNS could read.
type dnsParsed uint8

const (
	dnsWhole      dnsParsed = iota
	dnsCutRecords           // the question is whole, the records that parsed whole are kept
	dnsCutQType             // the question name is whole, its type and class are cut off
	dnsCutQName             // the question name is cut: Question[0].Name holds the labels before the cut
)

func hasECH(params []dns.SVCBKeyValue) bool {
	for _, p := range params {
		if p.Key() == dns.SVCB_ECHCONFIG {
			return true
		}
	}
	return false
}

// parseDNS unpacks a DNS message. A message cut short (by the snap length)
// keeps its header, question and every answer record that parsed whole;
// one cut inside its first question keeps the header and what of the
// question could be read. parsed says which.
func parseDNS(b []byte) (m *dns.Msg, parsed dnsParsed, err error) {
	m = new(dns.Msg)
	if err = m.Unpack(b); err == nil {
		return m, dnsWhole, nil
	}
	if len(b) < 12 {
		return nil, dnsWhole, err
	}
	// miekg/dns drops a whole section on error; walk the records ourselves
	// to keep the ones before the cut.
	m = new(dns.Msg)
	m.Id = binary.BigEndian.Uint16(b)
	flags := binary.BigEndian.Uint16(b[2:])
	m.Response = flags&0x8000 != 0
	m.Opcode = int(flags>>11) & 0xf
	m.Truncated = flags&0x0200 != 0
	m.Rcode = int(flags & 0xf)
	qd, an := binary.BigEndian.Uint16(b[4:]), binary.BigEndian.Uint16(b[6:])
	off := 12
	for range qd {
		name, next, qerr := dns.UnpackDomainName(b, off)
		if qerr != nil || next+4 > len(b) {
			switch {
			case len(m.Question) > 0:
				return m, dnsCutRecords, nil
			case qerr == nil:
				m.Question = []dns.Question{{Name: name}}
				return m, dnsCutQType, nil
			}
			m.Question = []dns.Question{{Name: namePrefix(b, off)}}
			return m, dnsCutQName, nil
		}
		m.Question = append(m.Question, dns.Question{
			Name:   name,
			Qtype:  binary.BigEndian.Uint16(b[next:]),
			Qclass: binary.BigEndian.Uint16(b[next+2:]),
		})
		off = next + 4
	}
	for range an {
		rr, next, rerr := dns.UnpackRR(b, off)
		if rerr != nil {
			break
		}
		m.Answer = append(m.Answer, rr)
		off = next
	}
	return m, dnsCutRecords, nil
}

// namePrefix returns, in presentation format, the labels of the name at off
// that are whole before the message ends (or a compression pointer
// interrupts them): what a cut question still says. It is "" when not even
// the first label is whole.
func namePrefix(b []byte, off int) string {
	start := off
	for off < len(b) {
		n := int(b[off])
		if n == 0 || n&0xc0 != 0 || off+1+n > len(b) {
			break
		}
		off += 1 + n
	}
	if off == start {
		return ""
	}
	// The whole labels, ended by the root label, read as a name of their
	// own: miekg/dns escapes them as it escapes any name.
	name, _, err := dns.UnpackDomainName(append(b[start:off:off], 0), 0)
	if err != nil {
		return ""
	}
	return name
}

// tcpDNS reassembles DNS messages (each behind a two-byte length) from both
// directions of a TCP connection on a DNS port.
type tcpDNS struct {
	t    *dnsTracker
	flow *Flow
	dir  [2]tcpDNSStream
}

type tcpDNSStream struct {
	buf     streamPrefix
	started bool
	// dead says the stream is no longer read: a message longer than a
	// length prefix can announce, or the budget refused to hold it.
	dead bool
}

// maxTCPDNS is one length prefix and the largest message it can announce.
const maxTCPDNS = 2 + 65535

func (d *tcpDNS) data(dir int, seq uint32, payload []byte, ts time.Time) {
	s := &d.dir[dir]
	if s.dead {
		return
	}
	if !s.started {
		e := &d.flow.ep[dir]
		start := seq
		if e.sawSYN {
			start = e.isn + 1
		}
		s.buf.sh = d.t.sh
		s.buf.reset(start, maxTCPDNS)
		s.started = true
	}
	s.buf.add(seq, payload)
	src, dst := d.flow.Client, d.flow.Server
	if dir == 1 {
		src, dst = dst, src
	}
	b := s.buf.bytes()
	used := 0
	for len(b)-used >= 2 {
		n := int(binary.BigEndian.Uint16(b[used:]))
		if len(b)-used < 2+n {
			break
		}
		d.t.message(ts, src, dst, true, b[used+2:used+2+n], false)
		used += 2 + n
	}
	switch {
	case s.buf.cut:
		// The budget refused the rest: the messages whole before the cut
		// were read, the one cut is lost.
		s.stop()
	case used == 0:
		if s.buf.full() {
			s.stop()
		}
	default:
		// Keep what follows the messages parsed, and what came early.
		s.buf.discard(used)
		if len(s.buf.buf) == 0 && len(s.buf.pending) == 0 && cap(s.buf.buf) > tcpDNSKeep {
			// Between messages: a large buffer goes back to the budget.
			start := s.buf.start
			s.buf.release()
			s.buf.reset(start, maxTCPDNS)
		}
	}
}

// tcpDNSKeep is the buffer a DNS-over-TCP stream keeps between messages:
// room for ordinary answers without a new allocation each time.
const tcpDNSKeep = 4096

func (s *tcpDNSStream) stop() {
	s.dead = true
	s.buf.release()
}

// release returns the buffers of both directions to the budget.
func (d *tcpDNS) release() {
	for i := range d.dir {
		d.dir[i].buf.release()
	}
}
