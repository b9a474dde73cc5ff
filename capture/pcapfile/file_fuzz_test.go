package pcapfile

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/vpce-verify/vpce-verify/capture"
	"github.com/vpce-verify/vpce-verify/capture/flow"
	"github.com/vpce-verify/vpce-verify/internal/testenv"
)

// FuzzFileReader feeds the reader arbitrary bytes: it must never panic,
// every packet it returns must be consistent, and every failure must be a
// *Error that says where and which kind.
func FuzzFileReader(f *testing.F) {
	for _, c := range fileBuiltCases() {
		f.Add(c.data)
		f.Add(fileGzip(c.data))
	}
	f.Add(fileSynthetic(false, 3, 40))
	f.Add(fileSynthetic(true, 3, 40))
	// The shared corpus, where it is (its own tests insist on it in CI).
	dir := os.Getenv("VPCE_SHARED")
	if dir == "" {
		dir = filepath.Join(testenv.RepoRoot(f), "..", "shared")
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "corpus"))
	for _, e := range entries {
		if data, err := os.ReadFile(filepath.Join(dir, "corpus", e.Name())); err == nil && len(data) <= 64<<10 && e.Name() != "SOURCES.md" {
			f.Add(data)
		}
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader("fuzz", bytes.NewReader(data))
		if err != nil {
			fileCheckFuzzError(t, err, data)
			return
		}
		var fr capture.Frame
		for n := 0; n < 1<<20; n++ {
			err := r.Next(&fr)
			if err == io.EOF {
				return
			}
			if err != nil {
				fileCheckFuzzError(t, err, data)
				if fe := err.(*Error); fe.Record == 0 {
					t.Fatalf("damage after the header reported as the file header: %v", err)
				}
				return
			}
			ifaces := r.Interfaces()
			switch {
			case len(fr.Data) > fileMaxPacket:
				t.Fatalf("packet %d: %d bytes", n+1, len(fr.Data))
			case fr.WireLen < len(fr.Data):
				t.Fatalf("packet %d: WireLen %d < %d captured", n+1, fr.WireLen, len(fr.Data))
			case fr.Interface < 0 || fr.Interface >= len(ifaces):
				t.Fatalf("packet %d: interface %d of %d", n+1, fr.Interface, len(ifaces))
			case ifaces[fr.Interface].LinkType != fr.LinkType:
				t.Fatalf("packet %d: link type %d, its interface says %d", n+1, fr.LinkType, ifaces[fr.Interface].LinkType)
			case fr.TS.Location() != time.UTC:
				t.Fatalf("packet %d: TS not in UTC", n+1)
			case r.Records() != n+1:
				t.Fatalf("Records() = %d after %d packets", r.Records(), n+1)
			case len(ifaces) > fileMaxInterfaces:
				t.Fatalf("%d interfaces listed", len(ifaces))
			case slices.Index(ifaces, ifaces[fr.Interface]) != fr.Interface:
				t.Fatalf("packet %d: interface %d is listed before, as %d", n+1, fr.Interface, slices.Index(ifaces, ifaces[fr.Interface]))
			}
		}
	})
}

func fileCheckFuzzError(t *testing.T, err error, data []byte) {
	t.Helper()
	var fe *Error
	if !errors.As(err, &fe) {
		t.Fatalf("%v is %T, not a *FileError", err, err)
	}
	kinds := 0
	for _, k := range []error{ErrNotCapture, ErrTruncated, ErrOversize, ErrMalformed} {
		if errors.Is(err, k) {
			kinds++
		}
	}
	if kinds != 1 {
		t.Fatalf("%v matches %d of the sentinel errors, want 1", err, kinds)
	}
	if fe.Record < 0 || fe.Offset < 0 || (!fe.gzip && fe.Offset > int64(len(data))) {
		t.Fatalf("%v: record %d offset %d in a %d-byte input", err, fe.Record, fe.Offset, len(data))
	}
	if errors.Is(err, gzip.ErrChecksum) && !fe.gzip {
		t.Fatalf("gzip error for a plain input: %v", err)
	}
}

// FuzzReadFiles merges two arbitrary inputs: it must never panic, and each
// input either ends cleanly, with the digest of all its bytes, or says
// where it was damaged and has none (a stream is not read on).
func FuzzReadFiles(f *testing.F) {
	cases := fileBuiltCases()
	for i, c := range cases {
		f.Add(c.data, cases[(i+1)%len(cases)].data)
	}
	f.Add(fileSynthetic(false, 3, 40), fileGzip(fileSynthetic(true, 3, 40)))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		inputs, ifaces := ReadFiles(context.Background(), flow.NewAnalyzer(flow.Options{}), []File{fileInMemory("a", a), fileInMemory("b", b)})
		for i, data := range [][]byte{a, b} {
			in := inputs[i]
			if in.Err == nil {
				if want := fmt.Sprintf("%x", sha256.Sum256(data)); in.SHA256 != want || in.Size != int64(len(data)) {
					t.Fatalf("input %d read whole: sha256 %s size %d, want %s %d", i, in.SHA256, in.Size, want, len(data))
				}
				continue
			}
			var fe *Error
			if !errors.As(in.Err, &fe) || in.SHA256 != "" {
				t.Fatalf("input %d: %v (%T), sha256 %q", i, in.Err, in.Err, in.SHA256)
			}
		}
		for _, ifc := range ifaces {
			if ifc.Input < 0 || ifc.Input > 1 {
				t.Fatalf("interface of input %d", ifc.Input)
			}
		}
	})
}
