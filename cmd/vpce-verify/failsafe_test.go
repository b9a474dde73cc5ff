package main

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A leak proven by the packets read is a fail, exit 1, even when the file
// is damaged after it: the damage is still printed and recorded.
func TestAnalyzeLeakBeforeDamage(t *testing.T) {
	data, err := os.ReadFile(td(t, "s3-public.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	// A record header that claims a 4 MiB packet: damage no pcap reader
	// can read past.
	rec := binary.LittleEndian.AppendUint32(nil, 1793613601)
	rec = binary.LittleEndian.AppendUint32(rec, 0)
	rec = binary.LittleEndian.AppendUint32(rec, 4<<20)
	rec = binary.LittleEndian.AppendUint32(rec, 4<<20)
	if binary.BigEndian.Uint32(data) == 0xa1b2c3d4 {
		t.Fatal("s3-public.pcap is big-endian: the damaged record would be read wrong")
	}
	damaged := filepath.Join(t.TempDir(), "leak-then-damage.pcap")
	if err := os.WriteFile(damaged, append(data, rec...), 0o644); err != nil {
		t.Fatal(err)
	}
	res := runCmd(t, nil, "analyze", "--format", "json", damaged)
	if res.code != exitFail {
		t.Errorf("exit %d, want %d (fail)", res.code, exitFail)
	}
	lines := strings.Split(strings.TrimSpace(res.stderr), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "vpce-verify: error: "+damaged+": record ") {
		t.Errorf("stderr %q: want one error line naming the file and the record", res.stderr)
	}
	r := decodeReport(t, res.stdout)
	if r.Verdict != "fail" || r.PartialVerdict != "" || len(r.Inputs) != 1 || r.Inputs[0].Complete || r.Inputs[0].Error == nil {
		t.Errorf("verdict %s partial %q inputs %+v: want fail, the input incomplete with its error", r.Verdict, r.PartialVerdict, r.Inputs)
	}
	if !strings.Contains(r.Reason, "52.219.64.10:443") || !strings.Contains(r.Reason, "is incomplete") {
		t.Errorf("reason %q: want the leak and the damage named", r.Reason)
	}
}
