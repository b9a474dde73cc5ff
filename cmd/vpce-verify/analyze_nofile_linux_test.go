package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/vpce-verify/vpce-verify/capture/pcapfile"

	"github.com/vpce-verify/vpce-verify/capture"
)

// init gives a child process of TestAnalyzeManyFilesFewDescriptors the
// open file limit it is to run under, soft and hard (Go would raise a
// lower soft limit to the hard one), as ulimit -n does.
func init() {
	n, err := strconv.ParseUint(os.Getenv("VPCE_TEST_NOFILE"), 10, 64)
	if err != nil {
		return
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: n, Max: n}); err != nil {
		fmt.Fprintln(os.Stderr, "setrlimit:", err)
		os.Exit(125)
	}
}

// rotated writes the packets of testdata/real/example.pcapng, repeated
// copies times an hour apart, as one pcap file and as files of per packets
// each, as tcpdump -C or editcap -c would rotate them.
func rotated(t *testing.T, dir string, copies, per int) (single string, parts []string) {
	t.Helper()
	f, err := os.Open(td(t, "real", "example.pcapng"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapfile.NewReader("example.pcapng", f)
	if err != nil {
		t.Fatal(err)
	}
	type rec struct {
		ts   time.Time
		data []byte
		wire int
	}
	var recs []rec
	var fr capture.Frame
	for r.Next(&fr) == nil {
		recs = append(recs, rec{fr.TS, bytes.Clone(fr.Data), fr.WireLen})
	}
	le := binary.LittleEndian
	header := le.AppendUint32(nil, 0xa1b23c4d) // nanosecond pcap
	header = le.AppendUint16(header, 2)
	header = le.AppendUint16(header, 4)
	header = append(header, make([]byte, 8)...)
	header = le.AppendUint32(header, 262144)
	header = le.AppendUint32(header, 1) // Ethernet
	all := bytes.Clone(header)
	part := bytes.Clone(header)
	n := 0
	flush := func() {
		path := filepath.Join(dir, fmt.Sprintf("rot_%05d.pcap", len(parts)))
		if err := os.WriteFile(path, part, 0o644); err != nil {
			t.Fatal(err)
		}
		parts = append(parts, path)
		part, n = bytes.Clone(header), 0
	}
	for c := range copies {
		for _, p := range recs {
			ts := p.ts.Add(time.Duration(c) * time.Hour)
			b := le.AppendUint32(nil, uint32(ts.Unix()))
			b = le.AppendUint32(b, uint32(ts.Nanosecond()))
			b = le.AppendUint32(b, uint32(len(p.data)))
			b = le.AppendUint32(b, uint32(p.wire))
			b = append(b, p.data...)
			all = append(all, b...)
			part = append(part, b...)
			if n++; n == per {
				flush()
			}
		}
	}
	if n > 0 {
		flush()
	}
	single = filepath.Join(dir, "single.pcap")
	if err := os.WriteFile(single, all, 0o644); err != nil {
		t.Fatal(err)
	}
	return single, parts
}

// Thousands of rotated files are read under a low open file limit (the
// child process's RLIMIT_NOFILE, set by init), one at a time, and give
// the verdict the one file of the same packets gives; the report, created
// before any input is opened, is written. Before, every input was opened
// at once: each beyond the limit failed with "too many open files", and
// then so did the report.
func TestAnalyzeManyFilesFewDescriptors(t *testing.T) {
	tests := []struct {
		copies, per, files int
		nofile             string
	}{
		{50, 3, 1000, "256"},
		{67, 1, 4020, "1024"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%d files, ulimit -n %s", tc.files, tc.nofile), func(t *testing.T) {
			dir := t.TempDir()
			single, parts := rotated(t, dir, tc.copies, tc.per)
			if len(parts) != tc.files {
				t.Fatalf("%d files", len(parts))
			}
			args := []string{"analyze", "--format", "json", "--endpoint-ip", "10.0.2.50"}
			want := runCmd(t, nil, append(args, single)...)
			wantReport := decodeReport(t, want.stdout)

			out := filepath.Join(dir, "report.json")
			cmd := exec.Command(os.Args[0], append(append(args, "-o", out), parts...)...)
			cmd.Env = append(os.Environ(), "VPCE_VERIFY_MAIN=1", "VPCE_TEST_NOFILE="+tc.nofile)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if code := cmd.ProcessState.ExitCode(); (err != nil && !errors.As(err, &exit)) || code != want.code || stderr.Len() > 0 {
				t.Fatalf("exit %d (%v), want %d; stderr:\n%.2000s", code, err, want.code, stderr.String())
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			got := decodeReport(t, string(data))
			packets := 0
			for _, in := range got.Inputs {
				packets += in.Packets
			}
			if got.Verdict != wantReport.Verdict || got.Reason != wantReport.Reason || packets != wantReport.Inputs[0].Packets || len(got.Flows) != len(wantReport.Flows) {
				t.Errorf("%d files: %s (%s), %d packets, %d flows\none file: %s (%s), %d packets, %d flows",
					len(parts), got.Verdict, got.Reason, packets, len(got.Flows), wantReport.Verdict, wantReport.Reason, wantReport.Inputs[0].Packets, len(wantReport.Flows))
			}
		})
	}
}
