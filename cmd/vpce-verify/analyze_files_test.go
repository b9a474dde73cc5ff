package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// endlessStdin is standard input that never ends (cat /dev/zero, or a
// damaged capture followed by an endless stream): head, then zeros. After
// 64 MiB of zeros it fails, so that a reader that reads on stops (and the
// test says so) rather than hangs.
type endlessStdin struct {
	head  []byte
	after int64
}

func (e *endlessStdin) Read(p []byte) (int, error) {
	if len(e.head) > 0 {
		n := copy(p, e.head)
		e.head = e.head[n:]
		return n, nil
	}
	if e.after > 64<<20 {
		return 0, errors.New("endless stdin: read on for 64 MiB")
	}
	clear(p)
	e.after += int64(len(p))
	return len(p), nil
}

// Damage on standard input ends its reading at once, with one error line:
// the rest may never end, so it is not read for a digest (the input has
// none).
func TestAnalyzeEndlessStdin(t *testing.T) {
	good, err := os.ReadFile(td(t, "s3-public.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	// The file header and its first three records, then a record header
	// claiming 4 MiB.
	off := 24
	for range 3 {
		off += 16 + int(binary.LittleEndian.Uint32(good[off+8:]))
	}
	damaged := binary.LittleEndian.AppendUint32(good[:off:off], 0)
	damaged = binary.LittleEndian.AppendUint32(damaged, 0)
	damaged = binary.LittleEndian.AppendUint32(damaged, 4<<20)
	damaged = binary.LittleEndian.AppendUint32(damaged, 4<<20)
	tests := []struct {
		name, head, stderr string
	}{
		{"zeros (cat /dev/zero)", "", "vpce-verify: error: -: file header: not a pcap or pcapng file (magic 00 00 00 00)\n"},
		{"damage, then endless", string(damaged), fmt.Sprintf("vpce-verify: error: -: record 4 at byte %d: header claims a 4194304-byte packet, more than the 262144-byte maximum\n", off)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stdin := &endlessStdin{head: []byte(tc.head)}
			var stdout, stderr bytes.Buffer
			code := testRun(context.Background(), []string{"analyze", "--format", "json", "-"}, stdin, &stdout, &stderr)
			if code != exitError || stderr.String() != tc.stderr {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr.String(), exitError, tc.stderr)
			}
			if stdin.after > 8<<20 {
				t.Errorf("read %d MiB of the endless rest", stdin.after>>20)
			}
			var r struct {
				Inputs []struct {
					SHA256 string `json:"sha256"`
				} `json:"inputs"`
			}
			if err := json.Unmarshal(stdout.Bytes(), &r); err != nil || len(r.Inputs) != 1 || r.Inputs[0].SHA256 != "" {
				t.Errorf("report inputs %+v (%v); want one, without a digest", r.Inputs, err)
			}
		})
	}
}

// The report is created before the inputs are read, so it may not be one
// of them: that would destroy the evidence unread.
func TestAnalyzeReportOverInput(t *testing.T) {
	data, err := os.ReadFile(td(t, "s3-endpoint.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	evidence := filepath.Join(t.TempDir(), "evidence.pcap")
	if err := os.WriteFile(evidence, data, 0o644); err != nil {
		t.Fatal(err)
	}
	res := runCmd(t, nil, "analyze", "-o", evidence, td(t, "s3-public.pcap"), evidence)
	if want := "vpce-verify: error: analyze: -o " + evidence + ": is the input " + evidence + "; it would be overwritten\n"; res.code != exitError || res.stderr != want {
		t.Errorf("exit %d, stderr %q; want %d and %q", res.code, res.stderr, exitError, want)
	}
	if after, err := os.ReadFile(evidence); err != nil || !bytes.Equal(after, data) {
		t.Errorf("the input was changed (%v)", err)
	}
}
