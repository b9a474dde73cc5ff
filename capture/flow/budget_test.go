package flow

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/miekg/dns"
)

// bigHello returns a ClientHello that fills one TLS record (16 KiB): a
// server_name extension, then padding.
func bigHello(sni string) []byte {
	const record = 16384
	sn := binary.BigEndian.AppendUint16(nil, 0) // server_name
	sn = binary.BigEndian.AppendUint16(sn, uint16(5+len(sni)))
	sn = binary.BigEndian.AppendUint16(sn, uint16(3+len(sni)))
	sn = append(sn, 0)
	sn = binary.BigEndian.AppendUint16(sn, uint16(len(sni)))
	sn = append(sn, sni...)
	body := []byte{3, 3}
	body = append(body, make([]byte, 32)...)    // random
	body = append(body, 0, 0, 2, 0x13, 1, 1, 0) // no session id, one suite, null compression
	extLen := record - 4 - len(body) - 2
	body = binary.BigEndian.AppendUint16(body, uint16(extLen))
	body = append(body, sn...)
	pad := extLen - len(sn) - 4
	body = binary.BigEndian.AppendUint16(body, 21) // padding
	body = binary.BigEndian.AppendUint16(body, uint16(pad))
	body = append(body, make([]byte, pad)...)
	out := []byte{0x16, 3, 1, record >> 8, record & 0xff, 1, 0, byte(len(body) >> 8), byte(len(body))}
	return append(out, body...)
}

// sendSegments sends stream[from:to] from the client in segments of 1200
// bytes; the connection's sequence number is at stream[from].
func sendSegments(c *conv, stream []byte, from, to int) {
	for off := from; off < to; off += 1200 {
		c.send(true, "PA", stream[off:min(off+1200, to)])
	}
}

// The reassembly buffers of all connections together stay within the
// budget: a connection whose first bytes the budget cannot hold is cut and
// says why, and the capacity returns once a hello is read.
func TestBufferBudget(t *testing.T) {
	t.Run("ClientHello", func(t *testing.T) {
		const budget = 40 << 10
		big := bigHello("my-bucket.s3.ap-south-1.amazonaws.com")
		b := newBuilder(t, layers.LinkTypeEthernet)
		var convs []*conv
		for i := range 3 {
			c := b.conv(fmt.Sprintf("10.0.1.25:%d", 43000+i), "52.219.64.10:443")
			c.handshake()
			sendSegments(c, big, 0, 12000)
			convs = append(convs, c)
		}
		sendSegments(convs[0], big, 12000, len(big)) // completes, frees its buffer
		c := b.conv("10.0.1.25:43100", "52.219.64.10:443")
		c.handshake()
		sendSegments(c, big, 0, len(big))
		a := b.analyzer(Options{BufferBudget: budget})
		r := a.Result()
		type got struct{ hello, err, sni string }
		want := []got{
			{HelloComplete, "", "my-bucket.s3.ap-south-1.amazonaws.com"},
			{HelloIncomplete, "", "my-bucket.s3.ap-south-1.amazonaws.com"},
			{HelloIncomplete, errBudget, "my-bucket.s3.ap-south-1.amazonaws.com"},
			{HelloComplete, "", "my-bucket.s3.ap-south-1.amazonaws.com"},
		}
		for i, f := range r.Flows {
			if g := (got{f.TLS.Hello, f.TLS.Err, f.TLS.SNI}); g != want[i] {
				t.Errorf("connection %d: %+v, want %+v", i, g, want[i])
			}
		}
		if n := anomalyCount(a.Anomalies(), AnomalyBudgetExhausted); n != 1 {
			t.Errorf("reassembly-budget-exhausted %d, want 1", n)
		}
		if r.Stats.BufferPeak > budget || r.Stats.BufferPeak < budget-helloMaxBytes {
			t.Errorf("buffers peaked at %d bytes, budget %d", r.Stats.BufferPeak, budget)
		}
	})
	t.Run("a finished connection gives its buffer back", func(t *testing.T) {
		const budget = 20 << 10
		big := bigHello("my-bucket.s3.ap-south-1.amazonaws.com")
		b := newBuilder(t, layers.LinkTypeEthernet)
		c := b.conv("10.0.1.25:43000", "52.219.64.10:443")
		c.handshake()
		sendSegments(c, big, 0, 12000) // holds 16 KiB, never completes
		c.send(true, "RA", nil)
		b.wait(6 * time.Second) // past the close delay
		c = b.conv("10.0.1.25:43001", "52.219.64.10:443")
		c.handshake()
		sendSegments(c, big, 0, len(big))
		a := b.analyzer(Options{BufferBudget: budget})
		r := a.Result()
		if len(r.Flows) != 2 || r.Flows[1].TLS.Hello != HelloComplete || len(a.Anomalies()) != 0 {
			t.Errorf("second hello %q (%s), anomalies %+v; want it read whole", r.Flows[1].TLS.Hello, r.Flows[1].TLS.Err, a.Anomalies())
		}
	})
	t.Run("DNS over TCP", func(t *testing.T) {
		const budget = 16 << 10
		b := newBuilder(t, layers.LinkTypeEthernet)
		_, resp := dnsPair(t, 5, "bucket.example", dns.TypeA, [3]string{"bucket.example", "A", "192.0.2.9"})
		c := b.conv("10.0.1.25:41000", "10.0.0.2:53")
		c.handshake()
		msg := binary.BigEndian.AppendUint16(nil, uint16(len(resp)))
		msg = append(msg, resp...)
		msg = append(msg, 0xff, 0xff) // a message of 65,535 bytes follows...
		c.send(false, "PA", msg)
		for range 20 { // ... of which 24,000 come
			c.send(false, "PA", make([]byte, 1200))
		}
		a := b.analyzer(Options{BufferBudget: budget})
		r := a.Result()
		if len(r.DNS) != 1 || len(r.DNS[0].Answers) != 1 {
			t.Errorf("%d transactions: want the answer before the cut read", len(r.DNS))
		}
		if n := anomalyCount(a.Anomalies(), AnomalyBudgetExhausted); n != 1 || r.Stats.BufferPeak > budget {
			t.Errorf("reassembly-budget-exhausted %d, peak %d; want 1 within %d", n, r.Stats.BufferPeak, budget)
		}
	})
	t.Run("IP fragments", func(t *testing.T) {
		resolver, host := netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.1.25")
		var answers [][3]string
		for i := range 200 {
			answers = append(answers, [3]string{"big.example", "A", netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)}).String()})
		}
		_, resp := dnsPair(t, 94, "big.example", dns.TypeA, answers...)
		udp := ipPacket(t, resolver, host, &layers.UDP{SrcPort: 53, DstPort: 40000}, resp)[20:]
		b := newBuilder(t, layers.LinkTypeRaw)
		for off := 0; off < len(udp); off += 1000 {
			end := min(off+1000, len(udp))
			b.frame(ipv4Fragment(nil, resolver, host, 8, off, end < len(udp), layers.IPProtocolUDP, udp[off:end]))
		}
		for _, budget := range []int{len(udp), len(udp) - 1} {
			a := b.analyzer(Options{BufferBudget: budget})
			r := a.Result()
			cut := anomalyCount(a.Anomalies(), AnomalyBudgetExhausted)
			if fits := budget == len(udp); (len(r.DNS) == 1) != fits || (cut == 1) == fits {
				t.Errorf("budget %d for %d bytes: %d transactions, %d cut", budget, len(udp), len(r.DNS), cut)
			}
		}
	})
}
