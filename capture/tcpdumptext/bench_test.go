package tcpdumptext

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"testing"

	"github.com/vpce-verify/vpce-verify/capture"
)

// benchText is what tcpdump -nn prints for conns S3 downloads from
// different clients: each a DNS query and its CNAME answer, a handshake,
// a request, a response in segments, and the close (14 lines).
func benchText(conns int) []byte {
	var b bytes.Buffer
	for i := range conns {
		c := fmt.Sprintf("10.%d.%d.%d", i>>16&0xff, i>>8&0xff, i&0xff)
		port := 32768 + i%28000
		sec := i / 100
		ts := func(us int) string {
			return fmt.Sprintf("%02d:%02d:%02d.%06d", sec/3600%24, sec/60%60, sec%60, (i%100)*10000+us)
		}
		id := i & 0xffff
		fmt.Fprintf(&b, "%s IP %s.%d > 10.0.0.2.53: %d+ [1au] A? my-bucket.s3.ap-south-1.amazonaws.com. (78)\n", ts(0), c, port+1, id)
		fmt.Fprintf(&b, "%s IP 10.0.0.2.53 > %s.%d: %d* 2/0/1 CNAME s3-r-w.ap-south-1.amazonaws.com., A 10.0.2.50 (127)\n", ts(1), c, port+1, id)
		fmt.Fprintf(&b, "%s IP %s.%d > 10.0.2.50.443: Flags [S], seq 416848879, win 64240, options [mss 1460,sackOK,TS val 3636987543 ecr 0,nop,wscale 10], length 0\n", ts(2), c, port)
		fmt.Fprintf(&b, "%s IP 10.0.2.50.443 > %s.%d: Flags [S.], seq 1989993468, ack 416848880, win 65160, options [mss 1460,sackOK,TS val 3252084107 ecr 3636987543,nop,wscale 10], length 0\n", ts(3), c, port)
		fmt.Fprintf(&b, "%s IP %s.%d > 10.0.2.50.443: Flags [.], ack 1, win 63, options [nop,nop,TS val 3636987543 ecr 3252084107], length 0\n", ts(4), c, port)
		fmt.Fprintf(&b, "%s IP %s.%d > 10.0.2.50.443: Flags [P.], seq 1:518, ack 1, win 63, options [nop,nop,TS val 3636987554 ecr 3252084107], length 517\n", ts(5), c, port)
		fmt.Fprintf(&b, "%s IP 10.0.2.50.443 > %s.%d: Flags [.], ack 518, win 64, options [nop,nop,TS val 3252084118 ecr 3636987554], length 0\n", ts(6), c, port)
		for k := range 4 {
			fmt.Fprintf(&b, "%s IP 10.0.2.50.443 > %s.%d: Flags [P.], seq %d:%d, ack 518, win 64, options [nop,nop,TS val 3252084131 ecr 3636987554], length 1448\n", ts(7+k), c, port, 1+k*1448, 1+(k+1)*1448)
		}
		fmt.Fprintf(&b, "%s IP %s.%d > 10.0.2.50.443: Flags [.], ack 5793, win 66, options [nop,nop,TS val 3636987567 ecr 3252084131], length 0\n", ts(11), c, port)
		fmt.Fprintf(&b, "%s IP %s.%d > 10.0.2.50.443: Flags [F.], seq 518, ack 5793, win 68, options [nop,nop,TS val 3636987583 ecr 3252084146], length 0\n", ts(12), c, port)
		fmt.Fprintf(&b, "%s IP 10.0.2.50.443 > %s.%d: Flags [F.], seq 5793, ack 519, win 64, options [nop,nop,TS val 3252084158 ecr 3636987583], length 0\n", ts(13), c, port)
	}
	return b.Bytes()
}

// BenchmarkReader reads a large text (each op is the whole text, 14 lines
// per connection): MB/s, what one line costs, and the live heap after the
// reading, which the caps on conversations (maxConvs) and waiting queries
// (maxQueries) bound whatever the text's size.
//
//	go test ./capture/tcpdumptext -run XXX -bench Reader -benchmem -benchtime 3x
func BenchmarkReader(b *testing.B) {
	for _, conns := range []int{10_000, 100_000} {
		text := benchText(conns)
		lines := 14 * conns
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			var heap uint64
			for range b.N {
				r := NewReader("bench.txt", bytes.NewReader(text))
				var f capture.Frame
				n := 0
				for {
					err := r.Next(&f)
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					n++
				}
				if n != lines {
					b.Fatalf("%d frames, want %d", n, lines)
				}
				b.StopTimer()
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				heap = max(heap, ms.HeapAlloc)
				runtime.KeepAlive(r)
				b.StartTimer()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*lines), "ns/line")
			b.ReportMetric(float64(heap-uint64(cap(text)))/(1<<20), "live-MB")
		})
	}
}
