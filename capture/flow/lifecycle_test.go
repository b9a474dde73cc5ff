package flow

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/miekg/dns"
)

// finished collects what an Analyzer finishes, as a report would.
type finished struct {
	flows []string // client, state, history, packets
	dns   []string // qname, responses
}

func (fin *finished) options(o Options) Options {
	o.OnFlow = func(f *Flow) {
		fin.flows = append(fin.flows, fmt.Sprintf("%s %s %s %v %q", f.Client, f.ConnState(), f.History(), f.Packets(), f.DNSNames))
	}
	o.OnDNS = func(tx *DNSTransaction) {
		fin.dns = append(fin.dns, fmt.Sprintf("%s %d", tx.QName, tx.Responses))
	}
	return o
}

// wait moves the builder's clock on.
func (b *frameBuilder) wait(d time.Duration) { b.ts = b.ts.Add(d) }

// Connections are finished as the capture's clock passes their timeouts,
// in Zeek's way: 5 minutes without a packet, 5 seconds after the close.
func TestFlowFinishRules(t *testing.T) {
	data := make([]byte, 100)
	t.Run("idle timeout", func(t *testing.T) {
		b := newBuilder(t, layers.LinkTypeEthernet)
		c := b.conv("10.0.1.25:43528", "52.219.64.10:443")
		c.handshake()
		c.send(true, "PA", data)
		b.wait(4 * time.Minute) // still the same connection
		c.send(false, "PA", data)
		b.wait(5*time.Minute + time.Second)
		c.send(true, "PA", data) // a new connection, seen midstream
		var fin finished
		a := b.analyzer(fin.options(Options{}))
		want := []string{`10.0.1.25:43528 S1 ShADd [3 2] []`}
		if !slices.Equal(fin.flows, want) {
			t.Errorf("finished %q, want %q", fin.flows, want)
		}
		a.Finish()
		want = append(want, `10.0.1.25:43528 OTH D [1 0] []`)
		if !slices.Equal(fin.flows, want) {
			t.Errorf("after Finish %q, want %q", fin.flows, want)
		}
	})
	t.Run("close delay", func(t *testing.T) {
		b := newBuilder(t, layers.LinkTypeEthernet)
		c := b.conv("10.0.1.25:43528", "52.219.64.10:443")
		c.handshake()
		c.send(true, "PA", data)
		c.close()
		b.wait(3 * time.Second)
		c.at(true, "FA", c.cseq-1, nil) // a retransmitted FIN joins it
		b.wait(5*time.Second + time.Millisecond)
		c.send(false, "A", nil) // too late: a new connection
		var fin finished
		a := b.analyzer(fin.options(Options{}))
		want := []string{`10.0.1.25:43528 SF ShADFf [6 2] []`}
		if !slices.Equal(fin.flows, want) {
			t.Errorf("finished %q, want %q", fin.flows, want)
		}
		if r := a.Result(); len(r.Flows) != 1 || r.Flows[0].History() != "^a" {
			t.Errorf("open %d connections, want the late ACK alone", len(r.Flows))
		}
	})
	t.Run("a closed connection stays findable for the close delay", func(t *testing.T) {
		client, server := netip.MustParseAddrPort("10.0.1.25:43528"), netip.MustParseAddrPort("52.219.64.10:443")
		b := newBuilder(t, layers.LinkTypeEthernet)
		c := b.conv(client.String(), server.String())
		c.handshake()
		c.close()
		other := b.conv("10.0.1.25:43529", server.String())
		b.wait(4 * time.Second)
		other.send(true, "S", nil)
		b.wait(2 * time.Second)
		other.send(true, "S", nil)
		a := NewAnalyzer(Options{})
		for i := range b.frames {
			_ = a.Add(&b.frames[i])
			f := a.Flow(client, server)
			if found := f != nil; found != (i < len(b.frames)-1) {
				t.Errorf("after packet %d: found %v", i+1, found)
			}
			if i == 6 && !f.Closed() {
				t.Errorf("after the close: not closed")
			}
		}
	})
	t.Run("4-tuple reused: the old connection finishes at once", func(t *testing.T) {
		b := newBuilder(t, layers.LinkTypeEthernet)
		c := b.conv("10.0.1.25:43528", "52.219.64.10:443")
		c.handshake()
		c.close()
		c.cseq += 100000
		c.send(true, "S", nil)
		var fin finished
		b.analyzer(fin.options(Options{}))
		if want := []string{`10.0.1.25:43528 SF ShAFf [4 2] []`}; !slices.Equal(fin.flows, want) {
			t.Errorf("finished %q, want %q", fin.flows, want)
		}
	})
	t.Run("a client's RST during the handshake does not close it", func(t *testing.T) {
		// The server acks a SYN that met an old connection; the client
		// resets it and sends its SYN again 13 seconds later.
		b := newBuilder(t, layers.LinkTypeEthernet)
		c := b.conv("10.0.1.25:43528", "52.219.64.10:443")
		c.send(true, "S", nil)
		c.at(false, "A", 777, nil)
		c.at(true, "R", c.cseq, nil)
		b.wait(13 * time.Second)
		c.at(true, "S", c.cseq-1, nil)
		c.send(false, "SA", nil)
		c.send(true, "A", nil)
		var fin finished
		a := b.analyzer(fin.options(Options{}))
		a.Finish()
		if want := []string{`10.0.1.25:43528 RSTO SaRhA [4 2] []`}; !slices.Equal(fin.flows, want) {
			t.Errorf("finished %q, want %q", fin.flows, want)
		}
	})
	t.Run("finished connections carry their DNS names", func(t *testing.T) {
		b := newBuilder(t, layers.LinkTypeEthernet)
		lookup(b, 40001, scBucket, dns.TypeA, [3]string{scBucket, "A", scPublicS3})
		c := b.conv(scHost+":43528", scPublicS3+":443")
		c.handshake()
		c.close()
		var fin finished
		a := b.analyzer(fin.options(Options{}))
		a.Finish()
		want := []string{fmt.Sprintf(`%s:43528 SF ShAFf [4 2] ["%s"]`, scHost, scBucket)}
		if !slices.Equal(fin.flows, want) || !slices.Equal(fin.dns, []string{scBucket + " 1"}) {
			t.Errorf("finished %q and DNS %q, want %q and the lookup", fin.flows, fin.dns, want)
		}
	})
}

// Past MaxFlows, the least recently active connection is finished early,
// closed ones first, and counted.
func TestMaxFlows(t *testing.T) {
	b := newBuilder(t, layers.LinkTypeEthernet)
	conns := make([]*conv, 5)
	for i := range conns {
		conns[i] = b.conv(fmt.Sprintf("10.0.1.25:%d", 43000+i), "52.219.64.10:443")
	}
	conns[0].send(true, "S", nil)
	conns[1].send(true, "S", nil)
	conns[2].handshake()
	conns[2].close()
	conns[0].at(true, "S", conns[0].cseq-1, nil) // 0 is now more recent than 1
	conns[3].send(true, "S", nil)                // the table is full: 2 (closed) goes
	conns[4].send(true, "S", nil)                // then 1, the least recently active
	var fin finished
	a := b.analyzer(fin.options(Options{MaxFlows: 3}))
	want := []string{"10.0.1.25:43002 SF ShAFf [4 2] []", "10.0.1.25:43001 S0 S [1 0] []"}
	if !slices.Equal(fin.flows, want) {
		t.Errorf("finished %q, want %q", fin.flows, want)
	}
	if n := anomalyCount(a.Anomalies(), AnomalyFlowTableFull); n != 2 {
		t.Errorf("flow-table-full %d, want 2", n)
	}
	a.Finish()
	want = append(want, "10.0.1.25:43000 S0 S [2 0] []", "10.0.1.25:43003 S0 S [1 0] []", "10.0.1.25:43004 S0 S [1 0] []")
	if !slices.Equal(fin.flows, want) {
		t.Errorf("after Finish %q, want in the order they began %q", fin.flows, want)
	}
	if s := a.Stats(); s.Flows != 5 {
		t.Errorf("Stats.Flows %d, want 5", s.Flows)
	}
}

// DNS transactions finish CloseDelay after their last response (a repeated
// answer stays one transaction) or IdleTimeout after an unanswered query;
// MaxDNS bounds those pending.
func TestDNSFinishRules(t *testing.T) {
	host, resolver := netip.MustParseAddrPort(hostAddr), netip.MustParseAddrPort(resolverAddr)
	t.Run("answered, repeated, reused", func(t *testing.T) {
		b := newBuilder(t, layers.LinkTypeEthernet)
		q, r := dnsPair(t, 1, "a.example", dns.TypeA, [3]string{"a.example", "A", "192.0.2.1"})
		b.udp(host, resolver, q)
		b.udp(resolver, host, r)
		b.wait(2 * time.Second)
		b.udp(resolver, host, r) // a duplicate: the same transaction
		b.wait(6 * time.Second)
		b.udp(host, resolver, q) // the same ID later: a new one
		b.udp(resolver, host, r)
		var fin finished
		a := b.analyzer(fin.options(Options{}))
		if want := []string{"a.example 2"}; !slices.Equal(fin.dns, want) {
			t.Errorf("finished %q, want %q", fin.dns, want)
		}
		if r := a.Result(); len(r.DNS) != 1 || r.DNS[0].Responses != 1 {
			t.Errorf("pending %d, want the second lookup", len(r.DNS))
		}
		if s := a.Stats(); s.DNSTransactions != 2 {
			t.Errorf("Stats.DNSTransactions %d, want 2", s.DNSTransactions)
		}
	})
	t.Run("unanswered", func(t *testing.T) {
		b := newBuilder(t, layers.LinkTypeEthernet)
		q, _ := dnsPair(t, 1, "a.example", dns.TypeA)
		b.udp(host, resolver, q)
		b.wait(5*time.Minute + time.Second)
		q2, _ := dnsPair(t, 2, "b.example", dns.TypeA)
		b.udp(host, resolver, q2)
		var fin finished
		a := b.analyzer(fin.options(Options{}))
		if want := []string{"a.example 0"}; !slices.Equal(fin.dns, want) {
			t.Errorf("finished %q, want %q", fin.dns, want)
		}
		a.Finish()
		if want := []string{"a.example 0", "b.example 0"}; !slices.Equal(fin.dns, want) {
			t.Errorf("after Finish %q, want %q", fin.dns, want)
		}
	})
	t.Run("table full", func(t *testing.T) {
		b := newBuilder(t, layers.LinkTypeEthernet)
		for i := range 5 {
			q, _ := dnsPair(t, uint16(i), fmt.Sprintf("q%d.example", i), dns.TypeA)
			b.udp(host, resolver, q)
		}
		_, r := dnsPair(t, 0, "q0.example", dns.TypeA, [3]string{"q0.example", "A", "192.0.2.1"})
		b.udp(resolver, host, r) // its query was finished: listed alone
		var fin finished
		a := b.analyzer(fin.options(Options{MaxDNS: 3}))
		if want := []string{"q0.example 0", "q1.example 0", "q2.example 0"}; !slices.Equal(fin.dns, want) {
			t.Errorf("finished %q, want %q", fin.dns, want)
		}
		if n := anomalyCount(a.Anomalies(), AnomalyDNSTableFull); n != 3 {
			t.Errorf("dns-table-full %d, want 3", n)
		}
	})
}

// Result lists what was finished and what is open, in the order each
// began, and what it returned does not change as the Analyzer goes on.
func TestResultIsASnapshot(t *testing.T) {
	b := newBuilder(t, layers.LinkTypeEthernet)
	c1 := b.conv("10.0.1.25:43528", "52.219.64.10:443")
	c2 := b.conv("10.0.1.25:43529", "52.219.64.10:443")
	c1.send(true, "S", nil)
	c2.handshake()
	c2.close()
	b.wait(6 * time.Second)
	c1.send(true, "S", nil) // finishes c2
	a := b.analyzer(Options{})
	r := a.Result()
	if len(r.Flows) != 2 || r.Flows[0].Client.Port() != 43528 || r.Flows[1].ConnState() != "SF" {
		t.Fatalf("flows %v, want the open one first (it began first), then the finished one", r.Flows)
	}
	packets := r.Flows[0].Packets()
	c1.send(true, "S", nil)
	_ = a.Add(&b.frames[len(b.frames)-1])
	if r.Flows[0].Packets() != packets {
		t.Errorf("an earlier Result changed: %v, was %v", r.Flows[0].Packets(), packets)
	}
	if got := a.Result().Flows[0].Packets(); got != [2]uint64{3, 0} {
		t.Errorf("a new Result says %v, want 3 packets", got)
	}
}
