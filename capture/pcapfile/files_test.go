package pcapfile

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/vpce-verify/vpce-verify/capture"
	"github.com/vpce-verify/vpce-verify/capture/flow"
	"github.com/vpce-verify/vpce-verify/internal/testenv"
)

// fileInMemory is an input held in memory: a stream to ReadFiles (no Stat),
// so it is opened once.
func fileInMemory(name string, data []byte) File {
	return File{Name: name, Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}
}

// fileOpens counts what ReadFiles opens: how often each input, and how many
// at most at once.
type fileOpens struct {
	mu       sync.Mutex
	calls    map[string]int
	open     int
	mostOpen int
	read     map[string][]int64 // bytes read, per open of each path
}

// file is path as an input whose opens and closes are counted; what Open
// returns is an *os.File underneath (a regular file to ReadFiles).
func (o *fileOpens) file(path string) File {
	return File{Name: filepath.Base(path), Open: func() (io.ReadCloser, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		o.mu.Lock()
		defer o.mu.Unlock()
		if o.calls == nil {
			o.calls, o.read = map[string]int{}, map[string][]int64{}
		}
		o.calls[path]++
		o.open++
		o.mostOpen = max(o.mostOpen, o.open)
		o.read[path] = append(o.read[path], 0)
		return fileCounted{f, o, &o.read[path][len(o.read[path])-1]}, nil
	}}
}

type fileCounted struct {
	*os.File
	o    *fileOpens
	read *int64
}

func (f fileCounted) Read(p []byte) (int, error) {
	n, err := f.File.Read(p)
	f.o.mu.Lock()
	*f.read += int64(n)
	f.o.mu.Unlock()
	return n, err
}

func (f fileCounted) Close() error {
	f.o.mu.Lock()
	f.o.open--
	f.o.mu.Unlock()
	return f.File.Close()
}

// fileConversation is conns TCP connections one after another (handshake,
// data both ways, close) as Ethernet frames, ten per connection,
// serialized by gopacket.
func fileConversation(t testing.TB, conns int) []capture.Frame {
	ts := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	var frames []capture.Frame
	client, server := netip.MustParseAddr("10.0.1.25"), netip.MustParseAddr("10.0.2.50")
	for i := range conns {
		cport := layers.TCPPort(40000 + i%20000)
		cseq, sseq := uint32(1000), uint32(5000)
		seg := func(fromClient bool, flags string, payload string) {
			src, dst, sp, dp, seq, ack := client, server, cport, layers.TCPPort(443), &cseq, sseq
			if !fromClient {
				src, dst, sp, dp, seq, ack = server, client, 443, cport, &sseq, cseq
			}
			tcp := &layers.TCP{SrcPort: sp, DstPort: dp, Seq: *seq, Window: 64240}
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
			ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
			if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
				t.Fatal(err)
			}
			eth := &layers.Ethernet{SrcMAC: []byte{2, 0, 0, 0, 0, 0x25}, DstMAC: []byte{2, 0, 0, 0, 0, 0x50}, EthernetType: layers.EthernetTypeIPv4}
			buf := gopacket.NewSerializeBuffer()
			if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp, gopacket.Payload(payload)); err != nil {
				t.Fatal(err)
			}
			data := slices.Clone(buf.Bytes())
			frames = append(frames, capture.Frame{TS: ts, Data: data, WireLen: len(data), LinkType: layers.LinkTypeEthernet})
			ts = ts.Add(time.Millisecond)
			*seq += uint32(len(payload))
			if strings.ContainsAny(flags, "SF") {
				*seq++
			}
		}
		seg(true, "S", "")
		seg(false, "SA", "")
		seg(true, "A", "")
		seg(true, "PA", "request")
		seg(false, "A", "")
		seg(false, "PA", "response")
		seg(true, "A", "")
		seg(true, "FA", "")
		seg(false, "FA", "")
		seg(true, "A", "")
	}
	return frames
}

// fileWritePcaps writes frames as pcap files of per frames each into dir and
// returns their paths, in time order.
func fileWritePcaps(t testing.TB, dir string, frames []capture.Frame, per int) []string {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for i := 0; i < len(frames); i += per {
		p := newFilePcap(binary.LittleEndian, true, 1, 262144)
		for _, f := range frames[i:min(i+per, len(frames))] {
			p.record(f.TS, f.Data, f.WireLen)
		}
		path := filepath.Join(dir, fmt.Sprintf("rot_%05d.pcap", len(paths)))
		if err := os.WriteFile(path, p.bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, path)
	}
	return paths
}

// fileFlowSummary is what a test compares of two analyses: every
// connection's endpoints, state, history and counts, in order.
func fileFlowSummary(r *flow.Result) []string {
	var s []string
	for _, f := range r.Flows {
		s = append(s, fmt.Sprintf("%v %v %s %s %v %v", f.Client, f.Server, f.ConnState(), f.History(), f.Packets(), f.Bytes()))
	}
	return s
}

// readFilesLimit is ReadFiles holding at most limit files open.
func readFilesLimit(sink capture.Sink, files []File, limit int) ([]capture.Input, []capture.Interface) {
	m := NewMerge(files, limit)
	capture.Run(context.Background(), m, sink, capture.RunOptions{})
	return m.Inputs(), m.Interfaces()
}

// Rotated captures (tcpdump -C, editcap -c) are read one file at a time:
// a thousand of them never hold more than one descriptor, in whatever
// order they are given, and give the analysis the one file of the same
// packets gives.
func TestReadFilesRotated(t *testing.T) {
	frames := fileConversation(t, 200)
	dir := t.TempDir()
	paths := fileWritePcaps(t, dir, frames, 2)
	if len(paths) != 1000 {
		t.Fatalf("%d files", len(paths))
	}
	single := fileWritePcaps(t, t.TempDir(), frames, len(frames))
	a := flow.NewAnalyzer(flow.Options{})
	ReadFiles(context.Background(), a, []File{new(fileOpens).file(single[0])})
	want := fileFlowSummary(a.Result())

	for _, order := range []string{"in time order", "reversed"} {
		t.Run(order, func(t *testing.T) {
			var opens fileOpens
			var files []File
			for _, p := range paths {
				files = append(files, opens.file(p))
			}
			if order == "reversed" {
				slices.Reverse(files)
			}
			goroutines := runtime.NumGoroutine()
			a := flow.NewAnalyzer(flow.Options{})
			inputs, ifaces := readFilesLimit(a, files, 8)
			var packets uint64
			for _, in := range inputs {
				if in.Err != nil || len(in.SHA256) != 64 {
					t.Fatalf("%s: %v, sha256 %q", in.Name, in.Err, in.SHA256)
				}
				packets += in.Packets
			}
			if packets != uint64(len(frames)) {
				t.Errorf("%d packets, want %d", packets, len(frames))
			}
			if got := fileFlowSummary(a.Result()); !slices.Equal(got, want) {
				t.Errorf("%d connections differ from the single file's %d; first: %v / %v", len(got), len(want), got[:min(1, len(got))], want[:min(1, len(want))])
			}
			if len(ifaces) != len(files) {
				t.Errorf("%d interfaces, want one per file", len(ifaces))
			}
			if opens.mostOpen != 1 {
				t.Errorf("%d files open at once; rotated files do not overlap, so one is enough", opens.mostOpen)
			}
			for _, p := range paths {
				if n := opens.calls[p]; n != 2 {
					t.Errorf("%s opened %d times, want 2 (its first packet's time, then its packets)", p, n)
					break
				}
			}
			// The hashing goroutines end with their files.
			for range 100 {
				if runtime.NumGoroutine() <= goroutines {
					break
				}
				time.Sleep(time.Millisecond)
			}
			if n := runtime.NumGoroutine(); n > goroutines {
				t.Errorf("%d goroutines after ReadFiles, %d before", n, goroutines)
			}
		})
	}
}

// The look at a file's first packet, before the merge, reads little of it.
func TestReadFilesPeekReadsLittle(t *testing.T) {
	frames := fileConversation(t, 200)
	for i := range frames {
		frames[i].Data = append(bytes.Clone(frames[i].Data), make([]byte, 1000)...) // 2 MB in all
		frames[i].WireLen = len(frames[i].Data)
	}
	paths := fileWritePcaps(t, t.TempDir(), frames, len(frames)/2)
	var opens fileOpens
	inputs, _ := ReadFiles(context.Background(), flow.NewAnalyzer(flow.Options{}), []File{opens.file(paths[0]), opens.file(paths[1])})
	for i, p := range paths {
		st, _ := os.Stat(p)
		if inputs[i].Err != nil || len(opens.read[p]) != 2 || opens.read[p][1] != st.Size() {
			t.Fatalf("%s: %v; %v bytes read per open of the %d", p, inputs[i].Err, opens.read[p], st.Size())
		}
		if peek := opens.read[p][0]; peek > 128<<10 {
			t.Errorf("%s: the peek at its first packet read %d KiB", p, peek>>10)
		}
	}
}

// Files that overlap in time are open together, up to the limit; an input
// beyond it is not read, and says why.
func TestReadFilesOverlapping(t *testing.T) {
	frames := fileConversation(t, 30)
	// File i holds frames i, i+6, i+12, ...: every file spans the whole
	// capture.
	dir := t.TempDir()
	var paths []string
	for i := range 6 {
		p := newFilePcap(binary.LittleEndian, true, 1, 262144)
		for j := i; j < len(frames); j += 6 {
			p.record(frames[j].TS, frames[j].Data, frames[j].WireLen)
		}
		path := filepath.Join(dir, fmt.Sprintf("part%d.pcap", i))
		if err := os.WriteFile(path, p.bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, path)
	}
	single := flow.NewAnalyzer(flow.Options{})
	for i := range frames {
		single.Add(&frames[i])
	}
	want := fileFlowSummary(single.Result())

	for _, limit := range []int{6, 4} {
		t.Run(fmt.Sprint("limit ", limit), func(t *testing.T) {
			var opens fileOpens
			var files []File
			for _, p := range paths {
				files = append(files, opens.file(p))
			}
			a := flow.NewAnalyzer(flow.Options{})
			inputs, _ := readFilesLimit(a, files, limit)
			if opens.mostOpen > limit {
				t.Errorf("%d files open at once, limit %d", opens.mostOpen, limit)
			}
			for i, in := range inputs {
				if i < limit {
					if in.Err != nil || int(in.Packets) != len(frames)/6 {
						t.Errorf("%s: %d packets, %v", in.Name, in.Packets, in.Err)
					}
					continue
				}
				if !errors.Is(in.Err, ErrTooManyOpen) || in.Packets != 0 || in.SHA256 != "" ||
					in.Err.Error() != fmt.Sprintf("part%d.pcap: not read: %d inputs that overlap it in time are open, the most read at once: too many inputs overlap in time", i, limit) {
					t.Errorf("%s: %d packets, sha256 %q, error %v; want it not read, for ErrTooManyOpen", in.Name, in.Packets, in.SHA256, in.Err)
				}
			}
			if limit == 6 && !slices.Equal(fileFlowSummary(a.Result()), want) {
				t.Errorf("merged connections %v\nwant %v", fileFlowSummary(a.Result()), want)
			}
		})
	}
}

// Standard input, a pipe or a reader in memory cannot be opened twice: it is
// opened once, held, and merged with files that are opened when their time
// comes.
func TestReadFilesStreamAmongFiles(t *testing.T) {
	frames := fileConversation(t, 20)
	// The stream holds the middle of the capture, the files the start and
	// the end.
	third := len(frames) / 3
	dir := t.TempDir()
	start := fileWritePcaps(t, dir, frames[:third], third)[0]
	end := fileWritePcaps(t, filepath.Join(dir, "end"), frames[2*third:], len(frames))[0]
	p := newFilePcap(binary.LittleEndian, true, 1, 262144)
	for _, f := range frames[third : 2*third] {
		p.record(f.TS, f.Data, f.WireLen)
	}
	streamOpens := 0
	stream := File{Name: "-", Open: func() (io.ReadCloser, error) {
		streamOpens++
		return io.NopCloser(bytes.NewReader(p.bytes())), nil
	}}
	var opens fileOpens
	a := flow.NewAnalyzer(flow.Options{})
	inputs, _ := ReadFiles(context.Background(), a, []File{opens.file(end), stream, opens.file(start)})
	for _, in := range inputs {
		if in.Err != nil || in.Packets == 0 {
			t.Errorf("%s: %d packets, %v", in.Name, in.Packets, in.Err)
		}
	}
	if streamOpens != 1 {
		t.Errorf("the stream was opened %d times", streamOpens)
	}
	single := flow.NewAnalyzer(flow.Options{})
	for i := range frames {
		single.Add(&frames[i])
	}
	if got, want := fileFlowSummary(a.Result()), fileFlowSummary(single.Result()); !slices.Equal(got, want) {
		t.Errorf("merged connections %v\nwant %v", got, want)
	}
}

// Many sections, or many interface description blocks among the packets,
// cost ReadFiles O(1) each, and its interface list holds the distinct
// interfaces only. (Both took 30 s and more at 40,000 blocks, and the list
// grew by one per block.)
func TestReadFilesManyInterfaceBlocks(t *testing.T) {
	const n = 50_000
	le := binary.LittleEndian
	p := filePayload(1, 60)
	sections, interleaved := &fileNg{}, (&fileNg{}).shb(le)
	for i := range n {
		sections.shb(le).idb(1, 65535, fileOptName("eth0")).epb(0, uint64(i), p, 60)
		interleaved.idb(1, 65535, fileOptName("eth0")).epb(uint32(i), uint64(i), p, 60)
	}
	for name, data := range map[string][]byte{"sections": sections.bytes(), "interleaved": interleaved.bytes()} {
		t.Run(name, func(t *testing.T) {
			inputs, ifaces := ReadFiles(context.Background(), flow.NewAnalyzer(flow.Options{}), []File{fileInMemory(name, data)})
			if in := inputs[0]; in.Err != nil || in.Packets != n {
				t.Errorf("%d packets, %v; want %d", in.Packets, in.Err, n)
			}
			if want := []capture.Interface{{Name: "eth0", LinkType: 1, SnapLen: 65535}}; !slices.Equal(ifaces, want) {
				t.Errorf("%d interfaces, want %v", len(ifaces), want)
			}
		})
	}
}

// fileEndless is a stream that never ends: after head, zeros. It counts
// what it gave after head.
type fileEndless struct {
	head  []byte
	after int64
}

func (e *fileEndless) Read(p []byte) (int, error) {
	if len(e.head) > 0 {
		n := copy(p, e.head)
		e.head = e.head[n:]
		return n, nil
	}
	clear(p)
	e.after += int64(len(p))
	return len(p), nil
}

// fileCountedDevice is a device file whose reads are counted; Stat is the
// file's own.
type fileCountedDevice struct {
	*os.File
	n *int64
}

func (d fileCountedDevice) Read(p []byte) (int, error) {
	n, err := d.File.Read(p)
	*d.n += int64(n)
	return n, err
}

// Damage in a stream ends its reading: a stream may never end, so it is not
// read on for its digest (which it then has none of). A damaged regular
// file is hashed to its end.
func TestReadFilesDamagedStream(t *testing.T) {
	le := binary.LittleEndian
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p := filePayload(1, 60)
	good := newFilePcap(le, false, 1, 65535).record(ts, p, 60).record(ts, p, 60)
	damaged := good.rawRecord(0, 0, 5<<20, 5<<20, nil).bytes() // record 3 claims 5 MiB
	const damage = "record 3 at byte 176: header claims a 5242880-byte packet, more than the 262144-byte maximum"
	// What the reader may take beyond the damage: its read buffer, and
	// what the hashing had in flight.
	const readAhead = 8 << 20

	t.Run("damaged record, then endless", func(t *testing.T) {
		e := &fileEndless{head: damaged}
		in, _ := ReadFiles(context.Background(), flow.NewAnalyzer(flow.Options{}), []File{{Name: "-", Open: func() (io.ReadCloser, error) { return io.NopCloser(e), nil }}})
		if in[0].Err == nil || in[0].Err.Error() != "-: "+damage || in[0].Packets != 2 {
			t.Errorf("%d packets, %v; want 2 and -: %s", in[0].Packets, in[0].Err, damage)
		}
		if in[0].SHA256 != "" || e.after > readAhead {
			t.Errorf("sha256 %q after reading %d bytes past the damage; want none, and no reading on", in[0].SHA256, e.after)
		}
	})
	t.Run("zeros", func(t *testing.T) {
		e := &fileEndless{}
		in, _ := ReadFiles(context.Background(), flow.NewAnalyzer(flow.Options{}), []File{{Name: "-", Open: func() (io.ReadCloser, error) { return io.NopCloser(e), nil }}})
		if in[0].Err == nil || in[0].Err.Error() != "-: file header: not a pcap or pcapng file (magic 00 00 00 00)" || in[0].SHA256 != "" || e.after > readAhead {
			t.Errorf("%v, sha256 %q, %d bytes read", in[0].Err, in[0].SHA256, e.after)
		}
	})
	t.Run("/dev/zero by name", func(t *testing.T) {
		var n int64
		open := func() (io.ReadCloser, error) {
			f, err := os.Open("/dev/zero")
			if err != nil {
				testenv.Unavailable(t, "%v", err)
			}
			return fileCountedDevice{f, &n}, nil
		}
		in, _ := ReadFiles(context.Background(), flow.NewAnalyzer(flow.Options{}), []File{{Name: "/dev/zero", Open: open}})
		if !errors.Is(in[0].Err, ErrNotCapture) || in[0].SHA256 != "" || n > readAhead {
			t.Errorf("%v, sha256 %q, %d bytes read", in[0].Err, in[0].SHA256, n)
		}
	})
	t.Run("regular file", func(t *testing.T) {
		data := slices.Concat(damaged, make([]byte, 3<<20))
		path := filepath.Join(t.TempDir(), "x.pcap")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		in, _ := ReadFiles(context.Background(), flow.NewAnalyzer(flow.Options{}), []File{new(fileOpens).file(path)})
		if in[0].Err == nil || in[0].Err.Error() != "x.pcap: "+damage || in[0].Packets != 2 {
			t.Errorf("%d packets, %v", in[0].Packets, in[0].Err)
		}
		if want := fmt.Sprintf("%x", sha256.Sum256(data)); in[0].SHA256 != want || in[0].Size != int64(len(data)) {
			t.Errorf("sha256 %s of %d bytes, want the whole file's %s of %d", in[0].SHA256, in[0].Size, want, len(data))
		}
	})
}

// A long gzip stream of empty records (pcap header, then zeros: each
// 16-byte record holds a packet of 0 bytes) is read to its end in flat
// memory, as it arrives.
func TestReadFilesLongGzipStream(t *testing.T) {
	const decompressed = 200 << 20
	pr, pw := io.Pipe()
	digest := sha256.New()
	var peak uint64
	go func() {
		zw, _ := gzip.NewWriterLevel(io.MultiWriter(pw, digest), gzip.BestSpeed)
		zw.Write(newFilePcap(binary.LittleEndian, false, 1, 65535).bytes())
		zeros := make([]byte, 1<<20)
		var ms runtime.MemStats
		for i := range decompressed >> 20 {
			zw.Write(zeros)
			if i%16 == 0 {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
		}
		zw.Close()
		pw.Close()
	}()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	in, _ := ReadFiles(context.Background(), flow.NewAnalyzer(flow.Options{}), []File{{Name: "-", Open: func() (io.ReadCloser, error) { return pr, nil }}})
	if in[0].Err != nil || in[0].Packets != decompressed/16 {
		t.Errorf("%d packets, %v; want %d", in[0].Packets, in[0].Err, decompressed/16)
	}
	if want := fmt.Sprintf("%x", digest.Sum(nil)); in[0].SHA256 != want {
		t.Errorf("sha256 %s, want %s", in[0].SHA256, want)
	}
	// The read buffers, the decompressor and the analyzer's tables: a
	// few MiB, whatever the stream's length.
	if grew := int64(peak) - int64(before.HeapInuse); grew > 32<<20 {
		t.Errorf("heap in use grew by %d MiB while reading", grew>>20)
	}
}

// A stop (Ctrl-C) ends every input: each not read to its end is marked
// interrupted, has no digest, and no error (a stop is not damage).
func TestReadFilesStopped(t *testing.T) {
	frames := fileConversation(t, 10)
	paths := fileWritePcaps(t, t.TempDir(), frames, 10)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var files []File
	for _, p := range paths {
		files = append(files, new(fileOpens).file(p))
	}
	inputs, _ := ReadFiles(ctx, flow.NewAnalyzer(flow.Options{}), files)
	for _, in := range inputs {
		if !in.Interrupted || in.Err != nil || in.SHA256 != "" {
			t.Errorf("%s: %v, sha256 %q", in.Name, in.Err, in.SHA256)
		}
	}
}

// BenchmarkReadFilesMany reads the same 100,000 packets (10,000 short
// connections) from one pcap file and from rotated files on disk, opened
// as analyze opens them; ns/pkt shows what each file costs beyond its
// packets, allocs/pkt what the per-file and per-connection work
// allocates, spread over the packets.
func BenchmarkReadFilesMany(b *testing.B) {
	frames := fileConversation(b, 10_000)
	for _, n := range []int{1, 1000, 10_000} {
		b.Run(fmt.Sprintf("%d files", n), func(b *testing.B) {
			var files []File
			for _, p := range fileWritePcaps(b, b.TempDir(), frames, len(frames)/n) {
				files = append(files, File{Name: p, Open: func() (io.ReadCloser, error) { return os.Open(p) }})
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				inputs, _ := ReadFiles(context.Background(), flow.NewAnalyzer(flow.Options{}), files)
				for _, in := range inputs {
					if in.Err != nil {
						b.Fatal(in.Err)
					}
				}
			}
			b.StopTimer()
			runtime.ReadMemStats(&after)
			packets := float64(b.N * len(frames))
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/packets, "ns/pkt")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/packets, "allocs/pkt")
		})
	}
}

// BenchmarkReadFilesSections reads a pcapng file of 20,000 sections, each
// an interface description and one packet (concatenated captures); one op
// is one section.
func BenchmarkReadFilesSections(b *testing.B) {
	const n = 20_000
	ng := &fileNg{}
	p := filePayload(1, 60)
	for i := range n {
		ng.shb(binary.LittleEndian).idb(1, 65535, fileOptName("eth0")).epb(0, uint64(i), p, 60)
	}
	data := ng.bytes()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += n {
		inputs, _ := ReadFiles(context.Background(), flow.NewAnalyzer(flow.Options{}), []File{fileInMemory("x", data)})
		if inputs[0].Err != nil || inputs[0].Packets != n {
			b.Fatal(inputs[0].Packets, inputs[0].Err)
		}
	}
}

// A stop while standard input is still open (a capture being written into
// a pipe) ends the run at once: the packets that came are the evidence,
// the input is interrupted and has no digest.
func TestReadFilesStoppedOnOpenPipe(t *testing.T) {
	frames := fileConversation(t, 3)
	p := newFilePcap(binary.LittleEndian, true, 1, 262144)
	for _, f := range frames {
		p.record(f.TS, f.Data, f.WireLen)
	}
	pr, pw := io.Pipe()
	defer pw.Close()
	go pw.Write(p.bytes()) // then the writer stays: the pipe is never closed

	a := flow.NewAnalyzer(flow.Options{})
	counted := &fileCountSink{sink: a, seen: make(chan struct{})}
	m := NewMerge([]File{{Name: "-", Open: func() (io.ReadCloser, error) { return pr, nil }}}, 0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan capture.RunResult)
	go func() { done <- capture.Run(ctx, m, counted, capture.RunOptions{}) }()
	<-counted.seen // every packet written has been read; the next read blocks
	stopped := time.Now()
	cancel()
	select {
	case res := <-done:
		if took := time.Since(stopped); took > time.Second {
			t.Errorf("the run took %v to stop", took)
		}
		in := m.Inputs()[0]
		if res.StopReason != "interrupted" || !in.Interrupted || in.Err != nil || in.SHA256 != "" || in.Packets != uint64(len(frames)) {
			t.Errorf("stop %q, input %+v", res.StopReason, in)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("one stop did not end a run blocked on an open pipe")
	}
}

// fileCountSink passes frames on and says when the 30th (all of fileConversation(t, 3)) arrived.
type fileCountSink struct {
	sink capture.Sink
	n    int
	seen chan struct{}
}

func (c *fileCountSink) Add(f *capture.Frame) error {
	c.n++
	if c.n == 30 {
		close(c.seen)
	}
	return c.sink.Add(f)
}

// Each input's capture window (first and last packet time) is what tshark
// reads as the first and the last frame's time.
func TestMergeWindow(t *testing.T) {
	root := testenv.RepoRoot(t)
	names := []string{"real/example.pcapng", "real/mixed.pcap"}
	var files []File
	for _, n := range names {
		path := filepath.Join(root, "testdata", n)
		files = append(files, File{Name: n, Open: func() (io.ReadCloser, error) { return os.Open(path) }})
	}
	m := NewMerge(files, 0)
	capture.Run(context.Background(), m, sinkFunc(func(*capture.Frame) error { return nil }), capture.RunOptions{})
	for i, in := range m.Inputs() {
		times := testenv.Tshark(t, "-r", filepath.Join(root, "testdata", names[i]), "-T", "fields", "-e", "frame.time_epoch")
		first, last := epoch(t, times[0]), epoch(t, times[len(times)-1])
		if !in.First.Equal(first) || !in.Last.Equal(last) {
			t.Errorf("%s: window %v to %v, tshark says %v to %v", in.Name, in.First, in.Last, first, last)
		}
	}
}

type sinkFunc func(*capture.Frame) error

func (f sinkFunc) Add(fr *capture.Frame) error { return f(fr) }

func epoch(t *testing.T, s string) time.Time {
	t.Helper()
	sec, frac, _ := strings.Cut(s, ".")
	a, err1 := strconv.ParseInt(sec, 10, 64)
	b, err2 := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("time %q", s)
	}
	return time.Unix(a, b)
}
