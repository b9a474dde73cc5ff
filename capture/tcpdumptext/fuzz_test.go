package tcpdumptext

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vpce-verify/vpce-verify/capture"
)

// FuzzReader: whatever the text, the reader ends with io.EOF or an *Error
// naming a line, never panics, and every frame is an IP packet whose
// length fields agree with what it says it holds.
//
//	go test ./capture/tcpdumptext -run XXX -fuzz FuzzReader -fuzztime 1m
func FuzzReader(f *testing.F) {
	for _, name := range []string{"seed.txt", "live.txt", "interleaved.txt"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "tcpdump", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add(seedHandshake)
	f.Add("10:00:00.002000 IP 172.31.0.238.40000 > 172.31.17.188.4789: VXLAN, flags [I] (0x08), vni 4660\nIP 10.0.1.25.43528 > 10.0.2.50.443: Flags [S], seq 1000, win 64240, length 0\n")
	f.Add("09:21:03.973180 IP 209.87.249.18.53 > 192.168.1.11.33779: Flags [P.], seq 1:227, ack 59, win 64240, length 226 17177*- 2/2/5 A 192.139.46.66, A 198.199.88.104 (224)\n")
	f.Add("10:00:00.001000 IP 10.0.0.2.53 > 10.0.1.25.40005: [udp sum ok] 40005- q: AAAA? s3.dualstack.ap-south-1.amazonaws.com. 2/0/1 s3.dualstack.ap-south-1.amazonaws.com. [1m] AAAA 2406:da60:a000::10, s3.dualstack.ap-south-1.amazonaws.com. [1h1m5s] AAAA 2406:da60:a000::11 ar: . OPT UDPsize=1232 (132)\n")
	f.Fuzz(func(t *testing.T, text string) {
		r := NewReader("x.txt", strings.NewReader(text))
		var fr capture.Frame
		for range 100_000 {
			err := r.Next(&fr)
			if err == io.EOF {
				return
			}
			if err != nil {
				var e *Error
				if !errors.As(err, &e) || e.Line < 1 || e.Line > strings.Count(text, "\n")+1 {
					t.Fatalf("end: %v", err)
				}
				return
			}
			d := fr.Data
			if len(d) < 20 || fr.WireLen < len(d) || fr.WireLen > 0xffff+40 {
				t.Fatalf("frame of %d bytes, %d on the wire", len(d), fr.WireLen)
			}
			switch d[0] >> 4 {
			case 4:
				if n := int(d[2])<<8 | int(d[3]); n != fr.WireLen {
					t.Fatalf("IPv4 total length %d, %d on the wire", n, fr.WireLen)
				}
			case 6:
				if n := int(d[4])<<8 | int(d[5]); n+40 != fr.WireLen {
					t.Fatalf("IPv6 payload length %d, %d on the wire", n, fr.WireLen)
				}
			default:
				t.Fatalf("not IP: % x", d[:1])
			}
		}
		t.Fatal("more than 100,000 frames")
	})
}
