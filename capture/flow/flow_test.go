package flow

import (
	"bytes"
	"testing"

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
