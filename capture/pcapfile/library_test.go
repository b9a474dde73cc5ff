package pcapfile

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/vpce-verify/vpce-verify/internal/testenv"
)

// What Reader and pcapgo's readers say about the same inputs: every capture
// of the corpus and of testdata/ reads the same through both; damaged ones
// do not. Each case below asserts pcapgo's actual behaviour (v1.7.7), so a
// change in either reader shows up here.

// libraryCall is what one pcapgo read returned.
type libraryCall struct {
	data []byte
	ci   gopacket.CaptureInfo
	link layers.LinkType // pcapng: from ci.AncillaryData, which the next call reuses
	err  error
}

// libraryPcapgoCalls opens data with pcapgo's pcap or pcapng reader and
// calls ZeroCopyReadPacketData until io.EOF, or at most limit times. The
// options are those a pcapng caller needs to see every packet
// (WantMixedLinkType) plus a StatisticsCallback into stats.
func libraryPcapgoCalls(t *testing.T, data []byte, ng bool, limit int, stats *[]pcapgo.NgInterfaceStatistics) ([]libraryCall, error) {
	t.Helper()
	var read func() ([]byte, gopacket.CaptureInfo, error)
	if ng {
		opts := pcapgo.NgReaderOptions{WantMixedLinkType: true}
		if stats != nil {
			opts.StatisticsCallback = func(_ int, s pcapgo.NgInterfaceStatistics) { *stats = append(*stats, s) }
		}
		r, err := pcapgo.NewNgReader(bytes.NewReader(data), opts)
		if err != nil {
			return nil, err
		}
		read = r.ZeroCopyReadPacketData
	} else {
		r, err := pcapgo.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		read = r.ZeroCopyReadPacketData
	}
	var calls []libraryCall
	for range limit {
		d, ci, err := read()
		var link layers.LinkType
		if len(ci.AncillaryData) > 0 {
			link = ci.AncillaryData[0].(layers.LinkType)
		}
		calls = append(calls, libraryCall{bytes.Clone(d), ci, link, err})
		if err == io.EOF {
			break
		}
	}
	return calls, nil
}

// libraryGood counts the calls that returned a packet and no error before
// the first error.
func libraryGood(calls []libraryCall) int {
	for i, c := range calls {
		if c.err != nil {
			return i
		}
	}
	return len(calls)
}

func TestLibraryDamage(t *testing.T) {
	le := binary.LittleEndian
	ts := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	p1, p2 := filePayload(1, 60), filePayload(2, 60)
	good := func() *filePcap { return newFilePcap(le, false, 1, 65535).record(ts, p1, 60).record(ts, p2, 60) }
	// pcapng: SHB (28 bytes), IDB (20), EPB (92): block 4 starts at 140,
	// and two more good packets follow the damaged block.
	ngHead := func() []byte {
		n := (&fileNg{}).shb(le).idb(1, 0)
		n.epb(0, uint64(ts.UnixMicro()), p1, 60)
		return n.bytes()
	}
	epb := (&fileNg{bo: le}).epb(0, uint64(ts.UnixMicro()), p2, 60).bytes()
	after := (&fileNg{bo: le}).epb(0, uint64(ts.UnixMicro()), p1, 60).epb(0, uint64(ts.UnixMicro()), p2, 60).bytes()
	patched := func(b []byte, at int, v uint32) []byte {
		b = bytes.Clone(b)
		le.PutUint32(b[at:], v)
		return b
	}

	cases := []struct {
		name string
		data []byte
		ng   bool
		// Reader: the packets before the damage and the whole message.
		ours    int
		oursMsg string
		// pcapgo: the packets it returns without error, then each call's
		// error and the length of the data returned with it.
		pcapgo     int
		pcapgoErrs []string // Error() of the calls after the good ones, "EOF" ending
		pcapgoLens []int
	}{
		{
			name: "pcap record header claims 3 GiB",
			data: slices.Concat(good().bytes(), newFilePcap(le, false, 1, 0).rawRecord(1, 2, 3<<30, 3<<30, p1).record(ts, p2, 60).bytes()[24:]),
			ours: 2, oursMsg: "x: record 3 at byte 176: header claims a 3221225472-byte packet, more than the 262144-byte maximum",
			// pcapgo refuses the record but not its bytes: the next calls
			// take the damaged record's payload for record headers.
			pcapgo: 2,
			pcapgoErrs: []string{
				"capture length exceeds snap length: 3221225472 > 65535",
				"capture length exceeds snap length: 1313292345 > 65535",
				"capture length exceeds snap length: 3199709353 > 65535",
				"capture length exceeds snap length: 774316057 > 65535",
				"capture length exceeds snap length: 2660733065 > 65535",
				"unexpected EOF",
				"EOF",
			},
			pcapgoLens: []int{0, 0, 0, 0, 0, 60, 0},
		},
		{
			name: "pcap cut in the middle of a record",
			data: good().rawRecord(1, 2, 100, 100, p1[:30]).bytes(),
			ours: 2, oursMsg: "x: record 3 at byte 176: the record holds a 100-byte packet but the file ends after 30 of its bytes",
			// The damaged record comes back whole-sized (100 bytes, 30
			// from the file) with io.ErrUnexpectedEOF, then io.EOF: a
			// loop that stops at io.EOF sees a clean end.
			pcapgo: 2, pcapgoErrs: []string{"unexpected EOF", "EOF"}, pcapgoLens: []int{100, 0},
		},
		{
			name: "pcapng block claims 4096 bytes and holds 92",
			data: slices.Concat(ngHead(), patched(epb, 4, 4096), after), ng: true,
			ours: 1, oursMsg: "x: block 4 at byte 140: enhanced packet block claims 4096 bytes but the file ends after 276",
			// pcapgo returns the block's packet with io.ErrUnexpectedEOF:
			// it skipped to the end of the file looking for the block's
			// end, and the two good packets after it went with it.
			pcapgo: 1, pcapgoErrs: []string{"unexpected EOF", "EOF"}, pcapgoLens: []int{60, 0},
		},
		{
			name: "pcapng block claims one word more than it holds",
			data: slices.Concat(ngHead(), patched(epb, 4, 96), after), ng: true,
			ours: 1, oursMsg: "x: block 4 at byte 140: enhanced packet block ends with length 6, not the 96 it starts with",
			// pcapgo returns the damaged block's packet as good, then
			// reads from the wrong place and loses the packets after it.
			pcapgo: 2, pcapgoErrs: []string{"unexpected EOF", "EOF"}, pcapgoLens: []int{0, 0},
		},
		{
			name: "pcapng block length not a multiple of 4",
			data: slices.Concat(ngHead(), patched(epb, 4, 93), after), ng: true,
			ours: 1, oursMsg: "x: block 4 at byte 140: enhanced packet block length 93 is not a multiple of 4",
			pcapgo: 1, pcapgoErrs: []string{"unexpected EOF", "EOF"}, pcapgoLens: []int{60, 0},
		},
		{
			name: "pcapng trailing length differs",
			data: slices.Concat(ngHead(), patched(epb, len(epb)-4, 999), after), ng: true,
			ours: 1, oursMsg: "x: block 4 at byte 140: enhanced packet block ends with length 999, not the 92 it starts with",
			// pcapgo never reads the trailing length: it reads on, and here
			// the packets after the damage are indeed whole.
			pcapgo: 4, pcapgoErrs: []string{"EOF"}, pcapgoLens: []int{0},
		},
		{
			name: "pcapng packet one byte longer than its block",
			data: slices.Concat(ngHead(), patched(epb, 20, 61), after), ng: true,
			ours: 1, oursMsg: "x: block 4 at byte 140: enhanced packet block claims a 61-byte packet but has room for 60",
			// pcapgo hands out 61 bytes, the last one read past the packet.
			pcapgo: 1, pcapgoErrs: []string{"unexpected EOF", "EOF"}, pcapgoLens: []int{61, 0},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, _, err := fileReadAll(t, "x", c.data)
			if len(got) != c.ours || err == nil || err.Error() != c.oursMsg {
				t.Errorf("Reader: %d packets, then %v\nwant %d, then %s", len(got), err, c.ours, c.oursMsg)
			}

			calls, err := libraryPcapgoCalls(t, c.data, c.ng, 20, nil)
			if err != nil {
				t.Fatalf("pcapgo open: %v", err)
			}
			n := libraryGood(calls)
			var errs []string
			var lens []int
			for _, call := range calls[n:] {
				errs = append(errs, call.err.Error())
				lens = append(lens, len(call.data))
			}
			if n != c.pcapgo || !slices.Equal(errs, c.pcapgoErrs) || !slices.Equal(lens, c.pcapgoLens) {
				t.Errorf("pcapgo: %d packets, then errors %q with %v bytes\nwant %d, then %q with %v bytes", n, errs, lens, c.pcapgo, c.pcapgoErrs, c.pcapgoLens)
			}
			// No pcapgo error here says where: none is more than a string
			// or io.ErrUnexpectedEOF itself.
			for _, call := range calls[n:] {
				if call.err != io.EOF && call.err != io.ErrUnexpectedEOF && reflect.TypeOf(call.err) != reflect.TypeOf(errors.New("")) {
					t.Errorf("pcapgo error %T %v", call.err, call.err)
				}
			}
		})
	}

	t.Run("gzip stream cut short", func(t *testing.T) {
		p := newFilePcap(le, false, 1, 65535)
		for i := range 200 {
			data := make([]byte, 200)
			for j := range data {
				data[j] = byte((i*7919 + j*104729) * 2654435761 >> 13)
			}
			p.record(ts, data, 200)
		}
		gz := fileGzip(p.bytes())
		cut := gz[:len(gz)/2]
		// What the first half decompresses to decides how many records
		// are whole.
		zr, _ := gzip.NewReader(bytes.NewReader(cut))
		prefix, _ := io.ReadAll(zr)
		whole := (len(prefix) - 24) / 216

		got, _, err := fileReadAll(t, "x.gz", cut)
		want := fmt.Sprintf("x.gz: record %d at byte %d of the decompressed data: the gzip stream ends inside ", whole+1, 24+whole*216)
		if len(got) != whole || err == nil || !strings.HasPrefix(err.Error(), want) || !errors.Is(err, ErrTruncated) {
			t.Errorf("Reader: %d packets, then %v\nwant %d, then %s...", len(got), err, whole, want)
		}

		calls, err := libraryPcapgoCalls(t, cut, false, 1000, nil)
		if err != nil {
			t.Fatal(err)
		}
		n := libraryGood(calls)
		if n != whole || len(calls) != n+2 || calls[n].err != io.ErrUnexpectedEOF || calls[n+1].err != io.EOF {
			t.Errorf("pcapgo: %d packets, then %v; want %d, then io.ErrUnexpectedEOF and io.EOF", n, calls[n:], whole)
		}
	})

	// A pcap header may declare any snap length; pcapgo trusts it up to
	// 4 GiB, but grows its buffer only as bytes arrive, so a record that
	// claims 2 GiB costs what the file holds, not what it claims.
	t.Run("pcap snap length and record both claim 2 GiB", func(t *testing.T) {
		data := slices.Concat(newFilePcap(le, false, 1, 0xffffffff).record(ts, p1, 60).bytes(),
			newFilePcap(le, false, 1, 0).rawRecord(1, 2, 0x7ffffff0, 0x7ffffff0, p1).bytes()[24:])
		got, _, err := fileReadAll(t, "x", data)
		if want := "x: record 2 at byte 100: header claims a 2147483632-byte packet, more than the 262144-byte maximum"; len(got) != 1 || err == nil || err.Error() != want {
			t.Errorf("Reader: %d packets, then %v; want 1, then %s", len(got), err, want)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		calls, err := libraryPcapgoCalls(t, data, false, 10, nil)
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatal(err)
		}
		if n := libraryGood(calls); n != 1 || len(calls) != 3 || calls[1].err != io.ErrUnexpectedEOF || len(calls[1].data) != 60 || calls[2].err != io.EOF {
			t.Errorf("pcapgo: %d packets, then %v; want 1, then 60 bytes with io.ErrUnexpectedEOF", n, calls[n:])
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 4<<20 {
			t.Errorf("pcapgo allocated %d bytes for a %d-byte file", n, len(data))
		}
	})
}

// TestLibraryReadsTheSame reads every capture of the shared corpus and of
// testdata/ with Reader and with pcapgo: the same packets, timestamps,
// lengths and link types (but for the time of a pcapng simple packet
// block), and where a file is damaged (one of the corpus is) the same
// packets before the damage.
func TestLibraryReadsTheSame(t *testing.T) {
	corpus := testenv.Shared(t, "corpus")
	root := testenv.RepoRoot(t)
	var files []string
	for _, pattern := range []string{filepath.Join(corpus, "*.pcap*"), filepath.Join(root, "testdata", "*.pcap*"), filepath.Join(root, "testdata", "real", "*.pcap*")} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 60 {
		t.Fatalf("found %d captures, want the corpus and testdata", len(files))
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			got, r, oursErr := fileReadAll(t, name, data)
			if r == nil {
				t.Fatalf("Reader: %v", oursErr)
			}
			// pcapgo's callers pick the reader: Reader.Format says which.
			calls, err := libraryPcapgoCalls(t, data, r.Format() == "pcapng", len(got)+2, nil)
			if err != nil {
				t.Fatalf("pcapgo open: %v", err)
			}
			n := libraryGood(calls)
			if n != len(got) || (oursErr == nil) != (calls[n].err == io.EOF) {
				t.Fatalf("Reader: %d packets, then %v; pcapgo: %d, then %v", len(got), oursErr, n, calls[n].err)
			}
			spb := 0
			for i, g := range got {
				c := calls[i]
				lt := r.Interfaces()[0].LinkType
				if r.Format() == "pcapng" {
					lt = c.link
				}
				wantTS := c.ci.Timestamp
				if wantTS.IsZero() && i > 0 && r.Format() == "pcapng" {
					// A simple packet block (two in each three-section
					// capture of the corpus) has no timestamp: pcapgo gives the zero Time,
					// Reader the time of the packet before.
					wantTS = got[i-1].TS
					spb++
				}
				if !bytes.Equal(g.Data, c.data) || !g.TS.Equal(wantTS) || g.WireLen != c.ci.Length || g.LinkType != lt {
					t.Fatalf("packet %d: Reader %d bytes at %v, wire %d, link %d; pcapgo %d bytes at %v, wire %d, link %d",
						i+1, len(g.Data), g.TS, g.WireLen, g.LinkType, len(c.data), c.ci.Timestamp, c.ci.Length, lt)
				}
			}
			if want := map[bool]int{true: 2}[strings.HasPrefix(name, "test202-")]; spb != want {
				t.Errorf("%d packets without a time from pcapgo, want %d", spb, want)
			}
		})
	}
}

// TestLibraryFeatures states what each reader does with the corpus files
// that exercise one feature each.
func TestLibraryFeatures(t *testing.T) {
	dir := testenv.Shared(t, "corpus")
	read := func(t *testing.T, name string) []byte {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}

	// Three sections, interfaces described again in the third, two link
	// types (Ethernet and NULL), statistics blocks with isb_ifdrop (10 and
	// 1) and isb_osdrop (42).
	for _, name := range []string{"test202-le.pcapng", "test202-be.pcapng"} {
		t.Run(name, func(t *testing.T) {
			data := read(t, name)
			got, r, err := fileReadAll(t, name, data)
			if err != nil {
				t.Fatal(err)
			}
			var ids []int
			for _, g := range got {
				ids = append(ids, g.Interface)
			}
			drops, known := r.Drops()
			if !slices.Equal(ids, []int{0, 0, 1, 2, 2, 2, 2, 1}) || len(r.Interfaces()) != 3 || drops != 53 || !known {
				t.Errorf("Reader: interfaces %v of %d, drops %d %v", ids, len(r.Interfaces()), drops, known)
			}

			// pcapgo's interface index starts again in each section: the
			// caller must count sections (SectionEndCallback) to tell
			// section 1's interface 0 from section 2's.
			var stats []pcapgo.NgInterfaceStatistics
			calls, err := libraryPcapgoCalls(t, data, true, 20, &stats)
			if err != nil {
				t.Fatal(err)
			}
			ids = ids[:0]
			for _, c := range calls[:libraryGood(calls)] {
				ids = append(ids, c.ci.InterfaceIndex)
			}
			if !slices.Equal(ids, []int{0, 0, 1, 0, 0, 0, 0, 1}) {
				t.Errorf("pcapgo: interfaces %v", ids)
			}
			// It reads isb_ifdrop (NgNoValue64 when absent) and not
			// isb_osdrop: the 42 drops of section 3 are not seen.
			var ifdrop uint64
			for _, s := range stats {
				if s.PacketsDropped != pcapgo.NgNoValue64 {
					ifdrop += s.PacketsDropped
				}
			}
			if len(stats) != 4 || ifdrop != 11 {
				t.Errorf("pcapgo: %d statistics blocks, isb_ifdrop %d; want 4, 11", len(stats), ifdrop)
			}

			// With its default options pcapgo drops, without a word, the
			// packets of every link type but the first interface's.
			def, err := pcapgo.NewNgReader(bytes.NewReader(data), pcapgo.DefaultNgReaderOptions)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for {
				if _, _, err := def.ZeroCopyReadPacketData(); err != nil {
					if err != io.EOF {
						t.Fatal(err)
					}
					break
				}
				n++
			}
			if n != 6 {
				t.Errorf("pcapgo with default options read %d of the 8 packets, want 6", n)
			}
		})
	}

	// Nanosecond pcap, big-endian pcap, gzip found by content, a record cut
	// by the snap length, raw IP: the same through both readers
	// (TestLibraryReadsTheSame); here the detail each shows.
	t.Run("tcp-handshake-nano.pcap", func(t *testing.T) {
		got, _, err := fileReadAll(t, "nano", read(t, "tcp-handshake-nano.pcap"))
		if err != nil || len(got) != 3 || got[0].TS.Nanosecond()%1000 == 0 {
			t.Errorf("Reader: %d packets, first at %v, %v: want nanoseconds", len(got), got[0].TS, err)
		}
		r, err := pcapgo.NewReader(bytes.NewReader(read(t, "tcp-handshake-nano.pcap")))
		if err != nil || r.Resolution() != gopacket.TimestampResolutionNanosecond {
			t.Errorf("pcapgo: %v, resolution %v", err, r.Resolution())
		}
	})
	t.Run("tls-fragmented-handshake.pcap.gz", func(t *testing.T) {
		// Both look for the gzip magic, not the name; pcapgo only once the
		// caller has chosen its pcap or its pcapng reader.
		renamed := read(t, "tls-fragmented-handshake.pcap.gz")
		got, r, err := fileReadAll(t, "capture", renamed)
		if err != nil || len(got) != 416 || !r.Gzip() {
			t.Errorf("Reader: %d packets, gzip %v, %v", len(got), r.Gzip(), err)
		}
		if _, err := pcapgo.NewNgReader(bytes.NewReader(renamed), pcapgo.DefaultNgReaderOptions); err == nil {
			t.Error("pcapgo's pcapng reader opened a gzip-compressed pcap")
		}
	})
	t.Run("bigendian.pcap", func(t *testing.T) {
		data := read(t, "bigendian.pcap")
		if binary.BigEndian.Uint32(data) != 0xa1b2c3d4 {
			t.Fatalf("magic % x: not a big-endian pcap", data[:4])
		}
		if _, err := pcapgo.NewReader(bytes.NewReader(data)); err != nil {
			t.Errorf("pcapgo: %v", err)
		}
	})
	t.Run("tls_DER-incomplete-header.pcap", func(t *testing.T) {
		data := read(t, "tls_DER-incomplete-header.pcap")
		got, _, err := fileReadAll(t, "tls_DER-incomplete-header.pcap", data)
		const want = "tls_DER-incomplete-header.pcap: record 7 at byte 5035: header claims a 4325376-byte packet, more than the 262144-byte maximum"
		if len(got) != 6 || err == nil || err.Error() != want {
			t.Errorf("Reader: %d packets, then %v", len(got), err)
		}
		calls, err := libraryPcapgoCalls(t, data, false, 7, nil)
		if err != nil {
			t.Fatal(err)
		}
		if n := libraryGood(calls); n != 6 || calls[6].err.Error() != "capture length exceeds snap length: 4325376 > 262144" {
			t.Errorf("pcapgo: %d packets, then %v", n, calls[n].err)
		}
	})
}
