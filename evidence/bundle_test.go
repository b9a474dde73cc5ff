package evidence

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckSums: a sum line that is not one, a path out of the folder, a
// file the sums miss and one they list but is gone are each a finding;
// the files that match are ok.
func TestCheckSums(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string]string{ReportJSON: "{}", Pcapng: "pcap", "extra.txt": "added"} {
		os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644)
	}
	os.WriteFile(filepath.Join(dir, "..", "outside"), []byte("x"), 0o644)
	sums := "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a  report.json\n" + // sha256 of "{}"
		"not a line\n" +
		"0000000000000000000000000000000000000000000000000000000000000000  ../outside\n" +
		"0000000000000000000000000000000000000000000000000000000000000000  evidence.pcapng\n" +
		"0000000000000000000000000000000000000000000000000000000000000000  report.html\n"
	os.WriteFile(filepath.Join(dir, Sums), []byte(sums), 0o644)
	got, err := CheckSums(dir)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, f := range got {
		lines = append(lines, f.String())
	}
	want := []string{
		"ok     report.json: sha256 matches SHA256SUMS",
		"FAILED SHA256SUMS line 2: not a sha256sum line",
		`FAILED SHA256SUMS line 3: "../outside" is not a path inside the bundle`,
		"FAILED evidence.pcapng: altered: sha256 ",
		"FAILED report.html: missing",
		"FAILED extra.txt: not covered by SHA256SUMS (added after the bundle was made)",
	}
	if len(lines) != len(want) {
		t.Fatalf("findings:\n%s", strings.Join(lines, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(lines[i], want[i]) {
			t.Errorf("finding %d: %q, want %q...", i, lines[i], want[i])
		}
	}
	if _, err := CheckSums(t.TempDir()); err == nil {
		t.Error("a folder without SHA256SUMS: no error")
	}
}

// TestWriteSums: SHA256SUMS covers every file but itself and its
// signature, sorted, with paths inside the folder, and CheckSums accepts
// it.
func TestWriteSums(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, InputsDir), 0o755)
	for _, name := range []string{ReportJSON, Pcapng, IPRanges, Signature} {
		os.WriteFile(filepath.Join(dir, name), []byte(name), 0o644)
	}
	if err := WriteSums(dir); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, Sums))
	var names []string
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		names = append(names, l[66:])
	}
	if got := strings.Join(names, " "); got != "evidence.pcapng inputs/ip-ranges.json report.json" {
		t.Errorf("SHA256SUMS lists %q", got)
	}
	got, err := CheckSums(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range got {
		if !f.OK {
			t.Errorf("%s", f)
		}
	}
}
