package resolve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/vpce-verify/vpce-verify/internal/lab"
)

// zone is a small DNS server's data and behaviour: it answers like a
// recursive resolver (chasing CNAMEs it holds) unless told otherwise.
type zone struct {
	rrs      map[string][]dns.RR // by lowercase FQDN
	noChase  map[string]bool     // answer only the CNAME of these names
	rcode    map[string]int      // fixed rcode for these names
	allRcode int                 // when non-zero, the rcode of every reply
	dropOnce map[string]bool     // drop the first UDP query for these names

	mu      sync.Mutex
	queries []seenQuery
	dropped map[string]bool
}

type seenQuery struct {
	name, qtype, net string
	rd               bool
	udpSize          uint16 // 0: no EDNS0
}

func newZone(t testing.TB, records ...string) *zone {
	t.Helper()
	z := &zone{rrs: map[string][]dns.RR{}, noChase: map[string]bool{}, rcode: map[string]int{}, dropOnce: map[string]bool{}, dropped: map[string]bool{}}
	for _, s := range records {
		rr, err := dns.NewRR(s)
		if err != nil {
			t.Fatalf("zone record %q: %v", s, err)
		}
		name := strings.ToLower(rr.Header().Name)
		z.rrs[name] = append(z.rrs[name], rr)
	}
	return z
}

func (z *zone) seen() []seenQuery {
	z.mu.Lock()
	defer z.mu.Unlock()
	return slices.Clone(z.queries)
}

func (z *zone) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	q := r.Question[0]
	name := strings.ToLower(q.Name)
	_, udp := w.RemoteAddr().(*net.UDPAddr)
	sq := seenQuery{name: q.Name, qtype: dns.TypeToString[q.Qtype], net: "tcp", rd: r.RecursionDesired}
	if udp {
		sq.net = "udp"
	}
	if o := r.IsEdns0(); o != nil {
		sq.udpSize = o.UDPSize()
	}
	z.mu.Lock()
	z.queries = append(z.queries, sq)
	drop := udp && z.dropOnce[name] && !z.dropped[name]
	if drop {
		z.dropped[name] = true
	}
	z.mu.Unlock()
	if drop {
		return
	}

	m := new(dns.Msg)
	m.SetReply(r)
	m.RecursionAvailable = true
	switch rc, ok := z.rcode[name]; {
	case z.allRcode != 0:
		m.Rcode = z.allRcode
	case ok:
		m.Rcode = rc
	default:
		cur := name
		for range 20 {
			rrs, exists := z.rrs[cur]
			if !exists {
				m.Rcode = dns.RcodeNameError
				break
			}
			next := ""
			for _, rr := range rrs {
				switch {
				case rr.Header().Rrtype == dns.TypeCNAME:
					m.Answer = append(m.Answer, rr)
					next = strings.ToLower(rr.(*dns.CNAME).Target)
				case rr.Header().Rrtype == q.Qtype:
					m.Answer = append(m.Answer, rr)
				}
			}
			if next == "" || z.noChase[cur] {
				break
			}
			cur = next
		}
		if name == "inject.example." {
			// An answer about a name the question did not lead to.
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: "other.example.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(6, 6, 6, 6)})
		}
	}
	if udp {
		size := dns.MinMsgSize
		if o := r.IsEdns0(); o != nil {
			size = int(o.UDPSize())
		}
		m.Truncate(size) // dns.Server does not; a real server must
	}
	w.WriteMsg(m)
}

// startServer runs h on 127.0.0.1, UDP and TCP on the same random port.
func startServer(t *testing.T, h dns.Handler) netip.AddrPort {
	t.Helper()
	addr, stop, err := lab.ServeDNS("127.0.0.1:0", h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return addr
}

// startBlackHole runs a UDP socket that reads queries and never answers.
func startBlackHole(t *testing.T) netip.AddrPort {
	t.Helper()
	addr, stop, err := lab.BlackHole("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return addr
}

// s3Zone holds the answers a host would get: the regional name on the
// interface endpoint, a bucket name on public S3, CNAME chains, a name too
// large for UDP, and names that fail in every way.
func s3Zone(t testing.TB) *zone {
	z := newZone(t,
		"s3.ap-south-1.amazonaws.com. 60 IN A 10.0.2.50",
		"s3.ap-south-1.amazonaws.com. 60 IN AAAA fd00:10:0:2::50",
		"my-bucket.s3.ap-south-1.amazonaws.com. 300 IN CNAME s3-r-w.ap-south-1.amazonaws.com.",
		"s3-r-w.ap-south-1.amazonaws.com. 5 IN A 52.219.64.10",
		"s3-r-w.ap-south-1.amazonaws.com. 5 IN AAAA 2406:da60:a000::10",
		"chain.example. 30 IN CNAME mid.example.",
		"mid.example. 30 IN CNAME s3.ap-south-1.amazonaws.com.",
		"followup.example. 30 IN CNAME target.example.",
		"target.example. 40 IN A 10.0.2.51",
		"nodata.example. 30 IN TXT \"no addresses here\"",
		"loop1.example. 30 IN CNAME loop2.example.",
		"loop2.example. 30 IN CNAME loop1.example.",
		"retry.example. 30 IN A 10.0.2.52",
		"inject.example. 30 IN A 10.0.2.53",
	)
	for i := range 100 {
		rr, _ := dns.NewRR(fmt.Sprintf("many.example. 30 IN A 10.1.0.%d", i+1))
		z.rrs["many.example."] = append(z.rrs["many.example."], rr)
	}
	z.noChase["followup.example."] = true
	z.rcode["servfail.example."] = dns.RcodeServerFailure
	z.rcode["refused.example."] = dns.RcodeRefused
	z.rcode["notimp.example."] = dns.RcodeNotImplemented
	z.dropOnce["retry.example."] = true
	return z
}

func answerAddrs(a *Answer) []string {
	var out []string
	for _, x := range a.Addresses {
		out = append(out, x.Addr.String())
	}
	return out
}

func TestDNSLookup(t *testing.T) {
	z := s3Zone(t)
	srv := []Server{{Addr: startServer(t, z), Source: "test"}}
	c := &Client{Timeout: 300 * time.Millisecond}
	tests := []struct {
		name, qtype string
		status      Status
		rcode       string
		chain       []string
		addrs       []string
		ttl         uint32
		transport   string
		followUps   int
		err         string
	}{
		{"s3.ap-south-1.amazonaws.com", "A", StatusAnswer, "NOERROR", []string{"s3.ap-south-1.amazonaws.com"}, []string{"10.0.2.50"}, 60, "udp", 0, ""},
		{"s3.ap-south-1.amazonaws.com.", "AAAA", StatusAnswer, "NOERROR", []string{"s3.ap-south-1.amazonaws.com"}, []string{"fd00:10:0:2::50"}, 60, "udp", 0, ""},
		{"my-bucket.s3.ap-south-1.amazonaws.com", "A", StatusAnswer, "NOERROR",
			[]string{"my-bucket.s3.ap-south-1.amazonaws.com", "s3-r-w.ap-south-1.amazonaws.com"}, []string{"52.219.64.10"}, 5, "udp", 0, ""},
		{"chain.example", "A", StatusAnswer, "NOERROR",
			[]string{"chain.example", "mid.example", "s3.ap-south-1.amazonaws.com"}, []string{"10.0.2.50"}, 60, "udp", 0, ""},
		{"followup.example", "A", StatusAnswer, "NOERROR", []string{"followup.example", "target.example"}, []string{"10.0.2.51"}, 40, "udp", 1, ""},
		{"retry.example", "A", StatusAnswer, "NOERROR", []string{"retry.example"}, []string{"10.0.2.52"}, 30, "udp", 0, ""},
		{"inject.example", "A", StatusAnswer, "NOERROR", []string{"inject.example"}, []string{"10.0.2.53"}, 30, "udp", 0, ""},
		{"nodata.example", "A", StatusNoData, "NOERROR", []string{"nodata.example"}, nil, 0, "udp", 0, ""},
		{"followup.example", "AAAA", StatusNoData, "NOERROR", []string{"followup.example", "target.example"}, nil, 0, "udp", 1, ""},
		{"nosuch.example", "A", StatusNXDomain, "NXDOMAIN", []string{"nosuch.example"}, nil, 0, "udp", 0, ""},
		{"servfail.example", "A", StatusServFail, "SERVFAIL", []string{"servfail.example"}, nil, 0, "udp", 0, "answered SERVFAIL for servfail.example A"},
		{"refused.example", "A", StatusRefused, "REFUSED", []string{"refused.example"}, nil, 0, "udp", 0, "answered REFUSED"},
		{"notimp.example", "A", StatusError, "NOTIMP", []string{"notimp.example"}, nil, 0, "udp", 0, "answered NOTIMP"},
		{"loop1.example", "A", StatusError, "NOERROR", nil, nil, 0, "udp", 0, "CNAME loop: loop1.example -> loop2.example -> loop1.example"},
		{"bad..name", "A", StatusError, "", nil, nil, 0, "", 0, "not a domain name"},
		{"s3.ap-south-1.amazonaws.com", "MX", StatusError, "", nil, nil, 0, "", 0, "want A or AAAA"},
	}
	for _, tc := range tests {
		t.Run(tc.name+"/"+tc.qtype, func(t *testing.T) {
			a := c.Lookup(context.Background(), srv, tc.name, tc.qtype)
			if a.Status != tc.status || a.RCode != tc.rcode || a.Transport != tc.transport || a.FollowUps != tc.followUps {
				t.Errorf("status %s rcode %q transport %q follow-ups %d (err %v); want %s %q %q %d",
					a.Status, a.RCode, a.Transport, a.FollowUps, a.Err, tc.status, tc.rcode, tc.transport, tc.followUps)
			}
			if tc.chain != nil && !slices.Equal(a.Chain, tc.chain) {
				t.Errorf("chain %v, want %v", a.Chain, tc.chain)
			}
			if !slices.Equal(answerAddrs(a), tc.addrs) {
				t.Errorf("addresses %v, want %v", answerAddrs(a), tc.addrs)
			}
			if len(a.Addresses) > 0 && a.Addresses[0].TTL != tc.ttl {
				t.Errorf("TTL %d, want %d", a.Addresses[0].TTL, tc.ttl)
			}
			if tc.err == "" && a.Err != nil || tc.err != "" && (a.Err == nil || !strings.Contains(a.Err.Error(), tc.err)) {
				t.Errorf("err %v, want one saying %q", a.Err, tc.err)
			}
			if a.Status.Failed() != (tc.status == StatusServFail || tc.status == StatusRefused || tc.status == StatusError) {
				t.Errorf("Failed() = %v for %s", a.Status.Failed(), a.Status)
			}
		})
	}
	// What went on the wire: recursion desired, EDNS0 with 1232 bytes,
	// and the names exactly as given (no search domain appended); the
	// query whose first packet was lost went twice.
	retries := 0
	for _, q := range z.seen() {
		if q.name == "retry.example." {
			retries++
		}
		if !q.rd || q.udpSize != 1232 {
			t.Errorf("query %+v: want RD and an EDNS0 buffer of 1232", q)
		}
		if !strings.HasSuffix(q.name, ".example.") && !strings.HasSuffix(q.name, ".amazonaws.com.") {
			t.Errorf("query for %q: a name nobody asked for", q.name)
		}
	}
	if retries != 2 {
		t.Errorf("retry.example asked %d times, want 2 (the first was dropped)", retries)
	}
}

func TestLookupTruncatedRetriesOverTCP(t *testing.T) {
	z := s3Zone(t)
	srv := []Server{{Addr: startServer(t, z)}}
	a := (&Client{}).Lookup(context.Background(), srv, "many.example", "A")
	if a.Status != StatusAnswer || !a.Truncated || a.Transport != "tcp" || len(a.Addresses) != 100 {
		t.Fatalf("status %s truncated %v transport %s, %d addresses (err %v); want all 100 over TCP", a.Status, a.Truncated, a.Transport, len(a.Addresses), a.Err)
	}
	var nets []string
	for _, q := range z.seen() {
		nets = append(nets, q.net)
	}
	if !slices.Equal(nets, []string{"udp", "tcp"}) {
		t.Errorf("transports on the wire %v, want udp then tcp", nets)
	}
}

func TestLookupTimeout(t *testing.T) {
	hole := startBlackHole(t)
	c := &Client{Timeout: 150 * time.Millisecond, Tries: 2}
	start := time.Now()
	a := c.Lookup(context.Background(), []Server{{Addr: hole}}, "s3.ap-south-1.amazonaws.com", "A")
	took := time.Since(start)
	if a.Status != StatusTimeout || !errors.Is(a.Err, ErrTimeout) || a.RCode != "" {
		t.Fatalf("status %s rcode %q err %v; want a timeout", a.Status, a.RCode, a.Err)
	}
	want := fmt.Sprintf("dns: resolver %s: no reply in 2 tries of 150ms", hole)
	if a.Err.Error() != want {
		t.Errorf("error %q, want %q", a.Err, want)
	}
	if took < 300*time.Millisecond || took > 3*time.Second {
		t.Errorf("took %v; want two tries of 150ms", took)
	}
}

// When the caller's deadline ends the lookup before the tries are spent,
// the error says so rather than claiming every try timed out.
func TestLookupCallerDeadline(t *testing.T) {
	hole := startBlackHole(t)
	c := &Client{Timeout: time.Second, Tries: 3}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	a := c.Lookup(ctx, []Server{{Addr: hole}}, "s3.ap-south-1.amazonaws.com", "A")
	want := fmt.Sprintf("dns: resolver %s: no reply in 1 try before the command's time limit", hole)
	if a.Status != StatusTimeout || !errors.Is(a.Err, ErrTimeout) || a.Err.Error() != want {
		t.Errorf("status %s err %v; want a timeout, %q", a.Status, a.Err, want)
	}
}

func TestLookupConnectionRefused(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	pc.Close()
	a := (&Client{Timeout: time.Second, Tries: 1}).Lookup(context.Background(), []Server{{Addr: closed}}, "s3.ap-south-1.amazonaws.com", "A")
	want := fmt.Sprintf("dns: resolver %s: connection refused (no DNS server on that port)", closed)
	if a.Status != StatusError || a.Err == nil || a.Err.Error() != want {
		t.Errorf("status %s, err %v; want %q", a.Status, a.Err, want)
	}
}

func TestLookupFailover(t *testing.T) {
	hole := startBlackHole(t)
	broken := newZone(t)
	broken.allRcode = dns.RcodeServerFailure
	bad := startServer(t, broken)
	good := startServer(t, s3Zone(t))
	c := &Client{Timeout: 100 * time.Millisecond, Tries: 1}
	tests := []struct {
		name    string
		servers []Server
		status  Status
		from    netip.AddrPort
		failed  []Status
	}{
		{"no reply, then an answer", []Server{{Addr: hole}, {Addr: good}}, StatusAnswer, good, []Status{StatusTimeout}},
		{"SERVFAIL, then an answer", []Server{{Addr: bad}, {Addr: good}}, StatusAnswer, good, []Status{StatusServFail}},
		{"an answer stops the search", []Server{{Addr: good}, {Addr: hole}}, StatusAnswer, good, nil},
		{"NXDOMAIN is an answer too", []Server{{Addr: good}, {Addr: bad}}, StatusNXDomain, good, nil},
		{"all fail: the last one's reply", []Server{{Addr: hole}, {Addr: bad}}, StatusServFail, bad, []Status{StatusTimeout}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := "s3.ap-south-1.amazonaws.com"
			if tc.status == StatusNXDomain {
				name = "nosuch.example"
			}
			a := c.Lookup(context.Background(), tc.servers, name, "A")
			var failed []Status
			for _, f := range a.Failed {
				failed = append(failed, f.Status)
				if f.Err == nil || !strings.Contains(f.Err.Error(), f.Server.Addr.String()) {
					t.Errorf("failure %+v does not name its server", f)
				}
			}
			if a.Status != tc.status || a.Server.Addr != tc.from || !slices.Equal(failed, tc.failed) {
				t.Errorf("status %s from %v, failed %v; want %s from %v, failed %v", a.Status, a.Server.Addr, failed, tc.status, tc.from, tc.failed)
			}
		})
	}
}

func TestLookupAll(t *testing.T) {
	srv := []Server{{Addr: startServer(t, s3Zone(t))}}
	names := []string{"s3.ap-south-1.amazonaws.com", "my-bucket.s3.ap-south-1.amazonaws.com", "nosuch.example"}
	got := (&Client{}).LookupAll(context.Background(), srv, names)
	want := []struct {
		name, qtype string
		status      Status
	}{
		{names[0], "A", StatusAnswer}, {names[0], "AAAA", StatusAnswer},
		{names[1], "A", StatusAnswer}, {names[1], "AAAA", StatusAnswer},
		{names[2], "A", StatusNXDomain}, {names[2], "AAAA", StatusNXDomain},
	}
	if len(got) != len(want) {
		t.Fatalf("%d answers, want %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i].Name != w.name || got[i].Type != w.qtype || got[i].Status != w.status {
			t.Errorf("answer %d: %s %s %s, want %s %s %s", i, got[i].Name, got[i].Type, got[i].Status, w.name, w.qtype, w.status)
		}
	}
}

// slowServer makes zone answer late: each query waits delay(name) (the
// name asked, lowercase, fully qualified) before the reply. It records the
// order the replies went in and the most queries it held at once. Closing
// release (when not nil) ends every wait at once.
type slowServer struct {
	z       *zone
	delay   func(name string) time.Duration
	release chan struct{}

	mu       sync.Mutex
	inFlight int
	most     int
	replied  []string // "name qtype", in the order the replies were sent
}

func (s *slowServer) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	q := r.Question[0]
	s.mu.Lock()
	s.inFlight++
	s.most = max(s.most, s.inFlight)
	s.mu.Unlock()
	select {
	case <-time.After(s.delay(strings.ToLower(q.Name))):
	case <-s.release:
	}
	s.mu.Lock()
	s.inFlight--
	s.replied = append(s.replied, strings.TrimSuffix(q.Name, ".")+" "+dns.TypeToString[q.Qtype])
	s.mu.Unlock()
	s.z.ServeDNS(w, r)
}

// bucketZone holds n bucket names whose CNAME the resolver does not chase
// (as an authoritative server or a plain forwarder answers), so that each
// lookup takes a follow-up query for edge-I.example.
func bucketZone(t *testing.T, n int) (*zone, []string) {
	z := newZone(t)
	var names []string
	for i := range n {
		name := fmt.Sprintf("b%d.s3.ap-south-1.amazonaws.com", i)
		for _, rec := range []string{
			fmt.Sprintf("%s. 60 IN CNAME edge-%d.example.", name, i),
			fmt.Sprintf("edge-%d.example. 5 IN A 52.219.64.%d", i, i+1),
		} {
			rr, err := dns.NewRR(rec)
			if err != nil {
				t.Fatal(err)
			}
			z.rrs[strings.ToLower(rr.Header().Name)] = append(z.rrs[strings.ToLower(rr.Header().Name)], rr)
		}
		z.noChase[name+"."] = true
		names = append(names, name)
	}
	return z, names
}

// The answers come back in the order the names were given, whatever order
// the replies arrive in.
func TestLookupAllOrder(t *testing.T) {
	z, names := bucketZone(t, 12)
	slow := &slowServer{z: z, delay: func(name string) time.Duration {
		// Later names are answered sooner.
		var i int
		fmt.Sscanf(strings.TrimPrefix(strings.TrimPrefix(name, "b"), "edge-"), "%d", &i)
		return time.Duration(len(names)-i) * 15 * time.Millisecond
	}}
	srv := []Server{{Addr: startServer(t, slow)}}
	got := (&Client{Timeout: 5 * time.Second}).LookupAll(context.Background(), srv, names)
	if len(got) != 2*len(names) {
		t.Fatalf("%d answers, want %d", len(got), 2*len(names))
	}
	var given []string
	for i, a := range got {
		name, qtype := names[i/2], []string{"A", "AAAA"}[i%2]
		given = append(given, name+" "+qtype)
		want := Status(StatusNoData)
		if qtype == "A" {
			want = StatusAnswer
		}
		if a.Name != name || a.Type != qtype || a.Status != want || a.FollowUps != 1 {
			t.Errorf("answer %d: %s %s %s (%d follow-ups, err %v), want %s %s %s after 1 follow-up", i, a.Name, a.Type, a.Status, a.FollowUps, a.Err, name, qtype, want)
		}
		if qtype == "A" && !slices.Equal(answerAddrs(a), []string{fmt.Sprintf("52.219.64.%d", i/2+1)}) {
			t.Errorf("%s A: addresses %v", name, answerAddrs(a))
		}
	}
	// The test means something only if the replies did come out of order.
	var firstReplies []string
	slow.mu.Lock()
	for _, r := range slow.replied {
		if strings.HasPrefix(r, "b") {
			firstReplies = append(firstReplies, r)
		}
	}
	slow.mu.Unlock()
	if slices.Equal(firstReplies, given) {
		t.Errorf("the server replied in the order asked %v: the test shows nothing", firstReplies)
	}
}

// LookupAll keeps a bounded number of queries in flight, follow-up queries
// included, and still asks more than one at a time.
func TestLookupAllBound(t *testing.T) {
	z, names := bucketZone(t, 24)
	slow := &slowServer{z: z, delay: func(string) time.Duration { return 40 * time.Millisecond }}
	srv := []Server{{Addr: startServer(t, slow)}}
	got := (&Client{Timeout: 5 * time.Second}).LookupAll(context.Background(), srv, names)
	for i, a := range got {
		if a.Status.Failed() || a.FollowUps != 1 {
			t.Errorf("answer %d: %s %s %s, %d follow-ups (%v)", i, a.Name, a.Type, a.Status, a.FollowUps, a.Err)
		}
	}
	slow.mu.Lock()
	most, n := slow.most, len(slow.replied)
	slow.mu.Unlock()
	if most > parallel || most < 2 {
		t.Errorf("the server held up to %d queries at once, want 2 to %d", most, parallel)
	}
	if n != 4*len(names) {
		t.Errorf("%d queries, want %d (a first and a follow-up query per name and type)", n, 4*len(names))
	}
}

// When the caller's deadline passes, LookupAll returns at once: the
// lookups in flight say their query got no reply before the time limit,
// the others that their query was never sent; all are timeouts that wrap
// the context's error.
func TestLookupAllDeadline(t *testing.T) {
	z, names := bucketZone(t, 20)
	slow := &slowServer{z: z, release: make(chan struct{}), delay: func(name string) time.Duration {
		if strings.HasPrefix(name, "edge-") {
			return 30 * time.Second // the follow-up is answered too late
		}
		return 0
	}}
	srv := []Server{{Addr: startServer(t, slow)}}
	defer close(slow.release) // before the server is stopped
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	got := (&Client{Timeout: 20 * time.Second, Tries: 2}).LookupAll(ctx, srv, names)
	if took := time.Since(start); took > 6*time.Second {
		t.Errorf("took %v after a 1s deadline", took)
	}
	for i, a := range got {
		if a.Status != StatusTimeout || !errors.Is(a.Err, ErrTimeout) || !errors.Is(a.Err, context.DeadlineExceeded) || a.Name != names[i/2] {
			t.Errorf("answer %d: %s %s %s (%v); want a timeout cut by the deadline", i, a.Name, a.Type, a.Status, a.Err)
		}
	}
	// The first lookups had their first reply and were waiting for the
	// follow-up; the last one never started.
	first, last := got[0], got[len(got)-1]
	want := fmt.Sprintf("dns: resolver %s: no reply to the follow-up query for edge-0.example in 1 try before the command's time limit", srv[0].Addr)
	if first.Err == nil || first.Err.Error() != want || !slices.Equal(first.Chain, []string{names[0], "edge-0.example"}) || first.FollowUps != 1 {
		t.Errorf("first: %v, chain %v, %d follow-ups; want %q", first.Err, first.Chain, first.FollowUps, want)
	}
	want = fmt.Sprintf("dns: resolver %s: the query was not sent before the command's time limit", srv[0].Addr)
	if last.Err == nil || last.Err.Error() != want || last.Transport != "" {
		t.Errorf("last: %v (transport %q); want %q", last.Err, last.Transport, want)
	}
}

// An interrupted lookup (the context cancelled, as by Ctrl-C) stops
// waiting at once, although miekg/dns would wait for its own timeout.
func TestLookupInterrupted(t *testing.T) {
	hole := startBlackHole(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	a := (&Client{Timeout: 20 * time.Second, Tries: 1}).Lookup(ctx, []Server{{Addr: hole}}, "s3.ap-south-1.amazonaws.com", "A")
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("took %v; the cancel came after 200ms", took)
	}
	want := fmt.Sprintf("dns: resolver %s: no reply in 1 try before the command was interrupted", hole)
	if a.Status != StatusTimeout || !errors.Is(a.Err, context.Canceled) || a.Err.Error() != want {
		t.Errorf("status %s, err %v; want a timeout, %q", a.Status, a.Err, want)
	}
}

// FuzzFollow feeds arbitrary replies to the chain walk: whatever a
// resolver sends, the chain stays bounded and only valid addresses of the
// type asked come out.
func FuzzFollow(f *testing.F) {
	z := s3Zone(f)
	for _, name := range []string{"chain.example.", "loop1.example.", "many.example.", "inject.example."} {
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeA)
		r := new(dns.Msg)
		r.SetReply(m)
		for cur := name; cur != ""; {
			next := ""
			for _, rr := range z.rrs[cur] {
				r.Answer = append(r.Answer, rr)
				if cn, ok := rr.(*dns.CNAME); ok && len(r.Answer) < 10 {
					next = cn.Target
				}
			}
			cur = next
		}
		b, err := r.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, true)
	}
	f.Fuzz(func(t *testing.T, data []byte, v4 bool) {
		m := new(dns.Msg)
		if m.Unpack(data) != nil || len(m.Question) == 0 {
			return
		}
		qtype := dns.TypeAAAA
		if v4 {
			qtype = dns.TypeA
		}
		a := &Answer{Name: strings.TrimSuffix(m.Question[0].Name, "."), Chain: []string{strings.TrimSuffix(m.Question[0].Name, ".")}}
		end, err := a.follow(m.Answer, qtype)
		if len(a.Chain) > maxChain+1 {
			t.Fatalf("chain of %d names", len(a.Chain))
		}
		if err == nil && end != a.Chain[len(a.Chain)-1] {
			t.Fatalf("ended at %q, chain %v", end, a.Chain)
		}
		for _, x := range a.Addresses {
			if !x.Addr.IsValid() || x.Addr.Is4() != v4 {
				t.Fatalf("address %v for qtype %d", x.Addr, qtype)
			}
		}
	})
}
