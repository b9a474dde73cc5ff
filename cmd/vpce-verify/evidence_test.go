package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/vpce-verify/vpce-verify/internal/testenv"
)

// sshKey makes an ed25519 key with ssh-keygen and an allowed_signers file
// naming it for identity; it returns the key's and the file's paths.
func sshKey(t *testing.T, dir, name, identity string) (string, string) {
	t.Helper()
	key := filepath.Join(dir, name)
	if out, err := exec.Command(testenv.Tool(t, "ssh-keygen"), "-q", "-t", "ed25519", "-N", "", "-C", identity, "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	allowed := filepath.Join(dir, name+".allowed_signers")
	if err := os.WriteFile(allowed, []byte(identity+" "+string(pub)), 0o644); err != nil {
		t.Fatal(err)
	}
	return key, allowed
}

// makeBundle writes the README's bundle: analyze --evidence --sign-key of
// the real example capture, a FAIL.
func makeBundle(t *testing.T, dir string, extra ...string) (string, string) {
	t.Helper()
	key, allowed := sshKey(t, dir, "key", "auditor@example.com")
	out := filepath.Join(dir, "out")
	args := append([]string{"analyze", "--evidence", out, "--sign-key", key, "--endpoint-ip", "10.0.2.50"}, extra...)
	res := runCmd(t, nil, append(args, td(t, "real", "example.pcapng"))...)
	if res.code != exitFail {
		t.Fatalf("analyze --evidence: exit %d, want %d (a leak)\n%s", res.code, exitFail, res.stderr)
	}
	if !strings.Contains(res.stdout, "Evidence bundle: evidence.pcapng holds selected packets of 3 S3 connections") &&
		!strings.Contains(res.stdout, "Evidence bundle: evidence.pcapng holds all packets of 3 S3 connections") {
		t.Errorf("the report does not describe the bundle:\n%s", res.stdout)
	}
	return out, allowed
}

// auditorChecks checks a bundle with the auditor's own tools, as the
// README says: sha256sum -c (which must name each of files as OK), and
// ssh-keygen -Y verify of the signature by auditor@example.com.
func auditorChecks(t *testing.T, out, allowed string, files ...string) {
	t.Run("sha256sum -c", func(t *testing.T) {
		cmd := exec.Command(testenv.Tool(t, "sha256sum"), "-c", "--strict", "SHA256SUMS")
		cmd.Dir = out
		got, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("sha256sum -c: %v\n%s", err, got)
		}
		for _, name := range files {
			if !strings.Contains(string(got), name) {
				t.Errorf("sha256sum -c does not say %q:\n%s", name, got)
			}
		}
	})

	t.Run("ssh-keygen -Y verify", func(t *testing.T) {
		sums, _ := os.ReadFile(filepath.Join(out, "SHA256SUMS"))
		cmd := exec.Command(testenv.Tool(t, "ssh-keygen"), "-Y", "verify", "-n", "vpce-verify", "-f", allowed, "-I", "auditor@example.com",
			"-s", filepath.Join(out, "SHA256SUMS.sig"))
		cmd.Stdin = bytes.NewReader(sums)
		if got, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(got), "Good \"vpce-verify\" signature for auditor@example.com") {
			t.Fatalf("ssh-keygen -Y verify: %v\n%s", err, got)
		}
	})
}

// copyDir copies a bundle, for one tampering each.
func copyDir(t *testing.T, from string) string {
	t.Helper()
	to := filepath.Join(t.TempDir(), "bundle")
	if out, err := exec.Command("cp", "-a", from, to).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	return to
}

// TestEvidenceBundle: the "done when" of the evidence bundle. The folder
// analyze --evidence --sign-key makes from the real example capture is
// accepted by sha256sum -c, ssh-keygen -Y verify, tshark and vpce-verify
// evidence check; each kind of tampering is found.
func TestEvidenceBundle(t *testing.T) {
	dir := t.TempDir()
	out, allowed := makeBundle(t, dir)
	for _, name := range []string{"report.json", "report.txt", "report.html", "connections.ndjson", "evidence.pcapng",
		"SHA256SUMS", "SHA256SUMS.sig", "inputs/ip-ranges.json"} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Errorf("the bundle has no %s: %v", name, err)
		}
	}

	auditorChecks(t, out, allowed, "report.json: OK", "report.html: OK", "evidence.pcapng: OK", "connections.ndjson: OK", "report.txt: OK")

	t.Run("tshark comments", func(t *testing.T) {
		got := testenv.Tshark(t, "-r", filepath.Join(out, "evidence.pcapng"), "-Y", "frame.comment", "-T", "fields", "-e", "frame.comment")
		want := []string{
			"interface-endpoint (endpoint-ip): PASS; 10.0.1.25:51002 -> 10.0.2.50:443, bucket.vpce-0a1b2c3d4e5f67890-9hnenorg.s3.ap-south-1.vpce.amazonaws.com (sni)",
			"interface-endpoint (endpoint-ip): PASS; 10.0.1.25:51004 -> 10.0.2.50:443, my-bucket.s3.ap-south-1.amazonaws.com (sni)",
			"public-aws AMAZON+S3 ap-south-1 52.219.64.0/22: FAIL; 10.0.1.25:51006 -> 52.219.64.10:443, s3.dualstack.ap-south-1.amazonaws.com (sni)",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("tshark reads the comments\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		// The comment is on the first packet with the client's bytes:
		// the ClientHello, whose SNI tshark reads.
		sni := testenv.Tshark(t, "-r", filepath.Join(out, "evidence.pcapng"), "-Y", "frame.comment", "-T", "fields", "-e", "tls.handshake.extensions_server_name")
		if len(sni) != 3 || sni[2] != "s3.dualstack.ap-south-1.amazonaws.com" {
			t.Errorf("the commented packets' SNI: %q, want the ClientHellos", sni)
		}
		// The packets kept: each connection's handshake, first data
		// packets and close, and the three DNS exchanges.
		kept := testenv.Tshark(t, "-r", filepath.Join(out, "evidence.pcapng"), "-Y", "tcp.flags.syn==1 || dns", "-T", "fields", "-e", "frame.number")
		if len(kept) != 12 {
			t.Errorf("%d SYN, SYN-ACK and DNS packets kept, want 12 (3 handshakes, 3 DNS exchanges)", len(kept))
		}
		info, err := exec.Command(testenv.Tool(t, "capinfos"), filepath.Join(out, "evidence.pcapng")).CombinedOutput()
		if err != nil {
			t.Fatalf("capinfos: %v\n%s", err, info)
		}
		for _, want := range []string{"Capture application: vpce-verify " + toolVersion(), "Capture comment:     vpce-verify " + toolVersion() + " evidence: verdict FAIL",
			"command: vpce-verify analyze --evidence", "Description = ", "kept by vpce-verify as evidence"} {
			if !strings.Contains(string(info), want) {
				t.Errorf("capinfos does not say %q:\n%s", want, info)
			}
		}
	})

	t.Run("report.json", func(t *testing.T) {
		data, _ := os.ReadFile(filepath.Join(out, "report.json"))
		var r struct {
			Verdict string `json:"verdict"`
			Bundle  struct {
				Packets        string `json:"packets"`
				Connections    int    `json:"connections"`
				PacketsWritten int    `json:"packets_written"`
				Reanalysis     string `json:"reanalysis_verdict"`
			} `json:"evidence_bundle"`
		}
		if err := json.Unmarshal(data, &r); err != nil {
			t.Fatal(err)
		}
		n := testenv.Tshark(t, "-r", filepath.Join(out, "evidence.pcapng"), "-T", "fields", "-e", "frame.number")
		if r.Verdict != "fail" || r.Bundle.Packets != "selected" || r.Bundle.Connections != 3 || r.Bundle.Reanalysis != "fail" || r.Bundle.PacketsWritten != len(n) || len(n) >= 60 {
			t.Errorf("report.json: %+v; evidence.pcapng has %d of the capture's 60 packets", r, len(n))
		}
		// connections.ndjson is the --conn-log of the same run.
		lines, _ := os.ReadFile(filepath.Join(out, "connections.ndjson"))
		if c := strings.Count(string(lines), `"id.orig_h":"10.0.1.25"`); c != 3 || !strings.Contains(string(lines), `"path":"public-aws"`) {
			t.Errorf("connections.ndjson:\n%s", lines)
		}
	})

	t.Run("evidence check intact", func(t *testing.T) {
		res := runCmd(t, nil, "evidence", "check", out, "--allowed-signers", allowed, "--identity", "auditor@example.com")
		if res.code != exitPass || !strings.HasSuffix(res.stdout, "the evidence holds\n") ||
			!strings.Contains(res.stdout, "ok     verdict: evidence.pcapng analysed again gives FAIL, as report.json says") ||
			!strings.Contains(res.stdout, "ok     SHA256SUMS.sig: signed by auditor@example.com") {
			t.Fatalf("exit %d\n%s%s", res.code, res.stdout, res.stderr)
		}
		// Without the allowed signers: the signature is checked against
		// its own key, and the line says whose key was not checked.
		res = runCmd(t, nil, "evidence", "check", out)
		if res.code != exitPass || !strings.Contains(res.stdout, "was not checked (give --allowed-signers)") {
			t.Errorf("without --allowed-signers: exit %d\n%s", res.code, res.stdout)
		}
	})

	other, otherAllowed := sshKey(t, dir, "other", "auditor@example.com")
	_ = otherAllowed
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, b string)
		want   []string
	}{
		{"a byte of the pcapng", func(t *testing.T, b string) { flipByte(t, filepath.Join(b, "evidence.pcapng"), 2000) },
			[]string{"FAILED evidence.pcapng: altered: sha256 "}},
		{"a byte of report.json", func(t *testing.T, b string) { flipByte(t, filepath.Join(b, "report.json"), 300) },
			[]string{"FAILED report.json: altered"}},
		{"a removed file", func(t *testing.T, b string) { os.Remove(filepath.Join(b, "report.html")) },
			[]string{"FAILED report.html: missing"}},
		{"an added file", func(t *testing.T, b string) { os.WriteFile(filepath.Join(b, "note.txt"), []byte("x"), 0o644) },
			[]string{"FAILED note.txt: not covered by SHA256SUMS"}},
		{"a signature by another key", func(t *testing.T, b string) {
			os.Remove(filepath.Join(b, "SHA256SUMS.sig"))
			sign(t, other, filepath.Join(b, "SHA256SUMS"))
		}, []string{"FAILED SHA256SUMS.sig: good signature by key ssh-ed25519 SHA256:", "no line of the allowed signers names \"auditor@example.com\""}},
		{"the verdict edited, the sums made again", func(t *testing.T, b string) {
			editVerdict(t, b)
			sums(t, b)
		}, []string{"ok     report.json: sha256 matches", "FAILED SHA256SUMS.sig: does not verify SHA256SUMS",
			"FAILED verdict: evidence.pcapng analysed again gives FAIL (", "but report.json says PASS"}},
		{"the verdict edited, sums and signature made again by another key", func(t *testing.T, b string) {
			editVerdict(t, b)
			sums(t, b)
			os.Remove(filepath.Join(b, "SHA256SUMS.sig"))
			sign(t, other, filepath.Join(b, "SHA256SUMS"))
		}, []string{"FAILED SHA256SUMS.sig: good signature by key", "FAILED verdict: evidence.pcapng analysed again gives FAIL"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := copyDir(t, out)
			tc.tamper(t, b)
			res := runCmd(t, nil, "evidence", "check", b, "--allowed-signers", allowed, "--identity", "auditor@example.com")
			if res.code != exitFail || !strings.Contains(res.stdout, "the evidence does not hold") {
				t.Errorf("exit %d, want %d\n%s%s", res.code, exitFail, res.stdout, res.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(res.stdout, w) {
					t.Errorf("no %q in\n%s", w, res.stdout)
				}
			}
			for _, line := range strings.Split(strings.TrimSpace(res.stdout), "\n") {
				if !strings.HasPrefix(line, "ok     ") && !strings.HasPrefix(line, "FAILED ") && !strings.HasPrefix(line, "the evidence") {
					t.Errorf("not a finding line: %q", line)
				}
			}
		})
	}
}

func flipByte(t *testing.T, path string, off int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[off%len(data)] ^= 0x01
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func sign(t *testing.T, key, file string) {
	t.Helper()
	if out, err := exec.Command(testenv.Tool(t, "ssh-keygen"), "-Y", "sign", "-n", "vpce-verify", "-f", key, file).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen -Y sign: %v\n%s", err, out)
	}
}

// editVerdict makes the report say pass, as someone hiding a leak would.
func editVerdict(t *testing.T, b string) {
	t.Helper()
	path := filepath.Join(b, "report.json")
	data, _ := os.ReadFile(path)
	edited := bytes.Replace(data, []byte(`"verdict": "fail"`), []byte(`"verdict": "pass"`), 1)
	if bytes.Equal(edited, data) {
		t.Fatalf("no verdict to edit in report.json")
	}
	os.WriteFile(path, edited, 0o644)
}

// sums writes SHA256SUMS again with sha256sum, as the forger would.
func sums(t *testing.T, b string) {
	t.Helper()
	cmd := exec.Command("sh", "-c", "sha256sum report.json report.txt report.html connections.ndjson evidence.pcapng inputs/* > SHA256SUMS")
	cmd.Dir = b
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sha256sum: %v\n%s", err, out)
	}
}

// TestEvidenceAll: --evidence-all keeps every packet, still commented.
func TestEvidenceAll(t *testing.T) {
	out, _ := makeBundle(t, t.TempDir(), "--evidence-all")
	n := testenv.Tshark(t, "-r", filepath.Join(out, "evidence.pcapng"), "-T", "fields", "-e", "frame.number", "-e", "frame.comment")
	comments := 0
	for _, c := range n {
		if _, comment, _ := strings.Cut(c, "\t"); comment != "" {
			comments++
		}
	}
	if len(n) != 60 || comments != 3 {
		t.Errorf("evidence.pcapng: %d packets, %d comments; want the capture's 60 and 3", len(n), comments)
	}
	res := runCmd(t, nil, "evidence", "check", out)
	if res.code != exitPass {
		t.Errorf("evidence check: exit %d\n%s", res.code, res.stdout)
	}
}

// chromiumFlags keep headless Chromium off the network: no background
// requests, every name unresolvable, and a proxy on the discard port of
// loopback for anything else, so nothing leaves the machine.
var chromiumFlags = []string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
	"--disable-component-update", "--disable-sync", "--disable-default-apps", "--no-pings", "--disable-domain-reliability",
	"--proxy-server=http://127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND"}

// chromium runs headless Chromium on page with args; it returns standard
// output and the URLs the page itself asked for (the net log's requests
// with an initiator: the browser's own have "not an origin").
func chromium(t *testing.T, dir, page string, args ...string) ([]byte, []string) {
	t.Helper()
	netlog := filepath.Join(dir, "netlog.json")
	all := append(slices.Clone(chromiumFlags), "--user-data-dir="+filepath.Join(dir, "profile"), "--log-net-log="+netlog)
	cmd := exec.Command(testenv.Tool(t, "chromium"), append(append(all, args...), page)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	data, err := os.ReadFile(netlog)
	if err != nil {
		t.Fatal(err)
	}
	var nl struct {
		Constants struct {
			LogEventTypes map[string]int `json:"logEventTypes"`
		} `json:"constants"`
		Events []struct {
			Type   int            `json:"type"`
			Params map[string]any `json:"params"`
		} `json:"events"`
	}
	if err := json.Unmarshal(data, &nl); err != nil {
		t.Fatalf("net log: %v", err)
	}
	start, ok := nl.Constants.LogEventTypes["URL_REQUEST_START_JOB"]
	if !ok {
		t.Fatal("the net log names no URL_REQUEST_START_JOB")
	}
	var asked []string
	for _, ev := range nl.Events {
		u, _ := ev.Params["url"].(string)
		init, _ := ev.Params["initiator"].(string)
		if ev.Type == start && u != "" && init != "not an origin" && !strings.HasPrefix(u, "file://") {
			asked = append(asked, u)
		}
	}
	return out, asked
}

// TestChromiumNetworkProbe: a page that loads an image from elsewhere is
// seen asking for it (the check of the report's page can fail).
func TestChromiumNetworkProbe(t *testing.T) {
	dir := t.TempDir()
	page := filepath.Join(dir, "leaky.html")
	os.WriteFile(page, []byte(`<!DOCTYPE html><html><body><img src="http://192.0.2.1/pixel.png"><p>hello</p></body></html>`), 0o644)
	_, asked := chromium(t, dir, "file://"+page, "--dump-dom")
	if !slices.Contains(asked, "http://192.0.2.1/pixel.png") {
		t.Errorf("the page's request is not seen: %q", asked)
	}
}

// TestEvidenceHTML opens report.html in headless Chromium: the DOM holds
// the verdict and every violation, the screenshot is not blank and shows
// the timeline's bars in their paths' colours, and the page asks for
// nothing over the network.
func TestEvidenceHTML(t *testing.T) {
	dir := t.TempDir()
	out, _ := makeBundle(t, dir)
	page := "file://" + filepath.Join(out, "report.html")
	domBytes, asked := chromium(t, dir, page, "--dump-dom")
	dom := string(domBytes)
	if len(asked) > 0 {
		t.Errorf("the page asked the network for %q", asked)
	}
	for _, want := range []string{"<h1>FAIL</h1>", `<tr class="violation"><td><code>10.0.1.25:51006</code></td><td><code>52.219.64.10:443</code></td>`,
		"FAIL public-aws", `<svg xmlns="http://www.w3.org/2000/svg" id="timeline"`} {
		if !strings.Contains(dom, want) {
			t.Errorf("the DOM has no %q", want)
		}
	}
	if i, j := strings.Index(dom, "<h1>FAIL</h1>"), strings.Index(dom, `id="timeline"`); i < 0 || j < i {
		t.Errorf("the verdict is not first")
	}
	if n := strings.Count(dom, `<tr class="violation">`); n != 1 {
		t.Errorf("%d violations in the DOM, want 1", n)
	}

	shot := filepath.Join(dir, "shot.png")
	chromium(t, dir, page, "--screenshot="+shot, "--window-size=1100,900", "--hide-scrollbars")
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// The verdict banner is the FAIL red; the interface endpoint's green
	// is only in the timeline's bars and legend, and the DNS marks'
	// amber only there too.
	red, green, amber, white, total := 0, 0, 0, 0, 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			total++
			switch {
			case r > 245 && g > 245 && bl > 245:
				white++
			case near(r, g, bl, 0xc9, 0x2a, 0x2a):
				red++
			case near(r, g, bl, 0x1a, 0x7f, 0x37):
				green++
			case near(r, g, bl, 0xf5, 0x9f, 0x00):
				amber++
			}
		}
	}
	if white > total*97/100 {
		t.Errorf("the screenshot is blank: %d of %d pixels white", white, total)
	}
	if red < 5000 || green < 100 || amber < 100 {
		t.Errorf("the screenshot shows %d red, %d green and %d amber pixels: no verdict banner, or no timeline", red, green, amber)
	}
	if os.Getenv("VPCE_UPDATE_SCREENSHOT") != "" {
		data, _ := os.ReadFile(shot)
		os.WriteFile(filepath.Join(testenv.RepoRoot(t), "docs", "evidence-report.png"), data, 0o644)
	}
}

func near(r, g, b uint32, wr, wg, wb uint32) bool {
	d := func(a, b uint32) uint32 {
		if a > b {
			return a - b
		}
		return b - a
	}
	return d(r, wr) < 12 && d(g, wg) < 12 && d(b, wb) < 12
}

// TestEvidenceReanalysisAgrees: for every capture of the repository, the
// packets the bundle keeps, analysed again, give the verdict of the whole
// capture: the selection keeps what the verdict rests on (handshakes, an
// upload's ACKs, unnamed connections to CloudFront addresses, DNS).
func TestEvidenceReanalysisAgrees(t *testing.T) {
	var files []string
	for _, pattern := range []string{"*.pcap", "*.pcapng", "real/*.pcap", "real/*.pcapng"} {
		m, _ := filepath.Glob(td(t, pattern))
		files = append(files, m...)
	}
	if len(files) < 40 {
		t.Fatalf("%d captures in testdata", len(files))
	}
	for _, file := range files {
		rel, _ := filepath.Rel(td(t), file)
		t.Run(rel, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "b")
			res := runCmd(t, nil, "analyze", "--evidence", out, "--endpoint-ip", "10.0.2.50", file)
			data, err := os.ReadFile(filepath.Join(out, "report.json"))
			if err != nil {
				t.Fatalf("exit %d: %v\n%s", res.code, err, res.stderr)
			}
			var r struct {
				Verdict string `json:"verdict"`
				Bundle  struct {
					Reanalysis string `json:"reanalysis_verdict"`
					Note       string `json:"reanalysis_note"`
				} `json:"evidence_bundle"`
			}
			if err := json.Unmarshal(data, &r); err != nil {
				t.Fatal(err)
			}
			if r.Verdict != r.Bundle.Reanalysis || r.Bundle.Note != "" {
				t.Errorf("verdict %s, the packets kept give %s: %s", r.Verdict, r.Bundle.Reanalysis, r.Bundle.Note)
			}
		})
	}
}

// writeManyLeaks writes a pcap of n plain-HTTP S3 connections from one
// client to one public S3 address, each a handshake, a request, an answer
// and a close.
func writeManyLeaks(t *testing.T, path string, n int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeRaw); err != nil {
		t.Fatal(err)
	}
	client, server := net.IP{10, 0, 1, 25}, net.IP{52, 219, 64, 10}
	ts := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	pkt := func(fromClient bool, port uint16, syn, ack, fin bool, seq, ackN uint32, payload string) {
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: client, DstIP: server}
		tcp := &layers.TCP{SrcPort: layers.TCPPort(port), DstPort: 80, SYN: syn, ACK: ack, FIN: fin, Seq: seq, Ack: ackN, Window: 65535}
		if !fromClient {
			ip.SrcIP, ip.DstIP = server, client
			tcp.SrcPort, tcp.DstPort = 80, layers.TCPPort(port)
		}
		tcp.SetNetworkLayerForChecksum(ip)
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ip, tcp, gopacket.Payload(payload)); err != nil {
			t.Fatal(err)
		}
		ts = ts.Add(time.Millisecond)
		data := buf.Bytes()
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(data), Length: len(data)}, data); err != nil {
			t.Fatal(err)
		}
	}
	req := "GET /key HTTP/1.1\r\nHost: my-bucket.s3.ap-south-1.amazonaws.com\r\n\r\n"
	resp := "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
	for i := range n {
		port := uint16(40000 + i)
		c, s := uint32(1000), uint32(5000)
		pkt(true, port, true, false, false, c, 0, "")
		pkt(false, port, true, true, false, s, c+1, "")
		pkt(true, port, false, true, false, c+1, s+1, "")
		pkt(true, port, false, true, false, c+1, s+1, req)
		pkt(false, port, false, true, false, s+1, c+1+uint32(len(req)), resp)
		pkt(true, port, false, true, true, c+1+uint32(len(req)), s+1+uint32(len(resp)), "")
		pkt(false, port, false, true, true, s+1+uint32(len(resp)), c+2+uint32(len(req)), "")
		pkt(true, port, false, true, false, c+2+uint32(len(req)), s+2+uint32(len(resp)), "")
	}
}

// TestEvidenceBounds: of 25 leaks to one server, the bundle keeps 10 (the
// bound per server and judgment) and counts the rest; the kept packets
// still give FAIL, and evidence check holds.
func TestEvidenceBounds(t *testing.T) {
	dir := t.TempDir()
	capFile := filepath.Join(dir, "leaks.pcap")
	writeManyLeaks(t, capFile, 25)
	out := filepath.Join(dir, "b")
	res := runCmd(t, nil, "analyze", "--evidence", out, "--format", "json", "--endpoint-ip", "10.0.2.50", capFile)
	if res.code != exitFail {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	var r struct {
		Summary struct {
			S3Established int `json:"s3_established"`
		} `json:"summary"`
		Bundle struct {
			Connections        int    `json:"connections"`
			ConnectionsOmitted int    `json:"connections_omitted"`
			PacketsWritten     int    `json:"packets_written"`
			Reanalysis         string `json:"reanalysis_verdict"`
		} `json:"evidence_bundle"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &r); err != nil {
		t.Fatal(err)
	}
	if r.Summary.S3Established != 25 || r.Bundle.Connections != 10 || r.Bundle.ConnectionsOmitted != 15 || r.Bundle.PacketsWritten != 80 || r.Bundle.Reanalysis != "fail" {
		t.Errorf("summary %+v, bundle %+v: want 25 leaks, 10 kept with their 8 packets each, 15 omitted, FAIL", r.Summary, r.Bundle)
	}
	comments := testenv.Tshark(t, "-r", filepath.Join(out, "evidence.pcapng"), "-Y", "frame.comment", "-T", "fields", "-e", "http.host")
	if len(comments) != 10 || comments[0] != "my-bucket.s3.ap-south-1.amazonaws.com" {
		t.Errorf("commented packets' HTTP Host: %q, want the 10 requests", comments)
	}
	if res := runCmd(t, nil, "evidence", "check", out); res.code != exitPass {
		t.Errorf("evidence check: exit %d\n%s", res.code, res.stdout)
	}
}
