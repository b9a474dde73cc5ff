package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/vpce-verify/vpce-verify/internal/testenv"
)

// The connection log counts bytes as Zeek's conn.log does, by sequence
// numbers, with what the capture did not hold in missed_bytes. The real
// upload capture with four of its data segments taken out by editcap:
// tshark's sequence numbers give the span and the payload it holds.
func TestConnLogMissedBytes(t *testing.T) {
	editcap := testenv.Tool(t, "editcap")
	dir := t.TempDir()
	gap := filepath.Join(dir, "gap.pcap")
	if out, err := exec.Command(editcap, td(t, "real", midCapture), gap, "5-7", "20").CombinedOutput(); err != nil {
		t.Fatalf("editcap: %v\n%s", err, out)
	}
	var minSeq, maxNext, payload uint64
	for _, r := range tsharkFields(t, gap, "-Y", "tcp.srcport == 53001 && tcp.len > 0", "-e", "tcp.len", "-e", "tcp.seq", "-e", "tcp.nxtseq") {
		n, _ := strconv.ParseUint(r[0], 10, 64)
		seq, _ := strconv.ParseUint(r[1], 10, 64)
		next, _ := strconv.ParseUint(r[2], 10, 64)
		if minSeq == 0 || seq < minSeq {
			minSeq = seq
		}
		maxNext = max(maxNext, next)
		payload += n
	}
	span := maxNext - minSeq
	if span <= payload {
		t.Fatalf("tshark: span %d, payload %d: editcap made no hole", span, payload)
	}

	log := filepath.Join(dir, "conn.ndjson")
	if res := runCmd(t, nil, "analyze", "--conn-log", log, gap); res.code != exitFail {
		t.Fatalf("exit %d, want %d (the upload went to public S3)\n%s", res.code, exitFail, res.stderr)
	}
	f, err := os.Open(log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	lines := 0
	for sc.Scan() {
		lines++
		var c struct {
			OrigBytes   uint64 `json:"orig_bytes"`
			MissedBytes uint64 `json:"missed_bytes"`
		}
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		if c.OrigBytes != span || c.MissedBytes != span-payload {
			t.Errorf("orig_bytes %d missed_bytes %d; tshark's sequence numbers say %d sent, %d of them not in the capture", c.OrigBytes, c.MissedBytes, span, span-payload)
		}
	}
	if lines != 1 {
		t.Errorf("%d lines, want the 1 connection", lines)
	}
}
