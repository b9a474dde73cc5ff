package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vpce-verify/vpce-verify/internal/testenv"
)

// textReport is what TestTcpdumpTextMatchesCapture compares of two
// reports: the one on a capture and the one on the text tcpdump printed
// of it.
type textReport struct {
	Verdict        string `json:"verdict"`
	PartialVerdict string `json:"partial_verdict"`
	Inputs         []struct {
		Format   string  `json:"format"`
		Packets  int     `json:"packets"`
		Complete bool    `json:"complete"`
		Error    *string `json:"error"`
		Note     string  `json:"note"`
	} `json:"inputs"`
	Flows []struct {
		Client       string                 `json:"client"`
		Server       string                 `json:"server"`
		ConnState    string                 `json:"conn_state"`
		History      string                 `json:"history"`
		Packets      [2]uint64              `json:"packets"`
		Bytes        [2]uint64              `json:"bytes"`
		SNI          string                 `json:"sni"`
		HTTP         *struct{ Host string } `json:"http"`
		S3           bool                   `json:"s3"`
		S3Evidence   []string               `json:"s3_evidence"`
		Path         string                 `json:"path"`
		PathEvidence string                 `json:"path_evidence"`
		AWS          *struct{}              `json:"aws"`
	} `json:"flows"`
	DNS []struct {
		Client    string `json:"client"`
		Server    string `json:"server"`
		Transport string `json:"transport"`
		QName     string `json:"qname"`
		QType     string `json:"qtype"`
		Rcode     string `json:"rcode"`
		Answers   []struct {
			Name, Type, Data string
		} `json:"answers"`
	} `json:"dns"`
	Summary struct {
		Flows int `json:"flows"`
	} `json:"summary"`
	Warnings []string `json:"warnings"`
}

// sniNeeded says why the capture's verdict rested on what only payload
// shows (a TLS server name, an HTTP Host, a proxy target), "" when it did
// not: then the text must give the same verdict.
func (r *textReport) sniNeeded() string {
	for _, f := range r.Flows {
		payloadOnly := f.S3 && !slices.ContainsFunc(f.S3Evidence, func(e string) bool {
			return e == "dns-name" || e == "endpoint-address" || e == "aws-range"
		})
		switch {
		case payloadOnly:
			return fmt.Sprintf("%s -> %s is S3 only by %v", f.Client, f.Server, f.S3Evidence)
		case f.Path == "proxy" || f.PathEvidence == "sni-inferred":
			return fmt.Sprintf("%s -> %s: path %s (%s)", f.Client, f.Server, f.Path, f.PathEvidence)
		case !f.S3 && f.AWS != nil && (f.SNI != "" || f.HTTP != nil && f.HTTP.Host != ""):
			// In an AWS range S3 shares, a name that is not S3's made
			// the connection not S3.
			name := f.SNI
			if name == "" {
				name = f.HTTP.Host
			}
			return fmt.Sprintf("%s -> %s is not S3 by its name %q", f.Client, f.Server, name)
		case r.Verdict == "pass" && !f.S3 && f.Bytes[0] > 0 && (f.SNI != "" || f.HTTP != nil && f.HTTP.Host != ""):
			// A name cleared a connection the text shows without payload:
			// there it may have carried S3, and the text cannot pass.
			return fmt.Sprintf("%s -> %s was cleared by its name %q", f.Client, f.Server, f.SNI)
		}
	}
	return ""
}

func (r *textReport) flowLines() []string {
	var out []string
	for _, f := range r.Flows {
		out = append(out, fmt.Sprintf("%s -> %s %s %s packets %v bytes %v", f.Client, f.Server, f.ConnState, f.History, f.Packets, f.Bytes))
	}
	// In the order they finished, which depends on times: a text without
	// dates places them on one day.
	slices.Sort(out)
	return out
}

func (r *textReport) judged() []string {
	var out []string
	for _, f := range r.Flows {
		out = append(out, fmt.Sprintf("%s -> %s s3 %v path %s", f.Client, f.Server, f.S3, f.Path))
	}
	slices.Sort(out)
	return out
}

// dnsLine is one DNS transaction as compared: who asked whom what, and
// the A, AAAA and CNAME records of the answer (the text gives no others).
type dnsLine struct {
	key, question string
	answers       []string
}

func (r *textReport) dnsLines() []dnsLine {
	var out []dnsLine
	for _, d := range r.DNS {
		l := dnsLine{key: fmt.Sprintf("%s %s/%s", d.Client, d.Server, d.Transport), question: fmt.Sprintf("%s %s %s", d.QName, d.QType, d.Rcode)}
		for _, a := range d.Answers {
			if a.Type == "A" || a.Type == "AAAA" || a.Type == "CNAME" {
				l.answers = append(l.answers, fmt.Sprintf("%s %s %s", a.Name, a.Type, a.Data))
			}
		}
		out = append(out, l)
	}
	// The report lists them as they finished, which depends on times (a
	// text without dates places them on one day): by who asked whom, in
	// the order asked.
	slices.SortStableFunc(out, func(a, b dnsLine) int { return strings.Compare(a.key, b.key) })
	return out
}

// compareDNS checks the text's DNS transactions against the capture's.
// What the text cannot hold is allowed for: a response whose query is
// not in the text (nor its question, printed with -vv only) has no
// question, and the records before its first CNAME's target no owner; a
// message over TCP that tcpdump did not decode (it spans segments:
// "[prefix length(N) != length(M)] (invalid)") has no answer.
func compareDNS(want, got []dnsLine, undecodedTCP bool) string {
	if len(want) != len(got) {
		return fmt.Sprintf("%d DNS transactions, the capture's %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		switch {
		case g.key != w.key:
			return fmt.Sprintf("transaction %d: %s, the capture's %s", i+1, g.key, w.key)
		case strings.HasSuffix(g.key, "/tcp") && undecodedTCP && len(g.answers) == 0:
		case strings.HasPrefix(g.question, " ") && !strings.HasPrefix(w.question, " "):
			for _, a := range g.answers {
				if !slices.Contains(w.answers, a) {
					return fmt.Sprintf("%s (no question): %q is not in the capture's answers %q", g.key, a, w.answers)
				}
			}
		case g.question != w.question || !slices.Equal(g.answers, w.answers):
			return fmt.Sprintf("%s: %s %q, the capture's %s %q", g.key, g.question, g.answers, w.question, w.answers)
		}
	}
	return ""
}

func analyzeJSON(t *testing.T, args ...string) (textReport, result) {
	t.Helper()
	res := runCmd(t, nil, append([]string{"analyze", "--format", "json", "--endpoint-ip", "10.0.2.50", "--endpoint-ip", "fd00:10:0:2::50"}, args...)...)
	var r textReport
	if err := json.Unmarshal([]byte(res.stdout), &r); err != nil {
		t.Fatalf("analyze %v: exit %d, not JSON: %v\n%s%s", args, res.code, err, res.stdout, res.stderr)
	}
	return r, res
}

// plain returns a capture tcpdump can read: a gzip one is uncompressed
// into dir.
func plain(t *testing.T, dir, file string) string {
	if !strings.HasSuffix(file, ".gz") {
		return file
	}
	in, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	zr, err := gzip.NewReader(in)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, strings.TrimSuffix(filepath.Base(file), ".gz"))
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// The real tcpdump prints the repository's captures and the corpus (with
// and without -v, -vv, -tttt, -e); analyze reads each text as it read the
// capture: the same connections with the same states, packets and bytes,
// the same DNS answers, and, wherever the capture's verdict did not rest
// on a TLS server name or other payload, the same verdict and the same
// judgment of every connection. Where tcpdump itself failed (its message
// kept after the text, as 2>&1 keeps it), the text is incomplete.
func TestTcpdumpTextMatchesCapture(t *testing.T) {
	tcpdump := testenv.Tool(t, "tcpdump")
	var files []string
	for _, pattern := range []string{td(t, "*.pcap*"), td(t, "real", "*.pcap*"), td(t, "tcpdump", "*.pcap"), testenv.Shared(t, "corpus") + "/*.pcap*"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 60 {
		t.Fatalf("only %d captures found", len(files))
	}
	dir := t.TempDir()
	compared, verdicts := 0, 0
	for _, file := range files {
		name := filepath.Base(filepath.Dir(file)) + "/" + filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			want, wantRes := analyzeJSON(t, file)
			if len(want.Inputs) != 1 || want.Inputs[0].Packets == 0 {
				t.Skipf("no packet read from the capture (exit %d)", wantRes.code)
			}
			capture := plain(t, dir, file)
			for _, flags := range [][]string{nil, {"-v"}, {"-vv"}, {"-tttt"}, {"-e"}, {"-v", "-e", "-tttt"}} {
				text := filepath.Join(dir, "out.txt")
				cmd := exec.Command(tcpdump, append(append([]string{"-nn"}, flags...), "-r", capture)...)
				cmd.Env = append(os.Environ(), "TZ=UTC")
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				runErr := cmd.Run()
				var exit *exec.ExitError
				if runErr != nil && !errors.As(runErr, &exit) {
					t.Fatal(runErr)
				}
				printed := stdout.Len() > 0
				if runErr != nil {
					// tcpdump >out.txt 2>&1: its failure after the text.
					stdout.Write(stderr.Bytes())
				}
				if err := os.WriteFile(text, stdout.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				what := strings.Join(append([]string{"tcpdump -nn"}, flags...), " ")
				if !printed {
					t.Logf("%s: tcpdump printed nothing: %s", what, strings.TrimSpace(stderr.String()))
					continue
				}
				got, gotRes := analyzeJSON(t, text)
				in := got.Inputs[0]
				if in.Format != "tcpdump-text" || !strings.Contains(in.Note, "no TLS server names or payload, the verdict rests on addresses and DNS answers") ||
					!slices.ContainsFunc(got.Warnings, func(w string) bool { return strings.Contains(w, "is tcpdump text: no TLS server names or payload") }) {
					t.Errorf("%s: input %+v, warnings %q", what, in, got.Warnings)
				}
				if runErr != nil {
					// Fail safe: the text is incomplete, a leak in what was
					// read still fails.
					if in.Complete || in.Error == nil || got.Verdict != "error" && got.Verdict != "fail" || gotRes.code != 2 && gotRes.code != 1 {
						t.Errorf("%s failed (%s), but the text's report says %s (exit %d), input complete %v", what, strings.TrimSpace(stderr.String()), got.Verdict, gotRes.code, in.Complete)
					}
					continue
				}
				if !in.Complete || in.Error != nil {
					t.Errorf("%s: input %+v (%s)", what, in, gotRes.stderr)
					continue
				}
				compared++
				if a, b := want.flowLines(), got.flowLines(); !slices.Equal(a, b) {
					t.Errorf("%s: connections differ\ncapture:\n%s\ntext:\n%s", what, strings.Join(a, "\n"), strings.Join(b, "\n"))
				}
				if diff := compareDNS(want.dnsLines(), got.dnsLines(), bytes.Contains(stdout.Bytes(), []byte("[prefix length("))); diff != "" {
					t.Errorf("%s: DNS differs: %s", what, diff)
				}
				if why := want.sniNeeded(); why != "" {
					t.Logf("%s: verdicts not compared: %s", what, why)
					continue
				}
				verdicts++
				if got.Verdict != want.Verdict || got.PartialVerdict != want.PartialVerdict || gotRes.code != wantRes.code {
					t.Errorf("%s: verdict %s/%s (exit %d), the capture's %s/%s (exit %d)\n%s", what, got.Verdict, got.PartialVerdict, gotRes.code, want.Verdict, want.PartialVerdict, wantRes.code, gotRes.stderr)
				}
				if a, b := want.judged(), got.judged(); !slices.Equal(a, b) {
					t.Errorf("%s: judgments differ\ncapture:\n%s\ntext:\n%s", what, strings.Join(a, "\n"), strings.Join(b, "\n"))
				}
			}
		})
	}
	t.Logf("%d texts compared with their captures, %d verdicts", compared, verdicts)
	if compared < 200 || verdicts < 100 {
		t.Errorf("only %d texts compared, %d verdicts", compared, verdicts)
	}
}
