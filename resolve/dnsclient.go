package resolve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/miekg/dns"
)

// Status is how a lookup ended, in the words of the JSON report.
type Status string

// The statuses of a lookup. NXDOMAIN and NODATA are answers (the name, or
// the record type, does not exist); SERVFAIL, REFUSED, a timeout and other
// errors mean the resolver did not say.
const (
	StatusAnswer   Status = "answer"   // NOERROR with address records
	StatusNoData   Status = "nodata"   // NOERROR, but no record of the type at the end of the chain
	StatusNXDomain Status = "nxdomain" // the name at the end of the chain does not exist
	StatusServFail Status = "servfail" // the resolver could not resolve it
	StatusRefused  Status = "refused"  // the resolver refused to answer
	StatusTimeout  Status = "timeout"  // no reply within the time allowed
	StatusError    Status = "error"    // an unreachable resolver, another rcode, a CNAME loop, a bad reply
)

// Failed reports whether s means the resolver did not answer the question.
func (s Status) Failed() bool {
	return s != StatusAnswer && s != StatusNoData && s != StatusNXDomain
}

// ErrTimeout is wrapped by the error of a lookup whose resolver never
// replied. A lookup that the caller's context ended (its deadline passed,
// or it was cancelled) before a reply came has StatusTimeout too, and its
// error also wraps the context's error (context.DeadlineExceeded,
// context.Canceled), so that callers can tell it from a resolver that let
// every try go unanswered.
var ErrTimeout = errors.New("no reply")

// cutError is the error of an exchange ended by the caller's context.
type cutError struct {
	msg   string
	cause error // the context's error
}

func (e *cutError) Error() string   { return e.msg }
func (e *cutError) Unwrap() []error { return []error{ErrTimeout, e.cause} }

// Address is an address record at the end of a CNAME chain.
type Address struct {
	Addr netip.Addr
	TTL  uint32
}

// Failure is a server that was asked before the one whose reply an Answer
// holds, and why it was passed over.
type Failure struct {
	Server Server
	Status Status
	Err    error
}

// Answer is the result of asking for one name and one type.
type Answer struct {
	Name      string // as asked, without the trailing dot
	Type      string // "A" or "AAAA"
	Server    Server // the server whose reply this is: the last one asked
	Transport string // "udp", or "tcp" when a UDP reply was truncated
	Truncated bool   // a UDP reply had the TC bit, so the query went again over TCP
	RCode     string // rcode of the last reply ("NOERROR", "NXDOMAIN", ...); "" when none came
	Status    Status
	Err       error         // for statuses other than answer and nodata: what went wrong, naming the server
	RTT       time.Duration // summed over the exchanges, follow-up queries included
	// Chain is Name followed by each CNAME target in order; the last name
	// holds the address records.
	Chain     []string
	Addresses []Address
	// FollowUps counts the queries made because a reply ended its chain
	// at a name without records of the type.
	FollowUps int
	Failed    []Failure // servers asked before Server, that did not answer
}

// Client asks DNS servers for A and AAAA records the way a careful stub
// resolver does: recursion desired, EDNS0 with a 1232-byte buffer, UDP
// first and TCP when the reply is truncated, each server tried Tries times
// before the next. The zero value is ready to use. Names are always asked
// as given, fully qualified: search domains are never applied.
type Client struct {
	Timeout time.Duration // per try; 2 s when zero
	Tries   int           // per server; 2 when zero
	UDPSize uint16        // EDNS0 buffer size; 1232 (the DNS flag day 2020 value) when zero
	// Types are the record types LookupAll asks for, "A" and/or "AAAA";
	// both when empty.
	Types []string
}

const (
	maxChain     = 16 // CNAMEs in one chain
	maxFollowUps = 8  // queries after the first, for one lookup
	parallel     = 8  // lookups in flight in one LookupAll, each one query at a time
)

func (c *Client) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return 2 * time.Second
}

func (c *Client) tries() int {
	if c.Tries > 0 {
		return c.Tries
	}
	return 2
}

func (c *Client) udpSize() uint16 {
	if c.UDPSize >= dns.MinMsgSize {
		return c.UDPSize
	}
	return 1232
}

// LookupAll asks for the records of c.Types (A and AAAA) of every name, a few
// lookups at a time (each with its follow-up queries and retries), started
// in the order name by name, in the order of the types, and returns the answers in that
// order whatever order they came in. When ctx ends, the lookups in flight
// stop at once and those not started are not sent: their answers say so
// (StatusTimeout, an error wrapping the context's).
func (c *Client) LookupAll(ctx context.Context, servers []Server, names []string) []*Answer {
	types := c.Types
	if len(types) == 0 {
		types = []string{"A", "AAAA"}
	}
	out := make([]*Answer, len(types)*len(names))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(parallel, len(out)) {
		wg.Go(func() {
			for i := range next {
				out[i] = c.Lookup(ctx, servers, names[i/len(types)], types[i%len(types)])
			}
		})
	}
	for i := range out {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// Lookup asks the servers, in order, for the qtype ("A" or "AAAA") records
// of name, following CNAME chains within a reply and by follow-up queries.
// The next server is asked only when one does not answer (SERVFAIL,
// REFUSED, no reply, an error), as the C library's stub resolver does.
func (c *Client) Lookup(ctx context.Context, servers []Server, name, qtype string) *Answer {
	name = strings.TrimSuffix(name, ".")
	a := &Answer{Name: name, Type: qtype}
	t, ok := dns.StringToType[qtype]
	if !ok || (t != dns.TypeA && t != dns.TypeAAAA) {
		a.Status, a.Err = StatusError, fmt.Errorf("dns: query type %q: want A or AAAA", qtype)
		return a
	}
	if _, ok := dns.IsDomainName(name); !ok || name == "" {
		a.Status, a.Err = StatusError, fmt.Errorf("dns: %q is not a domain name", name)
		return a
	}
	if len(servers) == 0 {
		a.Status, a.Err = StatusError, errors.New("dns: no server to ask")
		return a
	}
	var failed []Failure
	for i, s := range servers {
		*a = Answer{Name: name, Type: qtype, Server: s, Chain: []string{name}}
		c.lookupAt(ctx, s.Addr, a, t)
		// Once the caller's time is over the next server is not asked:
		// the answer keeps this one's reason.
		if !a.Status.Failed() || i == len(servers)-1 || over(ctx) {
			break
		}
		failed = append(failed, Failure{Server: s, Status: a.Status, Err: a.Err})
	}
	a.Failed = failed
	return a
}

// lookupAt fills a with what server says.
func (c *Client) lookupAt(ctx context.Context, server netip.AddrPort, a *Answer, qtype uint16) {
	current := a.Name
	for {
		r, err := c.exchange(ctx, server, current, qtype, a)
		if err != nil {
			a.Status, a.Err = StatusError, err
			if errors.Is(err, ErrTimeout) {
				a.Status = StatusTimeout
			}
			return
		}
		a.RCode = dns.RcodeToString[r.Rcode]
		if a.RCode == "" {
			a.RCode = fmt.Sprintf("RCODE%d", r.Rcode)
		}
		end, err := a.follow(r.Answer, qtype)
		if err != nil {
			a.Status, a.Err = StatusError, fmt.Errorf("dns: resolver %s: %w", server, err)
			return
		}
		switch r.Rcode {
		case dns.RcodeSuccess:
		case dns.RcodeNameError:
			a.Status = StatusNXDomain
			return
		case dns.RcodeServerFailure:
			a.Status, a.Err = StatusServFail, fmt.Errorf("dns: resolver %s answered SERVFAIL for %s %s", server, current, a.Type)
			return
		case dns.RcodeRefused:
			a.Status, a.Err = StatusRefused, fmt.Errorf("dns: resolver %s answered REFUSED for %s %s", server, current, a.Type)
			return
		default:
			a.Status, a.Err = StatusError, fmt.Errorf("dns: resolver %s answered %s for %s %s", server, a.RCode, current, a.Type)
			return
		}
		switch {
		case len(a.Addresses) > 0:
			a.Status = StatusAnswer
			return
		case end == current:
			a.Status = StatusNoData
			return
		case a.FollowUps == maxFollowUps:
			a.Status, a.Err = StatusError, fmt.Errorf("dns: resolver %s: the CNAME chain of %s still had no %s record after %d follow-up queries", server, a.Name, a.Type, maxFollowUps)
			return
		}
		// The reply ended its chain at a name without the records
		// (an authoritative server, or a forwarder that does not chase
		// CNAMEs): ask for that name.
		current = end
	}
}

// follow extends a's chain with the CNAMEs of rrs, starting at its last
// name, and takes the address records of the type owned by the name it
// ends at. Records of other names are ignored: a reply cannot vouch for
// names the question did not lead to.
func (a *Answer) follow(rrs []dns.RR, qtype uint16) (string, error) {
	name := a.Chain[len(a.Chain)-1]
	for {
		var target string
		for _, rr := range rrs {
			if cn, ok := rr.(*dns.CNAME); ok && strings.EqualFold(strings.TrimSuffix(cn.Hdr.Name, "."), name) {
				target = strings.TrimSuffix(cn.Target, ".")
				break
			}
		}
		if target == "" {
			break
		}
		for _, n := range a.Chain {
			if strings.EqualFold(n, target) {
				return "", fmt.Errorf("CNAME loop: %s -> %s", strings.Join(a.Chain, " -> "), target)
			}
		}
		if len(a.Chain) > maxChain {
			return "", fmt.Errorf("CNAME chain of %s longer than %d names", a.Name, maxChain)
		}
		a.Chain = append(a.Chain, target)
		name = target
	}
	for _, rr := range rrs {
		if !strings.EqualFold(strings.TrimSuffix(rr.Header().Name, "."), name) {
			continue
		}
		var ip net.IP
		switch v := rr.(type) {
		case *dns.A:
			if qtype == dns.TypeA {
				ip = v.A
			}
		case *dns.AAAA:
			if qtype == dns.TypeAAAA {
				ip = v.AAAA
			}
		}
		if addr, ok := netip.AddrFromSlice(ip); ok {
			a.Addresses = append(a.Addresses, Address{Addr: addr.Unmap(), TTL: rr.Header().Ttl})
		}
	}
	return name, nil
}

// exchange asks server one question: over UDP, Tries times if no reply
// comes, then over TCP when the reply is truncated. It records the
// transport and the time spent in a.
func (c *Client) exchange(ctx context.Context, server netip.AddrPort, name string, qtype uint16, a *Answer) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = true
	m.SetEdns0(c.udpSize(), false)
	addr := server.String()
	followUp := !strings.EqualFold(name, a.Name)
	var last error
	made := 0
	for try := 0; try < c.tries() && !over(ctx); try++ {
		made++
		if followUp && try == 0 {
			a.FollowUps++
		}
		m.Id = dns.Id()
		r, rtt, err := ask(ctx, &dns.Client{Net: "udp", Timeout: c.timeout(), UDPSize: c.udpSize()}, m, addr)
		a.RTT += rtt
		a.Transport = "udp"
		if err == nil && r.Truncated {
			a.Truncated, a.Transport = true, "tcp"
			r, rtt, err = ask(ctx, &dns.Client{Net: "tcp", Timeout: c.timeout()}, m, addr)
			a.RTT += rtt
			if err != nil {
				err = fmt.Errorf("the UDP reply was truncated, and over TCP: %w", err)
			}
		}
		if err != nil {
			last = err
			continue
		}
		if len(r.Question) > 0 && (r.Question[0].Qtype != qtype || !strings.EqualFold(r.Question[0].Name, m.Question[0].Name)) {
			return nil, fmt.Errorf("dns: resolver %s replied about %s %s to a question about %s %s",
				server, r.Question[0].Name, dns.TypeToString[r.Question[0].Qtype], name, a.Type)
		}
		return r, nil
	}
	// A follow-up query is named: the chain so far came in time.
	query, to := "the query", ""
	if followUp {
		query = "the follow-up query for " + name
		to = " to " + query
	}
	tries := "1 try"
	if made != 1 {
		tries = fmt.Sprintf("%d tries", made)
	}
	var ne net.Error
	timedOut := errors.As(last, &ne) && ne.Timeout() || errors.Is(last, context.DeadlineExceeded)
	if over(ctx) && (last == nil || timedOut || errors.Is(last, net.ErrClosed) || errors.Is(last, context.Canceled)) {
		// The caller's time ran out, not the tries.
		cause, limit := ctx.Err(), "the command's time limit"
		if cause == nil {
			cause = context.DeadlineExceeded
		} else if errors.Is(cause, context.Canceled) {
			limit = "the command was interrupted"
		}
		if made == 0 {
			return nil, &cutError{fmt.Sprintf("dns: resolver %s: %s was not sent before %s", server, query, limit), cause}
		}
		return nil, &cutError{fmt.Sprintf("dns: resolver %s: %v%s in %s before %s", server, ErrTimeout, to, tries, limit), cause}
	}
	if timedOut {
		return nil, fmt.Errorf("dns: resolver %s: %w%s in %s of %v", server, ErrTimeout, to, tries, c.timeout())
	}
	if errors.Is(last, syscall.ECONNREFUSED) {
		// The port answered with ICMP: the host is there, the server not.
		return nil, fmt.Errorf("dns: resolver %s: connection refused (no DNS server on that port)", server)
	}
	return nil, fmt.Errorf("dns: resolver %s: %w", server, last)
}

// over reports whether the caller's time is over. The context's deadline
// can pass a moment before ctx.Err says so: the network deadline taken
// from it fires first.
func over(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ctx.Err() != nil || ok && !time.Now().Before(dl)
}

// ask makes one exchange on a connection of its own. miekg/dns obeys the
// context's deadline but not its cancellation; closing the connection when
// ctx ends makes an interrupted command stop waiting at once too.
func ask(ctx context.Context, dc *dns.Client, m *dns.Msg, addr string) (*dns.Msg, time.Duration, error) {
	conn, err := dc.DialContext(ctx, addr)
	if err != nil {
		return nil, 0, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	return dc.ExchangeWithConnContext(ctx, m, conn)
}
