package report

import (
	"bytes"
	"context"
	"flag"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vpce-verify/vpce-verify/capture/flow"
	"github.com/vpce-verify/vpce-verify/capture/pcapfile"

	"github.com/vpce-verify/vpce-verify/internal/testenv"
	"github.com/vpce-verify/vpce-verify/resolve"
	"github.com/vpce-verify/vpce-verify/resolve/inventory"
	"github.com/vpce-verify/vpce-verify/resolve/ipranges"
)

var update = flag.Bool("update", false, "rewrite the golden reports in ../testdata/golden")

// testNow is the clock of every report built in these tests.
var testNow = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

type setup struct {
	endpointIPs []string
	inventory   []string // files under testdata/aws
	policy      string
	drops       uint64   // drops the first input's capturing system reported
	interrupted bool     // the first input was not read to its end (Ctrl-C)
	connLog     *ConnLog // --conn-log
}

// build analyses testdata captures and builds their report, as analyze
// does.
func build(t *testing.T, s setup, files ...string) *Report {
	t.Helper()
	root := testenv.RepoRoot(t)
	var ips []netip.Addr
	for _, a := range s.endpointIPs {
		ips = append(ips, netip.MustParseAddr(a))
	}
	var inv *inventory.Inventory
	for _, name := range s.inventory {
		data, err := os.ReadFile(filepath.Join(root, "testdata", "aws", name))
		if err != nil {
			t.Fatal(err)
		}
		one, err := inventory.Parse(name, data)
		if err != nil {
			t.Fatal(err)
		}
		if inv == nil {
			inv = one
		} else {
			inv.Merge(one)
		}
	}
	var in []pcapfile.File
	for _, f := range files {
		path := filepath.Join(root, "testdata", f)
		// Names as a user would type them from the repository root.
		in = append(in, pcapfile.File{Name: filepath.Join("testdata", f), Open: func() (io.ReadCloser, error) { return os.Open(path) }})
	}
	ranges := ipranges.Embedded()
	b := NewBuilder(Config{
		Classifier:  resolve.NewClassifier(ranges, inv, ips, nil),
		Ranges:      ranges,
		Inventory:   inv,
		EndpointIPs: ips,
		Policy:      s.policy,
		ConnLog:     s.connLog,
		Now:         testNow,
		Version:     "test",
	}, nil)
	// As the commands do: connections and DNS transactions go to the
	// report as the analysis finishes them.
	a := flow.NewAnalyzer(flow.Options{OnFlow: b.AddFlow, OnDNS: b.AddDNS})
	inputs, ifaces := pcapfile.ReadFiles(context.Background(), a, in)
	a.Finish()
	if s.drops > 0 {
		inputs[0].Drops, inputs[0].DropsKnown = s.drops, true
	}
	inputs[0].Interrupted = s.interrupted
	return b.Report(Evidence{Stats: a.Stats(), Anomalies: a.Anomalies(), Inputs: inputs, Interfaces: ifaces})
}

// TestGolden compares whole reports, JSON and text, with reviewed golden
// files; go test ./report -update rewrites them (review the diff).
func TestGolden(t *testing.T) {
	tests := []struct {
		name  string
		setup setup
		files []string
	}{
		{"pass-inferred", setup{}, []string{"s3-endpoint.pcap"}},
		{"fail-mixed", setup{endpointIPs: []string{"10.0.2.50"}}, []string{"s3-mixed.pcapng"}},
		{"inconclusive-blocked", setup{endpointIPs: []string{"10.0.2.50", "10.0.3.50"}}, []string{"s3-blocked.pcap"}},
		{"pass-gateway-private", setup{inventory: []string{"gateway-routes.json", "s3-prefix-list.json"}, policy: PolicyPrivate}, []string{"gateway-route.pcap"}},
		{"pass-inventory", setup{inventory: []string{"endpoint-interface.json", "endpoint-enis.json"}}, []string{"cname-chain.pcap"}},
	}
	dir := filepath.Join(testenv.RepoRoot(t), "testdata", "golden")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := build(t, tc.setup, tc.files...)
			var j, txt bytes.Buffer
			if err := r.WriteJSON(&j); err != nil {
				t.Fatal(err)
			}
			if err := r.WriteText(&txt); err != nil {
				t.Fatal(err)
			}
			for ext, got := range map[string][]byte{".json": j.Bytes(), ".txt": txt.Bytes()} {
				path := filepath.Join(dir, tc.name+ext)
				if *update {
					if err := os.MkdirAll(dir, 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, got, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (go test ./report -update writes it)", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s differs from the golden file; got:\n%s", path, got)
				}
			}
		})
	}
}

// The verdict rules of docs/report-json.md ("How the verdict is reached"), each stated and checked on its own.
func TestVerdictRules(t *testing.T) {
	t.Run("a private S3 server nothing explains is not a pass", func(t *testing.T) {
		r := build(t, setup{}, "private-unknown.pcap")
		if r.Verdict != Inconclusive || !strings.Contains(r.Reason, "not a known endpoint") || r.Flows[0].Path != "private-other" {
			t.Errorf("verdict %s path %s reason %q", r.Verdict, r.Flows[0].Path, r.Reason)
		}
	})
	t.Run("declared, the same server passes", func(t *testing.T) {
		r := build(t, setup{endpointIPs: []string{"10.0.9.9"}}, "private-unknown.pcap")
		if r.Verdict != Pass || r.Flows[0].PathEvidence != "endpoint-ip" {
			t.Errorf("verdict %s evidence %s", r.Verdict, r.Flows[0].PathEvidence)
		}
	})
	t.Run("region of the name differs from the address", func(t *testing.T) {
		r := build(t, setup{}, "region-mismatch.pcap")
		if r.Verdict != Fail || !hasWarning(r, "used an S3 name for us-east-1 but the address is in ap-south-1") {
			t.Errorf("verdict %s warnings %q", r.Verdict, r.Warnings)
		}
	})
	t.Run("gateway endpoint fails the default policy", func(t *testing.T) {
		r := build(t, setup{inventory: []string{"gateway-routes.json", "s3-prefix-list.json"}}, "gateway-route.pcap")
		f := r.Flows[0]
		if r.Verdict != Fail || f.Path != "gateway-endpoint" || f.PathEvidence != "route-table" || !strings.Contains(f.Route, "vpce-032a826a") {
			t.Errorf("verdict %s path %s evidence %s route %q", r.Verdict, f.Path, f.PathEvidence, f.Route)
		}
	})
	t.Run("the inventory explains private DNS", func(t *testing.T) {
		r := build(t, setup{inventory: []string{"endpoint-interface.json", "endpoint-enis.json"}}, "s3-endpoint.pcap")
		if len(r.Endpoints) != 1 || r.Endpoints[0].ID != "vpce-0a1b2c3d4e5f67890" || !strings.Contains(r.Endpoints[0].Meaning, "private DNS for the whole VPC") {
			t.Errorf("endpoints %+v", r.Endpoints)
		}
		if f := r.Flows[0]; f.PathEvidence != "endpoint-eni" || f.EndpointID != "vpce-0a1b2c3d4e5f67890" {
			t.Errorf("flow evidence %s endpoint %s", f.PathEvidence, f.EndpointID)
		}
	})
	t.Run("an old snapshot is reported", func(t *testing.T) {
		r := build(t, setup{}, "s3-endpoint.pcap")
		if r.IPRanges.AgeDays != 91 || !hasWarning(r, "is 91 days old") {
			t.Errorf("age %d warnings %q", r.IPRanges.AgeDays, r.Warnings)
		}
	})
	t.Run("bytes by path", func(t *testing.T) {
		r := build(t, setup{endpointIPs: []string{"10.0.2.50"}}, "s3-mixed.pcapng")
		pub, ie := r.Summary.S3BytesByPath["public-aws"], r.Summary.S3BytesByPath["interface-endpoint"]
		if pub == 0 || ie == 0 || r.Summary.S3Established != 2 {
			t.Errorf("summary %+v", r.Summary)
		}
	})
}

func TestTextEscapesWireNames(t *testing.T) {
	r := &Report{Verdict: Pass, Reason: "x", Flows: []Flow{{S3: true, SNI: "evil\x1b[2J.s3.amazonaws.com", Client: "a", Server: "b"}}}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "\x1b") || !strings.Contains(b.String(), `evil\x1b[2J`) {
		t.Errorf("terminal escape printed raw:\n%q", b.String())
	}
}

func hasWarning(r *Report, s string) bool {
	for _, w := range r.Warnings {
		if strings.Contains(w, s) {
			return true
		}
	}
	return false
}

// The report is written element by element, and reads exactly as
// encoding/json's indented encoding of the whole value would.
func TestWriteJSONStreamsAsTheEncoderWrites(t *testing.T) {
	reports := []*Report{
		build(t, setup{endpointIPs: []string{"10.0.2.50"}}, "s3-mixed.pcapng"),
		build(t, setup{inventory: []string{"endpoint-interface.json", "endpoint-enis.json"}}, "cname-chain.pcap"),
		{Schema: Schema, Verdict: Pass, Warnings: []string{}}, // nil lists, omitted fields
	}
	for i, r := range reports {
		var streamed, whole bytes.Buffer
		if err := r.WriteJSON(&streamed); err != nil {
			t.Fatal(err)
		}
		if err := writeJSON(&whole, r); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(streamed.Bytes(), whole.Bytes()) {
			t.Errorf("report %d: streamed JSON differs from encoding/json's:\n%s\nwant\n%s", i, streamed.Bytes(), whole.Bytes())
		}
	}
}
