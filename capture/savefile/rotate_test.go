package savefile

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpce-verify/vpce-verify/capture"
	"github.com/vpce-verify/vpce-verify/capture/pcapfile"
)

func TestFormatOf(t *testing.T) {
	for _, tc := range []struct {
		name, format string
		gzip         bool
	}{
		{"x.pcapng", "pcapng", false},
		{"X.PCAPNG", "pcapng", false},
		{"x.pcapng.gz", "pcapng", true},
		{"x.pcap.gz", "pcap", true},
		{"x.pcap", "pcap", false},
		{"evidence", "pcap", false},
		{"x.cap", "pcap", false},
		{"x.gz", "pcap", true},
		{"-", "pcap", false},
		{"x.pcapng.gz.bak", "pcap", false},
	} {
		if f, gz := FormatOf(tc.name); f != tc.format || gz != tc.gzip {
			t.Errorf("FormatOf(%q) = %s, gzip %v; want %s, %v", tc.name, f, gz, tc.format, tc.gzip)
		}
	}
}

func TestExpand(t *testing.T) {
	at := time.Date(2026, 3, 7, 9, 5, 4, 0, time.FixedZone("X", 5*3600+30*60))
	for _, tc := range []struct{ pattern, want string }{
		{"s3-%Y%m%d-%H%M%S.pcapng", "s3-20260307-090504.pcapng"},
		{"%F_%T.pcap", "2026-03-07_09:05:04.pcap"},
		{"%y-%j", "26-066"},
		{"%s", "1772854504"},
		{"%z", "+0530"},
		{"100%%.pcap", "100%.pcap"},
		{"plain.pcap", "plain.pcap"},
	} {
		if got := Expand(tc.pattern, at); got != tc.want {
			t.Errorf("Expand(%q) = %q, want %q", tc.pattern, got, tc.want)
		}
	}
	if hasTime, err := CheckPattern("x-%Y.pcap"); err != nil || !hasTime {
		t.Errorf("CheckPattern(x-%%Y.pcap) = %v, %v", hasTime, err)
	}
	if hasTime, err := CheckPattern("100%%.pcap"); err != nil || hasTime {
		t.Errorf("CheckPattern(100%%%%.pcap) = %v, %v: no time in it", hasTime, err)
	}
	for _, bad := range []string{"x-%Q.pcap", "x%"} {
		if _, err := CheckPattern(bad); err == nil {
			t.Errorf("CheckPattern(%q) accepted it", bad)
		}
	}
}

// The numbers tcpdump gives a -C series: without -W none on the first
// file, with -W N padded to the digits of N-1.
func TestNumbered(t *testing.T) {
	for _, tc := range []struct {
		files int
		want  []string
	}{
		{0, []string{"f", "f1", "f2", "f10"}},
		{3, []string{"f0", "f1", "f2", "f10"}},
		{10, []string{"f0", "f1", "f2", "f10"}},
		{11, []string{"f00", "f01", "f02", "f10"}},
		{1000, []string{"f000", "f001", "f002", "f010"}},
	} {
		d := countDigits(tc.files)
		var got []string
		for _, n := range []int{0, 1, 2, 10} {
			got = append(got, numbered("f", n, d))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("-W %d: %q, want %q", tc.files, got, tc.want)
		}
	}
}

// readBack reads a file as analyze does and returns its packet count,
// failing on any damage.
func readBack(t *testing.T, name string, data []byte) (n int, format string, gz bool) {
	t.Helper()
	r, err := pcapfile.NewReader(name, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var f capture.Frame
	for {
		err := r.Next(&f)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: after %d packets: %v", name, n, err)
		}
		n++
	}
	return n, r.Format(), r.Gzip()
}

// checkFiles checks that the listed files are the files in dir, each whole
// (read by pcapfile and, when installed, by tshark), with the digest and
// the packet count the list gives; it returns the packets of all.
func checkFiles(t *testing.T, dir string, files []File) int {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	var names, listed []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	total := 0
	for _, f := range files {
		listed = append(listed, filepath.Base(f.Name))
		data, err := os.ReadFile(f.Name)
		if err != nil {
			t.Fatal(err)
		}
		if f.Err != nil || f.SHA256 != fmt.Sprintf("%x", sha256.Sum256(data)) || f.Size != int64(len(data)) {
			t.Errorf("%s: listed sha256 %s size %d (%v); the file has %x, %d bytes", f.Name, f.SHA256, f.Size, f.Err, sha256.Sum256(data), len(data))
		}
		n, format, gz := readBack(t, f.Name, data)
		if uint64(n) != f.Packets || format != f.Format || gz != f.Gzip {
			t.Errorf("%s: read %d packets, %s gzip %v; listed %d, %s gzip %v", f.Name, n, format, gz, f.Packets, f.Format, f.Gzip)
		}
		if got := len(writerTshark(t, f.Name)); got != n {
			t.Errorf("%s: tshark reads %d packets, we read %d", f.Name, got, n)
		}
		total += n
	}
	slices.Sort(listed)
	if !slices.Equal(names, listed) {
		t.Errorf("files in the directory %q, listed %q", names, listed)
	}
	return total
}

// -C: a new file when the current one is past the size; the packets of
// the files add up to what was written, and each file is whole.
func TestRotateBySize(t *testing.T) {
	for _, name := range []string{"s3.pcapng", "s3.pcap", "s3.pcap.gz"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			w, err := Open(Options{Name: filepath.Join(dir, name), Size: 2500}, writerIfaces[:1])
			if err != nil {
				t.Fatal(err)
			}
			frames := writerFrames(t)
			const n = 100
			for i := range n {
				f := frames[[]int{0, 2}[i%2]]
				if err := w.Write(&f); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(nil); err != nil {
				t.Fatal(err)
			}
			files, over, notListed := w.Files()
			if len(files) < 3 || over != 0 || notListed != 0 {
				t.Fatalf("%d files (%d overwritten, %d not listed) for %d packets of about 70 bytes past 2500 bytes", len(files), over, notListed, n)
			}
			base := filepath.Join(dir, name)
			for i, f := range files {
				want := base
				if i > 0 {
					want = fmt.Sprint(base, i)
				}
				if f.Name != want {
					t.Errorf("file %d is %s, want %s", i, f.Name, want)
				}
			}
			if total := checkFiles(t, dir, files); total != n {
				t.Errorf("the files hold %d packets, %d were written", total, n)
			}
			if w.SHA256() != "" {
				t.Errorf("SHA256 %q names one file of several", w.SHA256())
			}
		})
	}
}

// -C with -W: a ring; the names are padded and reused, the list holds the
// files that are still there.
func TestRotateRing(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "ring.pcap")
	w, err := Open(Options{Name: base, Size: 500, Files: 3}, writerIfaces[:1])
	if err != nil {
		t.Fatal(err)
	}
	f := writerFrames(t)[0]
	for range 100 {
		if err := w.Write(&f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(nil); err != nil {
		t.Fatal(err)
	}
	files, over, _ := w.Files()
	var names []string
	var listed uint64
	for _, f := range files {
		names = append(names, filepath.Base(f.Name))
		listed += f.Packets
	}
	if len(files) != 3 || over == 0 {
		t.Fatalf("files %q, %d overwritten: want the ring of 3", names, over)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"ring.pcap0", "ring.pcap1", "ring.pcap2"}) {
		t.Errorf("names %q", names)
	}
	checkFiles(t, dir, files)
	if listed >= 100 {
		t.Errorf("the ring lists %d packets of 100: the overwritten files are still counted", listed)
	}
}

// -G with -W: a new file each period, named by its start; Limit says when
// the Files files are done, and the last file takes packets until Close.
func TestRotateByTime(t *testing.T) {
	dir := t.TempDir()
	w, err := Open(Options{Name: filepath.Join(dir, "t-%Y%m%d-%H%M%S.pcapng.gz"), Every: time.Second, Files: 3, Location: time.UTC}, writerIfaces)
	if err != nil {
		t.Fatal(err)
	}
	frames := writerFrames(t)
	start := time.Now()
	written := 0
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
loop:
	for {
		select {
		case <-w.Limit():
			break loop
		case <-tick.C:
			if time.Since(start) > 10*time.Second {
				t.Fatal("no limit after 10 s of 1 s periods")
			}
			if err := w.Write(&frames[written%len(frames)]); err != nil {
				t.Fatal(err)
			}
			written++
		}
	}
	// Upper bounds leave room for a loaded machine (go test ./... runs
	// packages side by side): a timer may fire late, never early.
	if d := time.Since(start); d < 3*time.Second-100*time.Millisecond || d > 6*time.Second {
		t.Errorf("limit after %v, want 3 s", d)
	}
	// After the limit, the last file takes what the stop still drains.
	if err := w.Write(&frames[0]); err != nil {
		t.Fatal(err)
	}
	written++
	if err := w.Close([]capture.Counts{{Received: 7}, {Received: 1}}); err != nil {
		t.Fatal(err)
	}
	files, _, _ := w.Files()
	if len(files) != 3 {
		t.Fatalf("%d files, want 3", len(files))
	}
	for i, f := range files {
		want := filepath.Join(dir, "t-"+f.Started.UTC().Format("20060102-150405")+".pcapng.gz")
		if f.Name != want || !f.Gzip || f.Format != "pcapng" {
			t.Errorf("file %d: %s (%s, gzip %v), want %s", i, f.Name, f.Format, f.Gzip, want)
		}
		if i > 0 {
			if d := f.Started.Sub(files[i-1].Started); d < 900*time.Millisecond || d > 2*time.Second {
				t.Errorf("file %d began %v after the one before, want 1 s", i, d)
			}
		}
	}
	if total := checkFiles(t, dir, files); total != written {
		t.Errorf("the files hold %d packets, %d were written", total, written)
	}
}

// -w -: pcap on standard output, flushed per packet with -U.
func TestStdout(t *testing.T) {
	var out syncBuffer
	w, err := Open(Options{Name: "-", Stdout: &out, Flush: true}, writerIfaces[:1])
	if err != nil {
		t.Fatal(err)
	}
	f := writerFrames(t)[0]
	for i := range 3 {
		if err := w.Write(&f); err != nil {
			t.Fatal(err)
		}
		// -U: each packet is out before the next comes.
		if n, _, _ := readBack(t, "-", out.Bytes()); n != i+1 {
			t.Errorf("after packet %d, standard output holds %d", i+1, n)
		}
	}
	if err := w.Close(nil); err != nil {
		t.Fatal(err)
	}
	files, _, _ := w.Files()
	if len(files) != 1 || files[0].Name != "-" || files[0].SHA256 != fmt.Sprintf("%x", sha256.Sum256(out.Bytes())) || files[0].Packets != 3 {
		t.Errorf("files %+v", files)
	}
}

// Without -U, packets wait for the timed flush: a reader of the file sees
// them within about a second, not at once.
func TestFlushTimed(t *testing.T) {
	for _, flush := range []bool{false, true} {
		t.Run(fmt.Sprint("flush=", flush), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.pcap.gz")
			w, err := Open(Options{Name: path, Flush: flush}, writerIfaces[:1])
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close(nil)
			f := writerFrames(t)[0]
			if err := w.Write(&f); err != nil {
				t.Fatal(err)
			}
			// A gzip stream without its end: read what decompresses.
			inFile := func() int {
				data, _ := os.ReadFile(path)
				r, err := pcapfile.NewReader(path, bytes.NewReader(data))
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				var fr capture.Frame
				for r.Next(&fr) == nil {
					n++
				}
				return n
			}
			if n := inFile(); flush != (n == 1) {
				t.Errorf("flush %v: %d packets in the file at once", flush, n)
			}
			time.Sleep(writerFlushEvery + writerFlushEvery/2)
			if n := inFile(); n != 1 {
				t.Errorf("%d packets in the file after the timed flush, want 1", n)
			}
		})
	}
}

func TestOptionsCheck(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{Name: "-", Size: 10}, "standard output cannot be rotated"},
		{Options{Name: "x", Files: 3}, "needs a file size or a rotation time"},
		{Options{Name: "x-%Q", Every: time.Second}, "%Q is not a time conversion"},
		{Options{Name: ""}, "no file name"},
	} {
		dir := t.TempDir()
		if tc.o.Name != "" && tc.o.Name != "-" {
			tc.o.Name = filepath.Join(dir, tc.o.Name)
		}
		if _, err := Open(tc.o, writerIfaces); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.o, err, tc.want)
		}
		if entries, _ := os.ReadDir(dir); len(entries) > 0 {
			t.Errorf("%+v: %s was created", tc.o, entries[0].Name())
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.b.Bytes())
}
