package flow

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/gopacket/gopacket/layers"
)

// The expected states and histories follow Zeek's definitions (conn.log
// documentation, scripts/base/protocols/conn/main.zeek): they were worked
// out by hand from those rules for each packet sequence, not taken from our
// output.
func TestConnState(t *testing.T) {
	data := bytes.Repeat([]byte("x"), 100)
	tests := []struct {
		name        string
		packets     func(c *conv)
		state       string
		history     string
		established bool
		bytes       [2]uint64
	}{
		{"S0 unanswered SYN, retransmitted", func(c *conv) {
			c.send(true, "S", nil)
			c.at(true, "S", c.cseq-1, nil)
			c.at(true, "S", c.cseq-1, nil)
		}, "S0", "S", false, [2]uint64{}},
		{"REJ SYN answered by RST", func(c *conv) {
			c.send(true, "S", nil)
			c.send(false, "RA", nil)
		}, "REJ", "Sr", false, [2]uint64{}},
		{"SF normal open and close", func(c *conv) {
			c.handshake()
			c.send(true, "PA", data)
			c.send(false, "A", nil)
			c.send(false, "PA", data[:40])
			c.send(true, "A", nil)
			c.close()
		}, "SF", "ShADadFf", true, [2]uint64{100, 40}},
		{"S1 established, not closed", func(c *conv) {
			c.handshake()
			c.send(true, "PA", data)
			c.send(false, "PA", data)
		}, "S1", "ShADd", true, [2]uint64{100, 100}},
		{"S2 originator closed, no reply", func(c *conv) {
			c.handshake()
			c.send(true, "FA", nil)
		}, "S2", "ShAF", true, [2]uint64{}},
		{"S3 responder closed, no reply", func(c *conv) {
			c.handshake()
			c.send(false, "FA", nil)
		}, "S3", "ShAf", true, [2]uint64{}},
		{"RSTO originator aborted", func(c *conv) {
			c.handshake()
			c.send(true, "PA", data)
			c.send(true, "RA", nil)
		}, "RSTO", "ShADR", true, [2]uint64{100, 0}},
		{"RSTR responder aborted", func(c *conv) {
			c.handshake()
			c.send(true, "PA", data)
			c.send(false, "RA", nil)
		}, "RSTR", "ShADr", true, [2]uint64{100, 0}},
		{"RSTOS0 SYN then RST from originator", func(c *conv) {
			c.send(true, "S", nil)
			c.send(true, "R", nil)
		}, "RSTOS0", "SR", false, [2]uint64{}},
		{"RSTRH SYN-ACK then RST, no SYN seen", func(c *conv) {
			c.send(false, "SA", nil)
			c.send(false, "R", nil)
		}, "RSTRH", "^hr", false, [2]uint64{}},
		{"SH SYN then FIN, no SYN-ACK", func(c *conv) {
			c.send(true, "S", nil)
			c.send(true, "F", nil)
		}, "SH", "SF", false, [2]uint64{}},
		{"SHR SYN-ACK then FIN, no SYN", func(c *conv) {
			c.send(false, "SA", nil)
			c.send(false, "FA", nil)
		}, "SHR", "^hf", false, [2]uint64{}},
		{"OTH midstream, one direction", func(c *conv) {
			c.send(true, "PA", data)
		}, "OTH", "D", false, [2]uint64{100, 0}},
		{"OTH midstream, both directions", func(c *conv) {
			c.send(true, "PA", data)
			c.send(false, "PA", data)
		}, "OTH", "Dd", true, [2]uint64{100, 100}},
		{"OTH midstream, data acknowledged", func(c *conv) {
			c.send(true, "PA", data)
			c.send(false, "A", nil)
		}, "OTH", "Da", true, [2]uint64{100, 0}},
		{"OTH midstream, ack of nothing sent", func(c *conv) {
			first := c.cseq
			c.send(true, "PA", data)
			c.cseq, first = first, c.cseq // the ack the peer sent before this data
			c.send(false, "A", nil)
			c.cseq = first
		}, "OTH", "Da", false, [2]uint64{100, 0}},
		{"OTH midstream, broken ack", func(c *conv) {
			c.send(true, "PA", data)
			c.cseq += 1 << 30 // far beyond anything sent
			c.send(false, "A", nil)
		}, "OTH", "Da", false, [2]uint64{100, 0}},
		{"retransmitted data counts once", func(c *conv) {
			c.handshake()
			c.send(true, "PA", data)
			c.at(true, "PA", c.cseq-100, data)
			c.send(false, "A", nil)
		}, "S1", "ShADTa", true, [2]uint64{100, 0}},
		{"SYN-ACK answered the SYN, ack missed", func(c *conv) {
			c.send(true, "S", nil)
			c.send(false, "SA", nil)
		}, "S1", "Sh", true, [2]uint64{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBuilder(t, layers.LinkTypeEthernet)
			tc.packets(b.conv("10.0.1.25:43528", "10.0.2.50:443"))
			r := b.analyze(Options{})
			if len(r.Flows) != 1 {
				t.Fatalf("got %d flows, want 1", len(r.Flows))
			}
			f := r.Flows[0]
			if got := f.ConnState(); got != tc.state {
				t.Errorf("conn_state = %s, want %s", got, tc.state)
			}
			if got := f.History(); got != tc.history {
				t.Errorf("history = %q, want %q", got, tc.history)
			}
			if got := f.Established(); got != tc.established {
				t.Errorf("established = %v, want %v", got, tc.established)
			}
			if got := f.Bytes(); got != tc.bytes {
				t.Errorf("bytes = %v, want %v", got, tc.bytes)
			}
			if f.Client.String() != "10.0.1.25:43528" || f.Server.String() != "10.0.2.50:443" {
				t.Errorf("client %s server %s, want the SYN's sender as client", f.Client, f.Server)
			}
		})
	}
}

func TestFlowIdentity(t *testing.T) {
	t.Run("4-tuple reused after close is a new flow", func(t *testing.T) {
		b := newBuilder(t, layers.LinkTypeEthernet)
		c := b.conv("10.0.1.25:43528", "10.0.2.50:443")
		c.handshake()
		c.close()
		c.cseq += 100000 // a new ISN
		c.handshake()
		r := b.analyze(Options{})
		if len(r.Flows) != 2 {
			t.Fatalf("got %d flows, want 2", len(r.Flows))
		}
		if r.Flows[0].ConnState() != "SF" || r.Flows[1].ConnState() != "S1" {
			t.Errorf("states %s, %s; want SF, S1", r.Flows[0].ConnState(), r.Flows[1].ConnState())
		}
	})
	t.Run("4-tuple reused without the end in the capture is a new flow", func(t *testing.T) {
		b := newBuilder(t, layers.LinkTypeEthernet)
		c := b.conv("10.0.1.25:43528", "10.0.2.50:443")
		c.handshake()
		c.send(true, "PA", []byte("first"))
		c.at(true, "PA", c.cseq-5, []byte("first")) // a retransmission: the same connection
		c.at(true, "S", 1000, nil)                  // its SYN again, late: the same connection
		c.cseq += 100000                            // a new ISN: a new connection
		c.handshake()
		c.send(true, "PA", []byte("second"))
		r := b.analyze(Options{})
		if len(r.Flows) != 2 {
			t.Fatalf("got %d flows, want 2", len(r.Flows))
		}
		if h := r.Flows[1].History(); h != "ShAD" {
			t.Errorf("second history %q, want ShAD", h)
		}
	})
	t.Run("4-tuple reused after reset is a new flow", func(t *testing.T) {
		b := newBuilder(t, layers.LinkTypeEthernet)
		c := b.conv("10.0.1.25:43528", "10.0.2.50:443")
		c.send(true, "S", nil)
		c.send(false, "RA", nil)
		c.cseq += 7
		c.send(true, "S", nil)
		r := b.analyze(Options{})
		if len(r.Flows) != 2 || r.Flows[0].ConnState() != "REJ" || r.Flows[1].ConnState() != "S0" {
			t.Fatalf("got %d flows, want REJ then S0", len(r.Flows))
		}
	})
	t.Run("midstream server inferred from the well-known port", func(t *testing.T) {
		b := newBuilder(t, layers.LinkTypeEthernet)
		c := b.conv("10.0.1.25:43528", "52.219.64.10:443")
		c.send(false, "PA", []byte("response bytes"))
		c.send(true, "A", nil)
		r := b.analyze(Options{})
		f := r.Flows[0]
		if f.Server.String() != "52.219.64.10:443" || f.History() != "^dA" {
			t.Errorf("server %s history %q, want 52.219.64.10:443 and ^dA", f.Server, f.History())
		}
	})
	t.Run("handshake RTT from SYN to SYN-ACK", func(t *testing.T) {
		b := newBuilder(t, layers.LinkTypeEthernet)
		c := b.conv("10.0.1.25:43528", "10.0.2.50:443")
		c.send(true, "S", nil)
		b.ts = b.ts.Add(5 * 1e6) // 1 ms step plus 5 ms
		c.send(false, "SA", nil)
		r := b.analyze(Options{})
		if got := r.Flows[0].HandshakeRTT.Milliseconds(); got != 6 {
			t.Errorf("rtt = %d ms, want 6", got)
		}
	})
}

// TestMidstreamUpload is a capture that begins in the middle of a bulk
// upload: about 197 kB of TLS application data from the client, pure ACKs
// back, no SYN and no DNS. The server acknowledging the data proves the
// connection, so it counts as established traffic.
func TestMidstreamUpload(t *testing.T) {
	b := newBuilder(t, layers.LinkTypeEthernet)
	c := b.conv("10.0.1.25:43528", "52.219.64.10:443")
	c.cseq = 3_000_000_000 // wherever the upload had got to
	record := append([]byte{0x17, 3, 3, 0x05, 0xa3}, bytes.Repeat([]byte{0xa5}, 1443)...)
	for i := range 136 {
		c.send(true, "A", record)
		if i%2 == 1 {
			c.send(false, "A", nil)
		}
	}
	r := b.analyze(Options{})
	if len(r.Flows) != 1 || len(r.DNS) != 0 {
		t.Fatalf("%d flows, %d DNS transactions; want one flow, no DNS", len(r.Flows), len(r.DNS))
	}
	f := r.Flows[0]
	if f.ConnState() != "OTH" || !f.Established() || f.History() != "Da" {
		t.Errorf("conn_state %s established %v history %q, want OTH, established, Da", f.ConnState(), f.Established(), f.History())
	}
	if want := [2]uint64{136 * 1448, 0}; f.Bytes() != want {
		t.Errorf("bytes %v, want %v", f.Bytes(), want)
	}
	if f.Client.String() != "10.0.1.25:43528" || f.Server.String() != "52.219.64.10:443" {
		t.Errorf("client %s server %s", f.Client, f.Server)
	}
	if f.TLS.Hello != HelloNotSeen {
		t.Errorf("TLS.Hello = %q, want %q: the hello went by before the capture began", f.TLS.Hello, HelloNotSeen)
	}
}

// Bytes counts the payload the capture showed, each byte once; SeqBytes
// keeps Zeek's sequence-space count and says when it cannot be believed.
func TestFlowBytes(t *testing.T) {
	data := bytes.Repeat([]byte("x"), 1000)
	tests := []struct {
		name       string
		packets    func(c *conv)
		bytes, seq [2]uint64
		believable bool
	}{
		{"in order", func(c *conv) {
			c.handshake()
			for range 5 {
				c.send(true, "PA", data)
			}
			c.send(false, "A", nil)
		}, [2]uint64{5000, 0}, [2]uint64{5000, 0}, true},
		{"a hole the capture missed, no ack", func(c *conv) {
			c.handshake()
			c.send(true, "PA", data)
			c.cseq += 1000 // one segment not captured
			c.send(true, "PA", data)
		}, [2]uint64{2000, 0}, [2]uint64{3000, 0}, true},
		{"a hole filled later, out of order", func(c *conv) {
			c.handshake()
			c.send(true, "PA", data)
			c.cseq += 1000
			c.send(true, "PA", data)
			c.at(true, "PA", c.cseq-2000, data)
			c.at(true, "PA", c.cseq-2000, data) // and again
		}, [2]uint64{3000, 0}, [2]uint64{3000, 0}, true},
		{"data revealed only by the ack", func(c *conv) {
			c.handshake()
			c.send(true, "PA", data)
			c.cseq += 50_000
			c.send(false, "A", nil)
		}, [2]uint64{1000, 0}, [2]uint64{51_000, 0}, true},
		{"a retransmission overlapping new data", func(c *conv) {
			c.handshake()
			c.send(true, "PA", data)
			c.at(true, "PA", c.cseq-500, data)
		}, [2]uint64{1500, 0}, [2]uint64{1500, 0}, true},
		{"a far hole with little data", func(c *conv) {
			c.handshake()
			c.send(true, "PA", data[:10])
			c.cseq += 100_000
			c.send(true, "PA", data[:10])
		}, [2]uint64{20, 0}, [2]uint64{100_020, 0}, false},
		{"a jump beyond 16 MiB", func(c *conv) {
			c.handshake()
			for range 400 {
				c.send(true, "PA", data)
			}
			c.cseq += 17 << 20
			c.send(true, "PA", data)
		}, [2]uint64{401_000, 0}, [2]uint64{401_000 + 17<<20, 0}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBuilder(t, layers.LinkTypeEthernet)
			tc.packets(b.conv("10.0.1.25:43528", "10.0.2.50:443"))
			r := b.analyze(Options{})
			f := r.Flows[0]
			if got := f.Bytes(); got != tc.bytes {
				t.Errorf("bytes = %v, want %v", got, tc.bytes)
			}
			seq, ok := f.SeqBytes()
			if seq != tc.seq || ok != tc.believable {
				t.Errorf("sequence bytes = %v believable %v, want %v %v", seq, ok, tc.seq, tc.believable)
			}
		})
	}
}

// A connection whose segments carry random sequence numbers (corrupt or
// crafted) reports the payload it carried, not terabytes of sequence space.
func TestFlowBytesRandomSequence(t *testing.T) {
	const segments, size = 20_000, 170
	b := newBuilder(t, layers.LinkTypeEthernet)
	c := b.conv("10.0.1.25:43528", "52.219.64.10:443")
	c.handshake()
	payload := bytes.Repeat([]byte{0xa5}, size)
	// Distinct slots of the 32-bit sequence space, in random order, so
	// that no two segments carry the same bytes.
	rng := rand.New(rand.NewPCG(1, 2))
	const slots = 1 << 32 / 256
	seen := map[uint32]bool{}
	for len(seen) < segments {
		slot := uint32(rng.IntN(slots))
		if seen[slot] {
			continue
		}
		seen[slot] = true
		c.at(true, "PA", slot*256, payload)
	}
	r := b.analyze(Options{})
	if len(r.Flows) != 1 {
		t.Fatalf("%d flows, want 1", len(r.Flows))
	}
	f := r.Flows[0]
	if got, want := f.Bytes(), [2]uint64{segments * size, 0}; got != want {
		t.Errorf("bytes = %v, want %v: the payload the capture carried", got, want)
	}
	seq, ok := f.SeqBytes()
	if ok {
		t.Errorf("sequence bytes %v taken as believable", seq)
	}
	t.Logf("sequence span %v (%.1f GB), payload %d", seq, float64(seq[0])/1e9, f.Bytes()[0])
}

// Whatever the order, overlaps and repeats of the segments, Bytes is at
// least the distinct bytes shown and never more than the payload given;
// while no more than 4 separate ranges were seen it is exactly the
// distinct bytes.
func TestFlowBytesBounds(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 1000 {
		var e tcpEndpoint
		var shown [3200]bool // offsets -1000 to 2199
		var given uint64
		maxRanges := 0
		for range 1 + rng.IntN(40) {
			lo := int64(rng.IntN(3000)) - 1000
			n := int64(1 + rng.IntN(200))
			e.payload += e.cover(lo, lo+n)
			given += uint64(n)
			for b := lo; b < lo+n; b++ {
				shown[b+1000] = true
			}
			runs := 0
			for i, s := range shown {
				if s && (i == 0 || !shown[i-1]) {
					runs++
				}
			}
			maxRanges = max(maxRanges, runs)
		}
		var distinct uint64
		for _, s := range shown {
			if s {
				distinct++
			}
		}
		if e.payload < distinct || e.payload > given {
			t.Fatalf("round %d: counted %d, distinct %d, given %d", round, e.payload, distinct, given)
		}
		if maxRanges <= seqRanges && e.payload != distinct {
			t.Fatalf("round %d: counted %d, want the %d distinct bytes (%d ranges at most)", round, e.payload, distinct, maxRanges)
		}
	}
}

// The per-connection state is what fills the heap at the table's bound
// (50,000 connections under the 128 MiB soft limit): a Flow that grew by
// 176 bytes and a firstBytes by 128, for fields most connections never
// use, brought the live heap to the limit's edge on a million partial
// ClientHellos, and the garbage collector ran four times as often (2.0 s
// became 5.0 s for 200,000 of them). Rarely used state hangs off a
// pointer instead; these bounds keep it that way.
func TestPerConnectionStateSize(t *testing.T) {
	if n := unsafe.Sizeof(Flow{}); n > 1024 {
		t.Errorf("a Flow is %d bytes, more than 1024: put what few connections use behind a pointer", n)
	}
	if n := unsafe.Sizeof(firstBytes{}); n > 192 {
		t.Errorf("a firstBytes is %d bytes, more than 192", n)
	}
}
