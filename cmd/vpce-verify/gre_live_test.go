package main

import (
	"context"
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/vpce-verify/vpce-verify/internal/lab"
	"github.com/vpce-verify/vpce-verify/internal/testenv"
)

// goClientHello is the first record crypto/tls sends for name.
func goClientHello(t *testing.T, name string) []byte {
	t.Helper()
	c1, c2 := net.Pipe()
	defer c2.Close()
	go func() {
		tls.Client(c1, &tls.Config{ServerName: name, InsecureSkipVerify: true}).Handshake()
		c1.Close()
	}()
	buf := make([]byte, 16384)
	n, err := c2.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf[:n]
}

// greSegments are the IPv4 packets of one TLS connection from client to
// server:443 (handshake, a ClientHello, a reply, the close), each in a GRE
// header (no flags, IPv4 inside): the payloads of GRE packets.
func greSegments(t *testing.T, client, server string, hello []byte) [][]byte {
	t.Helper()
	c, s := net.ParseIP(client).To4(), net.ParseIP(server).To4()
	cseq, sseq := uint32(1000), uint32(5000)
	var out [][]byte
	seg := func(fromClient bool, flags string, payload []byte) {
		src, dst, sp, dp, seq, ack := c, s, 43100, 443, cseq, sseq
		if !fromClient {
			src, dst, sp, dp, seq, ack = s, c, 443, 43100, sseq, cseq
		}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: src, DstIP: dst}
		tcp := &layers.TCP{SrcPort: layers.TCPPort(sp), DstPort: layers.TCPPort(dp), Seq: seq, Window: 64240}
		for _, f := range flags {
			switch f {
			case 'S':
				tcp.SYN = true
			case 'A':
				tcp.ACK, tcp.Ack = true, ack
			case 'F':
				tcp.FIN = true
			case 'P':
				tcp.PSH = true
			}
		}
		tcp.SetNetworkLayerForChecksum(ip)
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ip, tcp, gopacket.Payload(payload)); err != nil {
			t.Fatal(err)
		}
		out = append(out, append([]byte{0, 0, 0x08, 0x00}, buf.Bytes()...))
		n := uint32(len(payload))
		if tcp.SYN || tcp.FIN {
			n++
		}
		if fromClient {
			cseq += n
		} else {
			sseq += n
		}
	}
	seg(true, "S", nil)
	seg(false, "SA", nil)
	seg(true, "A", nil)
	seg(true, "PA", hello)
	seg(false, "PA", make([]byte, 1200))
	seg(true, "FA", nil)
	seg(false, "FA", nil)
	seg(true, "A", nil)
	return out
}

// --gre keeps GRE live and the analysis reads the connection inside: a
// TLS connection for an S3 name to the lab's "public S3" address, carried
// in GRE packets sent to 127.0.0.1 (every address, outer and inner, is a
// loopback one; the kernel drops the inner packets as martians). Without
// --gre the kernel filter leaves them out and nothing is S3.
func TestCaptureGRE(t *testing.T) {
	testenv.Root(t)
	l := startLab(t)
	raw, err := net.ListenPacket("ip4:gre", "127.0.0.1")
	if err != nil {
		testenv.Unavailable(t, "a raw GRE socket on 127.0.0.1: %v", err)
	}
	defer raw.Close()
	segs := greSegments(t, "127.0.1.25", lab.Public, goClientHello(t, lab.LeakName))
	for _, tc := range []struct {
		name string
		gre  bool
		code int
	}{{"--gre", true, exitFail}, {"without --gre", false, exitInconclusive}} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"capture", "-i", "lo", "--endpoint-ip", lab.Endpoint, "--ip-ranges", l.RangesFile, "--format", "json"}
			if tc.gre {
				args = append(args, "--gre")
			}
			ctx, stop := context.WithCancel(context.Background())
			defer stop()
			var stdout, stderr syncBuffer
			done := make(chan int)
			go func() { done <- testRun(ctx, args, nil, &stdout, &stderr) }()
			waitFor(t, &stderr, "capturing on lo")
			for _, p := range segs {
				if _, err := raw.WriteTo(p, &net.IPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
					t.Fatal(err)
				}
				time.Sleep(time.Millisecond)
			}
			time.Sleep(300 * time.Millisecond)
			stop()
			code := <-done
			r := decodeLive(t, stdout.String())
			if code != tc.code {
				t.Fatalf("exit %d, want %d; reason %q; stderr %s", code, tc.code, r.Reason, stderr.String())
			}
			found := false
			for _, f := range r.Flows {
				if f.Server == lab.Public+":443" {
					found = true
					if !f.S3 || f.Path != "public-aws" || f.SNI != lab.LeakName {
						t.Errorf("the connection inside GRE: %+v", f)
					}
				}
			}
			if found != tc.gre {
				t.Errorf("connection to %s:443 in the report: %v, want %v; flows %+v", lab.Public, found, tc.gre, r.Flows)
			}
		})
	}
}
