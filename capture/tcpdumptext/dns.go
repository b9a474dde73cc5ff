package tcpdumptext

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// tcpdump's names of DNS opcodes and response codes, as it prints them
// after the message ID ("1234 NXDomain*-", "1234 update+").
var (
	dnsOpcodes = map[string]int{
		"inv_q": 1, "stat": 2, "op3": 3, "notify": 4, "update": 5, "op6": 6, "op7": 7,
		"op8": 8, "updateA": 9, "updateD": 10, "updateDA": 11, "updateM": 12, "updateMA": 13,
		"zoneInit": 14, "zoneRef": 15,
	}
	dnsRcodes = map[string]int{
		"FormErr": 1, "ServFail": 2, "NXDomain": 3, "NotImp": 4, "Refused": 5, "YXDomain": 6,
		"YXRRSet": 7, "NXRRSet": 8, "NotAuth": 9, "NotZone": 10, "NoChange": 15, "BadVers": 16,
		"BadCookie": 23,
	}
	dnsClasses = map[string]uint16{"CHAOS": dns.ClassCHAOS, "HS": dns.ClassHESIOD, "ANY": dns.ClassANY}
)

// The flag characters tcpdump appends to a DNS message's ID (and opcode
// and response code).
const (
	dnsQueryFlags    = "+%"   // recursion desired, checking disabled
	dnsResponseFlags = "*-|$" // authoritative, no recursion available, truncated, authenticated data
)

// answer is one record of a response's answer section as printed.
type answer struct {
	owner string // "" when not printed (without -v)
	ttl   uint32
	rtype uint16
	class uint16
	data  string // A/AAAA address, or the target name
}

// parseDNS reads a DNS message as tcpdump prints it on a UDP line, from
// the ID on, into p.msg: a query "1234+ [1au] A? name. (45)", or a
// response "1234 2/0/0 CNAME target., A 52.219.64.10 (95)" (with -v each
// answer begins with its owner, with -vv the question is printed after
// "q:"). A response's question, and the owner of its first answer when
// not printed, come from the query it answers.
func (p *parser) parseDNS(body string, ts time.Time) error {
	toks := strings.Fields(body)
	i := skipBrackets(toks, 0) // [udp sum ok], [bad udp cksum ...] (-vv)
	if i >= len(toks) {
		return errors.New("a DNS line without its message")
	}
	id, rest, ok := leadingNumber(toks[i])
	if !ok || id > 0xffff {
		return fmt.Errorf("DNS message ID %q is not a 16-bit number", cut(toks[i]))
	}
	i++
	var h dns.MsgHdr
	h.Id = uint16(id)
	flags := ""
	for word := rest; ; {
		w := strings.TrimRight(word, dnsQueryFlags+dnsResponseFlags)
		flags += word[len(w):]
		if op, ok := dnsOpcodes[w]; ok {
			h.Opcode = op
		} else if rc, ok := dnsRcode(w); ok {
			h.Rcode = rc
		} else if w != "" {
			return fmt.Errorf("DNS header word %q is not an opcode or response code tcpdump prints", cut(w))
		}
		if i >= len(toks) || !dnsHeaderWord(toks[i]) {
			break
		}
		word = toks[i]
		i++
	}
	i = skipBrackets(toks, i) // [1au], [2q], [b2&3=0x...]
	p.dnsCut = false
	m := &p.msg
	*m = dns.Msg{MsgHdr: h}
	if i < len(toks) && (toks[i] == "q:" || isCounts(toks[i])) {
		return p.parseResponse(toks, i, flags, ts)
	}
	m.RecursionDesired = strings.Contains(flags, "+")
	m.CheckingDisabled = strings.Contains(flags, "%")
	if i < len(toks) && (isLengthToken(toks[i]) || toks[i] == "[|domain]") {
		p.dnsCut = toks[i] == "[|domain]"
		return nil // a query without a question
	}
	q, _, err := parseQuestion(toks, i)
	if err != nil {
		return err
	}
	p.dnsCut = slices.Contains(toks[i:], "[|domain]")
	m.Question = []dns.Question{{Name: q.name, Qtype: q.qtype, Qclass: q.qclass}}
	// The line is parsed in place: the name kept is a copy.
	p.rememberQuery(queryKey{client: p.src, server: p.dst, id: m.Id}, question{name: strings.Clone(q.name), qtype: q.qtype, qclass: q.qclass, rd: m.RecursionDesired, ts: ts})
	return nil
}

func (p *parser) parseResponse(toks []string, i int, flags string, ts time.Time) error {
	m := &p.msg
	m.Response = true
	m.Authoritative = strings.Contains(flags, "*")
	m.RecursionAvailable = !strings.Contains(flags, "-")
	m.Truncated = strings.Contains(flags, "|")
	m.AuthenticatedData = strings.Contains(flags, "$")
	var q question
	known := false
	if toks[i] == "q:" {
		// -vv prints the questions, separated by commas.
		for i < len(toks) && toks[i] == "q:" {
			one, next, err := parseQuestion(toks, i+1)
			if err != nil {
				return err
			}
			if !known {
				q, known = one, true
			}
			i = next
		}
	}
	key := queryKey{client: p.dst, server: p.src, id: m.Id}
	if asked, ok := p.queries[key]; ok {
		if !known {
			q, known = asked, true
		}
		m.RecursionDesired = asked.rd
		delete(p.queries, key)
	}
	if i >= len(toks) || !isCounts(toks[i]) {
		return errors.New("a DNS response without its record counts (an/ns/ar)")
	}
	i++
	// The message ends with its length "(N)", or with [|domain] where the
	// capture cut it; anything after (-X hex) is not read.
	end := -1
	for j := len(toks) - 1; j >= i; j-- {
		if toks[j] == "[|domain]" || isLengthToken(toks[j]) {
			end = j
			p.dnsCut = toks[j] == "[|domain]"
			break
		}
	}
	if end < 0 {
		return errors.New("a DNS response without its length (N) at the end")
	}
	answers, short, err := parseAnswers(toks[i:end])
	if err != nil {
		return err
	}
	if short {
		p.dnsCut = true
	}
	if known {
		m.Question = []dns.Question{{Name: q.name, Qtype: q.qtype, Qclass: q.qclass}}
	}
	// Without -v the owners are not printed: the first record is the
	// question's, and a CNAME's target owns what follows it.
	owner := q.name
	for _, a := range answers {
		if a.owner != "" {
			owner = a.owner
		}
		if owner == "" {
			// The question was not captured: whose record this is, the
			// text does not say. A CNAME's target still owns what follows.
			if a.rtype == dns.TypeCNAME {
				owner = a.data
			}
			continue
		}
		hdr := dns.RR_Header{Name: owner, Rrtype: a.rtype, Class: a.class, Ttl: a.ttl}
		switch a.rtype {
		case dns.TypeA:
			addr, err := netip.ParseAddr(a.data)
			if err != nil || !addr.Is4() {
				return fmt.Errorf("A record %q is not an IPv4 address", cut(a.data))
			}
			m.Answer = append(m.Answer, &dns.A{Hdr: hdr, A: addr.AsSlice()})
		case dns.TypeAAAA:
			addr, err := netip.ParseAddr(a.data)
			if err != nil || !addr.Is6() || addr.Zone() != "" {
				return fmt.Errorf("AAAA record %q is not an IPv6 address", cut(a.data))
			}
			m.Answer = append(m.Answer, &dns.AAAA{Hdr: hdr, AAAA: addr.AsSlice()})
		case dns.TypeCNAME:
			if err := checkName(a.data); err != nil {
				return fmt.Errorf("CNAME target: %w", err)
			}
			m.Answer = append(m.Answer, &dns.CNAME{Hdr: hdr, Target: a.data})
			owner = a.data
		}
	}
	if m.Rcode > 0xf {
		// An extended response code lives in the OPT record.
		m.SetEdns0(1232, false)
	}
	return nil
}

// parseQuestion reads "TYPE[ CLASS]? NAME" from toks[i]: tcpdump prints a
// class other than IN between the type and the question mark.
func parseQuestion(toks []string, i int) (question, int, error) {
	q := question{qclass: dns.ClassINET}
	if i >= len(toks) {
		return q, i, errors.New("a DNS question is missing")
	}
	typ := strings.TrimSuffix(toks[i], "?")
	t, ok := dnsType(typ)
	if !ok || typ == "" {
		return q, i, fmt.Errorf("DNS query type %q is not one tcpdump prints", cut(typ))
	}
	q.qtype = t
	for j := i; ; j++ {
		if j >= len(toks) || j > i+3 {
			return q, i, errors.New("a DNS question without its ?")
		}
		tok := toks[j]
		if j > i {
			if c, ok := dnsClasses[strings.TrimSuffix(tok, "?")]; ok {
				q.qclass = c
			} else if strings.HasPrefix(tok, "(Class") {
				// "(Class N)?": N follows.
			} else if n, rest, ok := leadingNumber(tok); ok && strings.HasPrefix(rest, ")") && n <= 0xffff {
				q.qclass = uint16(n)
			}
		}
		if strings.HasSuffix(tok, "?") {
			i = j + 1
			break
		}
	}
	if i >= len(toks) {
		return q, i, errors.New("a DNS question without its name")
	}
	name := strings.TrimSuffix(toks[i], ",")
	if err := checkName(name); err != nil {
		return q, i, err
	}
	q.name = name
	return q, i + 1, nil
}

// checkName refuses what tcpdump would not print as a DNS name: every name
// ends with a dot, and its labels and length are bounded.
func checkName(name string) error {
	if !strings.HasSuffix(name, ".") {
		return fmt.Errorf("DNS name %q does not end with a dot", cut(name))
	}
	if _, ok := dns.IsDomainName(name); !ok || strings.Contains(name, "..") && name != "." {
		return fmt.Errorf("%q is not a DNS name", cut(name))
	}
	return nil
}

// parseAnswers reads the answer records, up to the -vv sections "ns:" and
// "ar:": each "[OWNER.] [[TTL]] [CLASS] TYPE DATA", separated by commas.
// Records of types other than A, AAAA and CNAME are read past. short is true
// when the last record is only begun (", " or an owner, then the end):
// tcpdump prints so a record the capture cut.
func parseAnswers(toks []string) (out []answer, short bool, err error) {
	i := 0
	for i < len(toks) && toks[i] != "ns:" && toks[i] != "ar:" {
		a := answer{class: dns.ClassINET}
		if tok := toks[i]; strings.HasSuffix(tok, ".") {
			if err := checkName(tok); err != nil {
				return nil, false, err
			}
			a.owner = tok
			i++
			if i == len(toks) {
				return out, true, nil
			}
		}
		if i < len(toks) && strings.HasPrefix(toks[i], "[") && strings.HasSuffix(toks[i], "]") {
			ttl, err := parseTTL(toks[i][1 : len(toks[i])-1])
			if err != nil {
				return nil, false, err
			}
			a.ttl = ttl
			i++
		}
		for i+1 < len(toks) && isClassWord(toks, i) {
			if c, ok := dnsClasses[toks[i]]; ok {
				a.class = c
			} else {
				a.class = 0 // "(Class N)" or mDNS's "(Cache flush)": not IN either way
				for i < len(toks) && !strings.HasSuffix(toks[i], ")") {
					i++
				}
			}
			i++
		}
		if i >= len(toks) {
			return nil, false, errors.New("a DNS record without its type")
		}
		typ := toks[i]
		i++
		more := strings.HasSuffix(typ, ",") // a record with no data printed (SOA without -v)
		typ = strings.TrimSuffix(typ, ",")
		t, ok := dnsType(typ)
		if !ok {
			return nil, false, fmt.Errorf("DNS record type %q is not one tcpdump prints", cut(typ))
		}
		a.rtype = t
		switch {
		case more:
		case t == dns.TypeA || t == dns.TypeAAAA || t == dns.TypeCNAME:
			if i >= len(toks) {
				return nil, false, fmt.Errorf("a %s record without its data", typ)
			}
			a.data = toks[i]
			i++
			more = strings.HasSuffix(a.data, ",")
			a.data = strings.TrimSuffix(a.data, ",")
		default:
			// Other types are read past: their data ends at a comma
			// that a record follows.
			for i < len(toks) && toks[i] != "ns:" && toks[i] != "ar:" {
				tok := toks[i]
				i++
				if strings.HasSuffix(tok, ",") && i < len(toks) && recordStart(toks, i) {
					more = true
					break
				}
			}
		}
		if a.class == dns.ClassINET && (t == dns.TypeA || t == dns.TypeAAAA || t == dns.TypeCNAME) {
			out = append(out, a)
		}
		if !more {
			break
		}
		if i == len(toks) {
			return out, true, nil
		}
	}
	if i < len(toks) && toks[i] != "ns:" && toks[i] != "ar:" {
		return nil, false, fmt.Errorf("unexpected %q after the DNS answers", cut(toks[i]))
	}
	return out, false, nil
}

// recordStart reports whether toks[i] can begin a record: an owner (-v), a
// TTL, a class or a type.
func recordStart(toks []string, i int) bool {
	tok := toks[i]
	if strings.HasSuffix(tok, ".") || strings.HasPrefix(tok, "[") || isClassWord(toks, i) {
		return true
	}
	_, ok := dnsType(strings.TrimSuffix(tok, ","))
	return ok
}

// isClassWord reports whether toks[i] is a record's class, printed before
// its type when not IN ("ANY" is also a type: a class only before one).
func isClassWord(toks []string, i int) bool {
	tok := toks[i]
	switch {
	case tok == "CHAOS" || tok == "HS" || tok == "(Class" || tok == "(Cache":
		return true
	case tok == "ANY" && i+1 < len(toks):
		_, ok := dnsType(strings.TrimSuffix(toks[i+1], ","))
		return ok
	}
	return false
}

// dnsType reads a type as tcpdump names it: miekg/dns's names (tcpdump's
// are the same for every type that matters here) or "TypeN".
func dnsType(s string) (uint16, bool) {
	if t, ok := dns.StringToType[s]; ok {
		return t, true
	}
	if n, ok := strings.CutPrefix(s, "Type"); ok {
		v, err := strconv.ParseUint(n, 10, 16)
		return uint16(v), err == nil
	}
	// Names tcpdump spells its own way.
	switch s {
	case "NSAP_PTR":
		return dns.TypeNSAPPTR, true
	case "A6", "SINK", "APL", "NINFO", "RKEY", "TALINK", "ZONEMD", "RESINFO", "AVC", "DOA", "AMTRELAY", "MAILA", "MAILB", "LP", "TA", "DLV":
		return 0, true // read past
	}
	return 0, false
}

func dnsRcode(w string) (int, bool) {
	if rc, ok := dnsRcodes[w]; ok {
		return rc, true
	}
	if n, ok := strings.CutPrefix(w, "Resp"); ok {
		v, err := strconv.ParseUint(n, 10, 12)
		return int(v), err == nil
	}
	return 0, false
}

// dnsHeaderWord reports whether tok is an opcode or response code word
// after the ID (possibly with flag characters).
func dnsHeaderWord(tok string) bool {
	w := strings.TrimRight(tok, dnsQueryFlags+dnsResponseFlags)
	if _, ok := dnsOpcodes[w]; ok {
		return true
	}
	_, ok := dnsRcode(w)
	return ok
}

// skipBrackets skips bracketed notes ("[1au]", "[udp sum ok]") from
// toks[i], but not the [|domain] that marks a cut message.
func skipBrackets(toks []string, i int) int {
	for i < len(toks) && strings.HasPrefix(toks[i], "[") && toks[i] != "[|domain]" {
		for i < len(toks) && !strings.HasSuffix(toks[i], "]") {
			i++
		}
		i++
	}
	return i
}

// isCounts reports whether tok is a response's "an/ns/ar".
func isCounts(tok string) bool {
	for range 3 {
		n, rest, ok := leadingNumber(tok)
		if !ok || n > 0xffff {
			return false
		}
		if rest == "" {
			return true
		}
		if rest[0] != '/' {
			return false
		}
		tok = rest[1:]
	}
	return false
}

// isLengthToken reports whether tok is the "(N)" that ends a DNS message.
func isLengthToken(tok string) bool {
	if len(tok) < 3 || tok[0] != '(' || tok[len(tok)-1] != ')' {
		return false
	}
	_, rest, ok := leadingNumber(tok[1 : len(tok)-1])
	return ok && rest == ""
}

// parseTTL reads tcpdump's TTL notation (-vvv): "0s", "1m", "1h2m3s",
// with units y, w, d, h, m and s.
func parseTTL(s string) (uint32, error) {
	var total uint64
	rest := s
	for rest != "" {
		n, r, ok := leadingNumber(rest)
		if !ok || r == "" {
			return 0, fmt.Errorf("TTL [%s] is not one tcpdump prints", cut(s))
		}
		var unit uint64
		switch r[0] {
		case 'y':
			unit = 31536000
		case 'w':
			unit = 604800
		case 'd':
			unit = 86400
		case 'h':
			unit = 3600
		case 'm':
			unit = 60
		case 's':
			unit = 1
		default:
			return 0, fmt.Errorf("TTL [%s] is not one tcpdump prints", cut(s))
		}
		if n > 1<<32 {
			return 0, fmt.Errorf("TTL [%s] does not fit 32 bits", cut(s))
		}
		total += n * unit
		if total > 1<<32-1 {
			return 0, fmt.Errorf("TTL [%s] does not fit 32 bits", cut(s))
		}
		rest = r[1:]
	}
	if s == "" {
		return 0, errors.New("an empty TTL []")
	}
	return uint32(total), nil
}

// rememberQuery keeps a query's question for its response; when too many
// wait, those unanswered for a minute are forgotten, then any, down to
// three quarters of the cap (so that the next pass is a quarter of the cap
// of queries away: linear in all).
func (p *parser) rememberQuery(k queryKey, q question) {
	if len(p.queries) >= maxQueries {
		for key, old := range p.queries {
			if q.ts.Sub(old.ts) > queryIdle {
				delete(p.queries, key)
			}
		}
		for key := range p.queries {
			if len(p.queries) < maxQueries*3/4 {
				break
			}
			delete(p.queries, key)
		}
	}
	p.queries[k] = q
}
