package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vpce-verify/vpce-verify/internal/host"

	"github.com/vpce-verify/vpce-verify/internal/lab"
	"github.com/vpce-verify/vpce-verify/internal/testenv"
)

// The live tests capture on lo as root, against the loopback scenario of
// internal/lab: 127.0.2.50 plays the interface endpoint (--endpoint-ip),
// 127.0.3.10 a public S3 address (declared S3 in the lab's ip-ranges.json),
// and the lab's DNS server on 127.0.0.1 answers the S3 names with them.
// Nothing leaves loopback.

// startLab runs the lab for one test, its DNS server on a free port of
// 127.0.0.1.
func startLab(t *testing.T) *lab.Lab {
	t.Helper()
	return startLabDNS(t, "127.0.0.1:0")
}

// startLabDNS runs the lab with its DNS server on dnsAddr.
func startLabDNS(t *testing.T, dnsAddr string) *lab.Lab {
	t.Helper()
	l, err := lab.Start(t.TempDir(), dnsAddr)
	if err != nil {
		testenv.Unavailable(t, "cannot start the loopback lab (is examples/lab or another server on 127.0.2.50:443 or 127.0.3.10:443 still running?): %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

type liveFlow struct {
	Client      string   `json:"client"`
	Server      string   `json:"server"`
	ConnState   string   `json:"conn_state"`
	Established bool     `json:"established"`
	SNI         string   `json:"sni"`
	S3          bool     `json:"s3"`
	Path        string   `json:"path"`
	Probe       bool     `json:"probe"`
	DNSNames    []string `json:"dns_names"`
}

type liveDNS struct {
	Server  string `json:"server"`
	QName   string `json:"qname"`
	QType   string `json:"qtype"`
	Answers []struct {
		Data string `json:"data"`
	} `json:"answers"`
}

type liveReport struct {
	Verdict string     `json:"verdict"`
	Reason  string     `json:"reason"`
	Flows   []liveFlow `json:"flows"`
	Inputs  []struct {
		Name    string `json:"name"`
		Format  string `json:"format"`
		Packets int    `json:"packets"`
	} `json:"inputs"`
	DNS   []liveDNS `json:"dns"`
	Probe *struct {
		Resolver       string `json:"resolver"`
		ResolverSource string `json:"resolver_source"`
		Answers        []struct {
			Type string `json:"type"`
			Addr string `json:"addr"`
		} `json:"answers"`
		Connections []struct {
			Client              string `json:"client"`
			Server              string `json:"server"`
			CertificateVerified bool   `json:"certificate_verified"`
			CertificateSHA256   string `json:"certificate_sha256"`
			HTTPStatus          string `json:"http_status"`
			AmzRequestID        string `json:"amz_request_id"`
			AmzID2              string `json:"amz_id_2"`
		} `json:"connections"`
	} `json:"probe"`
	Capture *struct {
		Interfaces    []string `json:"interfaces"`
		StopReason    string   `json:"stop_reason"`
		Written       string   `json:"written"`
		WrittenSHA256 string   `json:"written_sha256"`
	} `json:"capture"`
	Warnings []string `json:"warnings"`
}

func decodeLive(t *testing.T, s string) liveReport {
	t.Helper()
	var r liveReport
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, s)
	}
	return r
}

func TestVerifyOnLoopback(t *testing.T) {
	testenv.Root(t)
	l := startLab(t)
	tests := []struct {
		name     string
		verify   string // the name verify resolves and probes
		answer   string
		extra    []string
		code     int
		verdict  string
		path     string
		verified bool
	}{
		{"answer is the endpoint", lab.Name, lab.Endpoint, []string{"--ca-file", l.CAFile}, 0, "pass", "interface-endpoint", true},
		{"bucket name, answer is the endpoint", "my-bucket." + lab.Name, lab.Endpoint, []string{"--ca-file", l.CAFile}, 0, "pass", "interface-endpoint", true},
		{"answer is public S3", lab.LeakName, lab.Public, []string{"--ca-file", l.CAFile}, 1, "fail", "public-aws", true},
		{"certificate not trusted is only a warning", lab.Name, lab.Endpoint, nil, 0, "pass", "interface-endpoint", false},
		{"HEAD / after the handshake", lab.Name, lab.Endpoint, []string{"--ca-file", l.CAFile, "--http"}, 0, "pass", "interface-endpoint", true},
		{"--port adds to the filter; the probe stays on 443", lab.Name, lab.Endpoint, []string{"--ca-file", l.CAFile, "--port", "8443"}, 0, "pass", "interface-endpoint", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"verify", "-i", "lo", "--resolver", l.DNS, "--endpoint-ip", lab.Endpoint,
				"--ip-ranges", l.RangesFile, "--format", "json", "--timeout", "8s", tc.verify}, tc.extra...)
			start := time.Now()
			res := runCmd(t, nil, args...)
			if res.code != tc.code {
				t.Errorf("exit %d, want %d; stderr %s", res.code, tc.code, res.stderr)
			}
			if d := time.Since(start); d > 4*time.Second {
				t.Errorf("verify took %v: it must stop once the probe is captured", d)
			}
			r := decodeLive(t, res.stdout)
			if r.Verdict != tc.verdict {
				t.Errorf("verdict %s (%s), want %s", r.Verdict, r.Reason, tc.verdict)
			}
			if r.Probe == nil || r.Probe.Resolver != l.DNS || len(r.Probe.Connections) != 1 {
				t.Fatalf("probe %+v, want one connection, resolved by %s", r.Probe, l.DNS)
			}
			pc := r.Probe.Connections[0]
			if pc.CertificateVerified != tc.verified {
				t.Errorf("certificate verified %v, want %v", pc.CertificateVerified, tc.verified)
			}
			if !tc.verified && !strings.Contains(strings.Join(r.Warnings, "\n"), "did not verify for "+tc.verify) {
				t.Errorf("no warning about the certificate: %q", r.Warnings)
			}
			if slices.Contains(tc.extra, "--http") && (pc.HTTPStatus != "200 OK" || pc.AmzRequestID != lab.RequestID || pc.AmzID2 != lab.ID2) {
				t.Errorf("http status %q, x-amz-request-id %q, x-amz-id-2 %q; want 200 OK and the lab's %q, %q",
					pc.HTTPStatus, pc.AmzRequestID, pc.AmzID2, lab.RequestID, lab.ID2)
			}
			if want := serverCertSHA256(t, tc.answer, tc.verify); pc.CertificateSHA256 != want {
				t.Errorf("certificate sha256 %q, want %q (the certificate the server sends)", pc.CertificateSHA256, want)
			}
			// The probe's packets went through the kernel and were captured:
			// its connection is a flow, established, with the SNI.
			var probe *liveFlow
			for i := range r.Flows {
				if r.Flows[i].Probe {
					probe = &r.Flows[i]
				}
			}
			if probe == nil {
				t.Fatalf("no captured flow is the probe (%s); flows %+v", pc.Client, r.Flows)
			}
			// It closes cleanly (FIN both ways), not with a reset: session
			// tickets the server sends after the handshake are read first.
			if probe.Client != pc.Client || probe.Server != tc.answer+":443" || !probe.Established || probe.ConnState != "SF" ||
				probe.SNI != tc.verify || !probe.S3 || probe.Path != tc.path {
				t.Errorf("probe flow %+v", *probe)
			}
			if r.Capture == nil || r.Capture.Interfaces[0] != "lo" || r.Capture.StopReason != "stopped" {
				t.Errorf("capture %+v: want lo, stopped once the probe was captured", r.Capture)
			}
			// The capture started before the lookup, and keeps DNS on the
			// --resolver's port: verify's own exchange is evidence too.
			if !slices.ContainsFunc(r.DNS, func(d liveDNS) bool {
				return d.QName == tc.verify && d.Server == l.DNS && d.QType == "A" && len(d.Answers) == 1 && d.Answers[0].Data == tc.answer
			}) {
				t.Errorf("verify's own DNS exchange with %s is not in the report: %+v", l.DNS, r.DNS)
			}
		})
	}
}

// A name without an address ends verify with no report (its -o file is not
// left empty), but the capture was already running: the -w file holds the
// NXDOMAIN that says why.
func TestVerifyWithoutAnswer(t *testing.T) {
	testenv.Root(t)
	tshark := testenv.Tool(t, "tshark")
	l := startLab(t)
	dir := t.TempDir()
	file, out := filepath.Join(dir, "x.pcapng"), filepath.Join(dir, "report.txt")
	bundle := filepath.Join(dir, "evidence")
	res := runCmd(t, nil, "verify", "-i", "lo", "--resolver", l.DNS, "-w", file, "-o", out, "--evidence", bundle, "nosuchbucket.s3.example.com")
	if res.code != exitInconclusive || !strings.Contains(res.stderr, "has no address") {
		t.Errorf("exit %d stderr %q, want 3 and 'has no address'", res.code, res.stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("-o %s: %v, want no file", out, err)
	}
	if _, err := os.Stat(bundle); !os.IsNotExist(err) {
		t.Errorf("--evidence %s: %v, want no folder", bundle, err)
	}
	got, err := exec.Command(tshark, "-r", file, "-Y", "dns.flags.response == 1 and dns.flags.rcode == 3", "-T", "fields", "-e", "dns.qry.name").Output()
	if err != nil || !strings.Contains(string(got), "nosuchbucket.s3.example.com") {
		t.Errorf("the -w file does not hold the NXDOMAIN: %q %v", got, err)
	}
}

// syncBuffer is a bytes.Buffer safe for the command writing and the test
// reading at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls until the buffer holds s.
func waitFor(t *testing.T, b *syncBuffer, s string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(b.String(), s) {
			return
		}
	}
	t.Fatalf("waited for %q; got %q", s, b.String())
}

// tlsClient connects to addr:443 with SNI lab.Name like an application
// would, makes one request, reads the reply and closes.
func tlsClient(t *testing.T, addr, ca string) {
	t.Helper()
	pool := x509.NewCertPool()
	data, _ := os.ReadFile(ca)
	pool.AppendCertsFromPEM(data)
	c, err := tls.Dial("tcp", net.JoinHostPort(addr, "443"), &tls.Config{ServerName: lab.Name, RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /my-bucket/object HTTP/1.1\r\nHost: "+lab.Name+"\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if reply, err := bufio.NewReader(c).ReadString('\n'); err != nil || !strings.HasPrefix(reply, "HTTP/1.1 200") {
		t.Fatalf("GET over TLS to %s: %q %v", addr, reply, err)
	}
}

// A capture runs while a real client connects; it is stopped the way
// SIGINT stops it (the context ends); the report and the -w file, read back
// by analyze and by tshark, say the same.
func TestCapturePassive(t *testing.T) {
	testenv.Root(t)
	tshark := testenv.Tool(t, "tshark")
	l := startLab(t)
	file := filepath.Join(t.TempDir(), "evidence.pcapng")
	ctx, stop := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int)
	go func() {
		done <- testRun(ctx, []string{"capture", "-i", "lo", "-w", file, "--endpoint-ip", lab.Endpoint,
			"--ip-ranges", l.RangesFile, "--format", "json"}, nil, &stdout, &stderr)
	}()
	waitFor(t, &stderr, "capturing on lo")
	tlsClient(t, lab.Endpoint, l.CAFile)
	tlsClient(t, lab.Public, l.CAFile)
	time.Sleep(200 * time.Millisecond)
	stop()
	code := <-done
	if code != exitFail {
		t.Errorf("exit %d, want %d (one connection to public S3); stderr %s", code, exitFail, stderr.String())
	}
	live := decodeLive(t, stdout.String())
	if live.Capture == nil || live.Capture.StopReason != "interrupted" || live.Capture.Written != file {
		t.Errorf("capture %+v", live.Capture)
	}
	if data, err := os.ReadFile(file); err != nil || live.Capture.WrittenSHA256 != fmt.Sprintf("%x", sha256.Sum256(data)) {
		t.Errorf("written_sha256 %q is not the digest of %s (%v)", live.Capture.WrittenSHA256, file, err)
	}
	// What the -w file says of itself, as capinfos reads it.
	info, err := exec.Command(testenv.Tool(t, "capinfos"), file).CombinedOutput()
	if err != nil {
		t.Fatalf("capinfos: %v\n%s", err, info)
	}
	for _, want := range []string{
		"Capture application: vpce-verify " + toolVersion(),
		"Capture oper-sys:    " + host.OS(),
		"Capture comment:     captured by vpce-verify " + toolVersion(),
		"--endpoint-ip " + lab.Endpoint,
		"Description = live capture on lo (AF_PACKET) by vpce-verify",
		"Filter string = ",
	} {
		if !strings.Contains(string(info), want) {
			t.Errorf("capinfos does not say %q:\n%s", want, info)
		}
	}
	var s3 []liveFlow
	for _, f := range live.Flows {
		if f.S3 {
			s3 = append(s3, f)
		}
	}
	if len(s3) != 2 || s3[0].SNI != lab.Name || s3[0].Path != "interface-endpoint" || s3[1].Path != "public-aws" {
		t.Fatalf("S3 flows %+v", s3)
	}

	res := runCmd(t, nil, "analyze", "--endpoint-ip", lab.Endpoint, "--ip-ranges", l.RangesFile, "--format", "json", file)
	saved := decodeLive(t, res.stdout)
	if res.code != code || saved.Verdict != live.Verdict || len(saved.Flows) != len(live.Flows) {
		t.Fatalf("analyze of the saved file: exit %d verdict %s %d flows; live: %d %s %d flows",
			res.code, saved.Verdict, len(saved.Flows), code, live.Verdict, len(live.Flows))
	}
	for i := range saved.Flows {
		a, b := saved.Flows[i], live.Flows[i]
		if a.Client != b.Client || a.Server != b.Server || a.ConnState != b.ConnState || a.SNI != b.SNI || a.Path != b.Path {
			t.Errorf("flow %d: saved %+v, live %+v", i, a, b)
		}
	}
	out, err := exec.Command(tshark, "-r", file).Output()
	if err != nil {
		t.Fatalf("tshark -r: %v", err)
	}
	if n := strings.Count(string(out), "\n"); n != live.Inputs[0].Packets || n != saved.Inputs[0].Packets {
		t.Errorf("tshark reads %d packets; the live report says %d, analyze %d", n, live.Inputs[0].Packets, saved.Inputs[0].Packets)
	}
}

// TestMain's hook lets the tests run the command as a process of its own:
// with VPCE_VERIFY_MAIN=1 the test binary is vpce-verify.
func runAsProcess(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "VPCE_VERIFY_MAIN=1")
	return cmd
}

// startCapture runs vpce-verify capture -i lo ARGS as a process and returns
// once it is capturing.
func startCapture(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer, *syncBuffer) {
	t.Helper()
	cmd := runAsProcess(t, append([]string{"capture", "-i", "lo"}, args...)...)
	stdout, stderr := new(bytes.Buffer), new(syncBuffer)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, stderr, "capturing on lo")
	return cmd, stdout, stderr
}

// A real SIGINT stops the capture cleanly: the report is printed, the exit
// code is the verdict's, and the -w file is whole.
func TestCaptureSIGINT(t *testing.T) {
	testenv.Root(t)
	tshark := testenv.Tool(t, "tshark")
	l := startLab(t)
	file := filepath.Join(t.TempDir(), "x.pcap")
	cmd, stdout, stderr := startCapture(t, "-w", file, "--endpoint-ip", lab.Endpoint)
	tlsClient(t, lab.Endpoint, l.CAFile)
	time.Sleep(100 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	if err != nil {
		t.Fatalf("capture after SIGINT: %v; stderr %s", err, stderr.String())
	}
	if !strings.HasPrefix(stdout.String(), "PASS: ") || !strings.Contains(stderr.String(), "(interrupted)") {
		t.Errorf("stdout %q stderr %q", stdout.String(), stderr.String())
	}
	out, err := exec.Command(tshark, "-r", file, "-Y", "tls.handshake.extensions_server_name == \""+lab.Name+"\"").Output()
	if err != nil || strings.Count(string(out), "\n") != 1 {
		t.Errorf("tshark finds the ClientHello %d times in the file (%v)", strings.Count(string(out), "\n"), err)
	}
}

// The live flags as a tcpdump user writes them: -s 0 is the largest snap
// length, -B sizes the ring in KiB; values out of range are usage errors.
func TestCaptureFlags(t *testing.T) {
	testenv.Root(t)
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // in the text report
		stderr string
	}{
		{"-s 0 is 262144", []string{"-s", "0"}, exitInconclusive, "snaplen 262144", ""},
		{"-s 96", []string{"-s", "96"}, exitInconclusive, "snaplen 96", ""},
		{"-B 1024", []string{"-B", "1024"}, exitInconclusive, "0 dropped by the kernel", ""},
		{"-s too large", []string{"-s", "300000"}, exitError, "", "--snaplen 300000: want 1 to 262144"},
		{"-B negative", []string{"-B", "-1"}, exitError, "", "--buffer-size -1"},
		{"-B beyond 1 GiB", []string{"-B", "2000000"}, exitError, "", "--buffer-size 2000000"},
		{"--port 0", []string{"--port", "0"}, exitError, "", "--port 0: not a port"},
		{"--dns-port beyond 65535", []string{"--dns-port", "70000"}, exitError, "", "--dns-port 70000: not a port"},
		{"the filter in the report", []string{"--port", "8080", "--dns-port", "5300"}, exitInconclusive,
			`filter "tcp port 80 or tcp port 443 or tcp port 8080 or udp port 53 or tcp port 53 or udp port 5300 or tcp port 5300"`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := runCmd(t, nil, append([]string{"capture", "-i", "lo", "--duration", "50ms"}, tc.args...)...)
			if res.code != tc.code || !strings.Contains(res.stdout, tc.stdout) || !strings.Contains(res.stderr, tc.stderr) {
				t.Errorf("exit %d, want %d\nstdout %s\nstderr %s", res.code, tc.code, res.stdout, res.stderr)
			}
		})
	}
}

// Without -i, the capture opens every interface that routes to a target:
// the IPv4 and the IPv6 answer of verify may leave by different ones.
// Asking the kernel for a route sends nothing.
func TestCaptureInterfacesOfEveryTarget(t *testing.T) {
	def, err := host.RouteInterface(netip.MustParseAddr("192.0.2.1"))
	if err != nil || def == "lo" {
		testenv.Unavailable(t, "no default route through an interface other than lo: %q %v", def, err)
	}
	names, errs := routeInterfaces([]netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("127.0.0.2")})
	if len(errs) > 0 || !slices.Equal(names, []string{"lo", def}) {
		t.Errorf("interfaces %q (%v), want lo and %s, each once", names, errs, def)
	}
}

// A second SIGINT aborts at once: no report, the shell's code for a death
// by SIGINT. SIGINT is sent every 5 ms (two sent before the kernel delivers
// the first would merge into one), far within the clean stop's drain.
func TestCaptureSecondSIGINT(t *testing.T) {
	testenv.Root(t)
	cmd, stdout, stderr := startCapture(t, "--endpoint-ip", lab.Endpoint)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	var err error
	for done := false; !done; {
		cmd.Process.Signal(syscall.SIGINT)
		select {
		case err = <-exited:
			done = true
		case <-tick.C:
		}
	}
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 130 {
		t.Fatalf("after two SIGINTs: %v, want exit 130; stderr %s", err, stderr.String())
	}
	if stdout.Len() != 0 || !strings.Contains(stderr.String(), "vpce-verify: aborted") {
		t.Errorf("stdout %q stderr %q: want no report and 'aborted'", stdout.String(), stderr.String())
	}
}

// Without CAP_NET_RAW the command says so and how to grant it.
func TestCaptureWithoutPrivilege(t *testing.T) {
	testenv.Root(t)
	// nobody must be able to execute the test binary: copy it out of the
	// build directory.
	dir, err := os.MkdirTemp("", "vpce-verify-nobody")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "vpce-verify.test")
	data, err := os.ReadFile(os.Args[0])
	if err != nil || os.WriteFile(bin, data, 0o755) != nil {
		t.Fatal("cannot copy the test binary", err)
	}
	cmd := exec.Command(bin, "capture", "-i", "lo", "-c", "1")
	cmd.Env = append(os.Environ(), "VPCE_VERIFY_MAIN=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	cmd.Dir = os.TempDir()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != exitError {
		t.Fatalf("exit %v, want %d; stderr %s", err, exitError, stderr.String())
	}
	if !strings.Contains(stderr.String(), "CAP_NET_RAW") || !strings.Contains(stderr.String(), "setcap cap_net_raw+ep") {
		t.Errorf("stderr %q: want the capability named and the setcap hint", stderr.String())
	}
}

// --user drops to another user once the socket is open, then creates the
// files as that user; the capture goes on and the file is written.
func TestCaptureUser(t *testing.T) {
	testenv.Root(t)
	dir := nobodyDir(t)
	file := filepath.Join(dir, "x.pcapng")
	l := startLab(t)
	// The evidence bundle is written after the capture, as nobody: the
	// folder is given to nobody, the path to it must be open to it.
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o755)
	bundle := filepath.Join(dir, "evidence")
	cmd, _, stderr := startCapture(t, "-c", "6", "-w", file, "--user", "nobody", "--endpoint-ip", lab.Endpoint, "-o", filepath.Join(dir, "report.json"), "--format", "json",
		"--evidence", bundle)
	// Only then is the process running as nobody.
	status, _ := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/status")
	tlsClient(t, lab.Endpoint, l.CAFile)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v; stderr %s", err, stderr.String())
	}
	if !strings.Contains(string(status), "Uid:\t65534") {
		t.Errorf("the capture still ran as root:\n%s", status)
	}
	data, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil || decodeLive(t, string(data)).Inputs[0].Packets != 6 {
		t.Errorf("report after -c 6: %v %s", err, data)
	}
	if res := runCmd(t, nil, "evidence", "check", bundle); res.code != exitPass {
		t.Errorf("evidence check of the bundle written as nobody: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
}

// When --user or -o cannot be honoured the capture does not start: it does
// not run on as root, nor for nothing until the report cannot be written.
func TestCaptureOpenFails(t *testing.T) {
	testenv.Root(t)
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown user", []string{"--user", "no-such-user-vpce"}, `capture: --user: unknown user "no-such-user-vpce"`},
		{"report file cannot be created", []string{"-o", filepath.Join(dir, "missing", "report.json")}, "no such file or directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"capture", "-i", "lo", "--duration", "3s", "-w", filepath.Join(dir, "x.pcapng")}, tc.args...)
			start := time.Now()
			res := runCmd(t, nil, args...)
			if res.code != exitError {
				t.Errorf("exit %d, want %d; stderr %s", res.code, exitError, res.stderr)
			}
			if d := time.Since(start); d > 2*time.Second || strings.Contains(res.stderr, "capturing on") {
				t.Errorf("the capture ran (%v): %s", d, res.stderr)
			}
			if lines := strings.Split(strings.TrimSpace(res.stderr), "\n"); len(lines) != 1 || !strings.Contains(lines[0], tc.want) {
				t.Errorf("stderr %q, want one line with %q", res.stderr, tc.want)
			}
		})
	}
}

// Plain HTTP to a public S3 address leaks as much as HTTPS does: capture
// keeps TCP port 80 without being asked, and the connection fails the run.
func TestCapturePlainHTTP(t *testing.T) {
	testenv.Root(t)
	l := startLab(t)
	cmd, stdout, stderr := startCapture(t, "--endpoint-ip", lab.Endpoint, "--ip-ranges", l.RangesFile, "--format", "json")
	if !strings.Contains(stderr.String(), "tcp port 80 or tcp port 443") {
		t.Errorf("the filter is not the default one: %s", stderr.String())
	}
	c, err := net.Dial("tcp", net.JoinHostPort(lab.Public, "80"))
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "GET /my-bucket/object HTTP/1.1\r\nHost: "+lab.LeakName+"\r\nConnection: close\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if reply, err := bufio.NewReader(c).ReadString('\n'); err != nil || !strings.HasPrefix(reply, "HTTP/1.1 200") {
		t.Fatalf("GET over plain HTTP to %s: %q %v", lab.Public, reply, err)
	}
	c.Close()
	time.Sleep(100 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitFail {
		t.Errorf("exit %v, want %d (plain HTTP to public S3); stderr %s", err, exitFail, stderr.String())
	}
	r := decodeLive(t, stdout.String())
	if r.Verdict != "fail" {
		t.Errorf("verdict %s (%s), want fail", r.Verdict, r.Reason)
	}
	found := false
	for _, f := range r.Flows {
		if f.Server == lab.Public+":80" {
			found = true
			if !f.S3 || !f.Established || f.Path != "public-aws" {
				t.Errorf("the plain HTTP connection: %+v", f)
			}
		}
	}
	if !found {
		t.Errorf("no flow to %s:80 in %+v", lab.Public, r.Flows)
	}
}

// --dns-port adds a port whose payload is DNS, to the kernel filter and to
// the analysis: a resolver on 5300 is seen answering for the S3 name.
func TestCaptureDNSPort(t *testing.T) {
	testenv.Root(t)
	l := startLab(t)
	_, port, _ := net.SplitHostPort(l.DNS)
	for _, tc := range []struct {
		name  string
		args  []string
		wants bool
	}{
		{"without --dns-port the lab's DNS port is not kept", nil, false},
		{"with --dns-port", []string{"--dns-port", port}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd, stdout, stderr := startCapture(t, append([]string{"--format", "json", "--ip-ranges", l.RangesFile}, tc.args...)...)
			res := runCmd(t, nil, "resolve", "--resolver", l.DNS, lab.Name)
			if res.code != exitInconclusive && res.code != exitFail && res.code != exitPass {
				t.Fatalf("resolve through the lab: exit %d %s", res.code, res.stderr)
			}
			time.Sleep(100 * time.Millisecond)
			cmd.Process.Signal(syscall.SIGINT)
			cmd.Wait()
			r := decodeLive(t, stdout.String())
			seen := false
			for _, d := range r.DNS {
				if d.QName == lab.Name && d.Server == l.DNS && d.QType == "A" && len(d.Answers) == 1 && d.Answers[0].Data == lab.Endpoint {
					seen = true
				}
			}
			if seen != tc.wants {
				t.Errorf("the lab's answer for %s seen: %v, want %v; dns %+v; stderr %s", lab.Name, seen, tc.wants, r.DNS, stderr.String())
			}
		})
	}
}

// verify resolves NAME as the host's applications do. Each case runs it as
// a process in a private mount namespace of its own, with temporary files
// bind-mounted over /etc/hosts, /etc/resolv.conf and /etc/nsswitch.conf:
// the machine's own files are never written, and the mounts vanish with
// the process. resolv.conf has no port, so the lab's DNS server listens on
// port 53 of a loopback address of its own; -i is not given, so the
// capture opens the interface that routes to it (lo) and the default
// route's.
func TestVerifyResolvesAsApplications(t *testing.T) {
	testenv.Root(t)
	testenv.Tool(t, "mount")
	tshark := testenv.Tool(t, "tshark")
	const dnsAddr = "127.0.5.53"
	l, err := lab.Start(t.TempDir(), dnsAddr+":53")
	if err != nil {
		testenv.Unavailable(t, "cannot start the lab with its DNS server on %s:53 (is something listening on *:53?): %v", dnsAddr, err)
	}
	t.Cleanup(func() { l.Close() })
	for _, f := range []string{"/etc/hosts", "/etc/resolv.conf", "/etc/nsswitch.conf"} {
		if _, err := os.Stat(f); err != nil {
			testenv.Unavailable(t, "%s is needed as a mount point: %v", f, err)
		}
	}
	tests := []struct {
		name     string
		hosts    string
		nsswitch string
		code     int
		verdict  string
		resolver string
		server   string // the probe's
		source   string // in resolver_source
		dnsSeen  bool   // verify's own query and answer are in the report and the -w file
	}{
		{"pinned in /etc/hosts: the pin is followed", "127.0.0.1 localhost\n" + lab.Public + " " + lab.Name + "\n", "hosts: files dns\n",
			exitFail, "fail", "/etc/hosts", lab.Public, "/etc/nsswitch.conf", false},
		{"not pinned: DNS from resolv.conf, captured", "127.0.0.1 localhost\n", "hosts: files dns\n",
			exitPass, "pass", dnsAddr + ":53", lab.Endpoint, "/etc/resolv.conf", true},
		{"dns before files: DNS wins over the pin", "127.0.0.1 localhost\n" + lab.Public + " " + lab.Name + "\n", "hosts: dns files\n",
			exitPass, "pass", dnsAddr + ":53", lab.Endpoint, "/etc/resolv.conf", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, text := range map[string]string{"hosts": tc.hosts, "resolv.conf": "nameserver " + dnsAddr + "\n", "nsswitch.conf": tc.nsswitch} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			file := filepath.Join(dir, "verify.pcapng")
			stdout, stderr, code := verifyInNamespace(t, dir, "--endpoint-ip", lab.Endpoint, "--ip-ranges", l.RangesFile, "--ca-file", l.CAFile,
				"--format", "json", "--timeout", "8s", "-w", file, lab.Name)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr %s", code, tc.code, stderr)
			}
			r := decodeLive(t, stdout)
			if r.Verdict != tc.verdict {
				t.Errorf("verdict %s (%s), want %s", r.Verdict, r.Reason, tc.verdict)
			}
			if r.Probe == nil || r.Probe.Resolver != tc.resolver || !strings.Contains(r.Probe.ResolverSource, tc.source) ||
				len(r.Probe.Connections) != 1 || r.Probe.Connections[0].Server != tc.server+":443" {
				t.Fatalf("probe %+v: want resolved by %s (%s), one connection to %s", r.Probe, tc.resolver, tc.source, tc.server)
			}
			if r.Capture == nil || !slices.Contains(r.Capture.Interfaces, "lo") {
				t.Errorf("capture %+v: want lo, where the resolver is", r.Capture)
			}
			hostsWarning := strings.Contains(strings.Join(r.Warnings, "\n"), lab.Name+" was answered by /etc/hosts")
			if hostsWarning == tc.dnsSeen {
				t.Errorf("warning that /etc/hosts answered: %v, want %v; warnings %q", hostsWarning, !tc.dnsSeen, r.Warnings)
			}
			inReport := false
			for _, d := range r.DNS {
				if d.QName == lab.Name && d.Server == dnsAddr+":53" && d.QType == "A" && len(d.Answers) == 1 && d.Answers[0].Data == lab.Endpoint {
					inReport = true
				}
			}
			if inReport != tc.dnsSeen {
				t.Errorf("verify's DNS answer in the report: %v, want %v; dns %+v", inReport, tc.dnsSeen, r.DNS)
			}

			// The -w file, read by tshark: the query and its answer, and the
			// answer before the probe's SYN, because the capture started
			// before the lookup.
			out, err := exec.Command(tshark, "-r", file, "-Y", "dns or (tcp.flags.syn == 1 and tcp.flags.ack == 0)",
				"-T", "fields", "-e", "dns.qry.name", "-e", "dns.a", "-e", "ip.dst").Output()
			if err != nil {
				t.Fatalf("tshark -r %s: %v", file, err)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			query, answer, answerFirst := false, false, false
			for i, line := range lines {
				f := strings.Split(line, "\t")
				if len(f) != 3 {
					continue
				}
				switch {
				case f[0] == lab.Name && f[1] == "" && f[2] == dnsAddr:
					query = true
				case f[0] == lab.Name && f[1] == lab.Endpoint:
					answer = true
					answerFirst = !slices.ContainsFunc(lines[:i], func(l string) bool { return strings.HasSuffix(l, "\t"+tc.server) })
				}
			}
			if query != tc.dnsSeen || answer != tc.dnsSeen || answerFirst != tc.dnsSeen {
				t.Errorf("in the -w file: query %v, answer %v, answer before the SYN %v; want %v\n%s", query, answer, answerFirst, tc.dnsSeen, out)
			}
		})
	}
}

// verifyInNamespace runs vpce-verify verify ARGS as a process in a new
// mount namespace in which dir's hosts, resolv.conf and nsswitch.conf are
// bind-mounted over those of /etc.
func verifyInNamespace(t *testing.T, dir string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	hostNS, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		testenv.Unavailable(t, "cannot read the mount namespace: %v", err)
	}
	// The script refuses to mount anything unless it runs in a mount
	// namespace other than the test's: the host's /etc is never covered.
	const script = `set -e
[ "$(readlink /proc/self/ns/mnt)" != "$1" ] || { echo "not in a mount namespace of its own" >&2; exit 99; }
mount --make-rprivate /
for f in hosts resolv.conf nsswitch.conf; do mount --bind "$2/$f" "/etc/$f"; done
shift 2
exec "$@"`
	cmd := exec.Command("/bin/sh", append([]string{"-c", script, "sh", hostNS, dir, os.Args[0], "verify"}, args...)...)
	cmd.Env = append(os.Environ(), "VPCE_VERIFY_MAIN=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	code = 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		testenv.Unavailable(t, "cannot run verify in a mount namespace of its own: %v", err)
	}
	if code == 99 || strings.Contains(errb.String(), "mount:") {
		t.Fatalf("the namespace was not set up: %s", errb.String())
	}
	return out.String(), errb.String(), code
}

// An answer that leaves by an interface the capture is not on cannot be
// proved: verify names the interface and the -i that would capture it, and
// the evidence is incomplete (exit 2), rather than a verdict on the other
// interfaces' traffic. The case runs in a network namespace of its own: a
// veth pair holds the answer's subnet, with nobody behind it, so the
// probe's SYN goes nowhere, and dnsmasq on its loopback is the resolver.
func TestVerifyAnswerNotCaptured(t *testing.T) {
	testenv.Root(t)
	testenv.Tool(t, "ip")
	testenv.Tool(t, "ss")
	testenv.Tool(t, "dnsmasq")
	const script = `set -e
ip link set lo up
ip link add veth0 type veth peer name veth1
ip addr add 10.99.0.1/24 dev veth0
ip neigh add 10.99.0.2 lladdr 02:00:00:00:00:02 dev veth0
ip link set veth1 up
ip link set veth0 up
dnsmasq --keep-in-foreground --no-resolv --no-hosts --conf-file=/dev/null --listen-address=127.0.0.1 --bind-interfaces \
  --port=5300 --pid-file= --host-record=s3.ap-south-1.amazonaws.com,10.99.0.2 2>/dev/null &
dns=$!
for i in $(seq 50); do ss -Hlun 'sport = :5300' | grep -q . && break; sleep 0.1; done
set +e
"$@"
code=$?
kill $dns
wait $dns
exit $code`
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"interfaces chosen by the resolver's route", nil, exitError,
			"the probe's connection to 10.99.0.2 leaves by veth0, which the capture is not on"},
		{"-i any captures it: an unanswered SYN is inconclusive", []string{"-i", "any"}, exitInconclusive, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-c", script, "sh", os.Args[0], "verify", "--resolver", "127.0.0.1:5300", "--timeout", "2s", "--format", "json"},
				append(tc.args, "s3.ap-south-1.amazonaws.com")...)
			cmd := exec.Command("/bin/sh", args...)
			cmd.Env = append(os.Environ(), "VPCE_VERIFY_MAIN=1")
			cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNET}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				testenv.Unavailable(t, "cannot run verify in a network namespace of its own: %v", err)
			}
			if code != tc.code || !strings.Contains(stderr.String(), tc.stderr) {
				t.Fatalf("exit %d, want %d; stderr %s", code, tc.code, stderr.String())
			}
			r := decodeLive(t, stdout.String())
			if tc.stderr != "" {
				if !strings.Contains(stderr.String(), "vpce-verify: hint: capture there too: -i lo -i veth0, or -i any") {
					t.Errorf("no hint naming the interfaces: %s", stderr.String())
				}
				if r.Verdict != "error" || !strings.Contains(r.Reason, "veth0, which the capture is not on") {
					t.Errorf("verdict %s (%s), want error naming veth0", r.Verdict, r.Reason)
				}
			}
			if r.Probe == nil || len(r.Probe.Answers) != 1 || r.Probe.Answers[0].Addr != "10.99.0.2" {
				t.Errorf("probe %+v: want the answer 10.99.0.2", r.Probe)
			}
		})
	}
}

// Resolving as applications do with no DNS server to ask and no hosts
// entry is an error that says why, not "no address".
func TestVerifyNoResolver(t *testing.T) {
	testenv.Root(t)
	empty := filepath.Join(t.TempDir(), "resolv.conf")
	os.WriteFile(empty, []byte("search example.com\n"), 0o644)
	res := runCmd(t, nil, "verify", "-i", "lo", "--resolv-conf", empty, lab.Name)
	if res.code != exitError || !strings.Contains(res.stderr, "DNS could not be asked as applications ask it: resolv.conf: "+empty+" names no nameserver") {
		t.Errorf("exit %d, want %d and the reason; stderr %s", res.code, exitError, res.stderr)
	}
}

// serverCertSHA256 is the fingerprint of the certificate the server at
// addr:443 sends for name, as a TLS client of its own sees it.
func serverCertSHA256(t *testing.T, addr, name string) string {
	t.Helper()
	c, err := tls.Dial("tcp", net.JoinHostPort(addr, "443"), &tls.Config{ServerName: name, InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sum := sha256.Sum256(c.ConnectionState().PeerCertificates[0].Raw)
	return hex.EncodeToString(sum[:])
}

// TestLiveEvidence: verify and capture write evidence bundles of live
// packets too (read again from a spool in the folder, which is gone
// after), with the -w file's metadata, and evidence check accepts them.
func TestLiveEvidence(t *testing.T) {
	testenv.Root(t)
	l := startLab(t)
	dir := t.TempDir()
	key, allowed := sshKey(t, dir, "key", "ops@example.com")

	t.Run("verify", func(t *testing.T) {
		out := filepath.Join(dir, "verify")
		res := runCmd(t, nil, "verify", "-i", "lo", "--resolver", l.DNS, "--ca-file", l.CAFile, "--ip-ranges", l.RangesFile,
			"--evidence", out, "--sign-key", key, lab.LeakName)
		if res.code != exitFail {
			t.Fatalf("verify: exit %d, want 1\n%s", res.code, res.stderr)
		}
		checkLiveBundle(t, out, allowed, "FAIL")
		comments := testenv.Tshark(t, "-r", filepath.Join(out, "evidence.pcapng"), "-Y", "frame.comment", "-T", "fields", "-e", "frame.comment")
		if len(comments) != 1 || !strings.HasPrefix(comments[0], "public-aws ") || !strings.Contains(comments[0], ": FAIL; ") {
			t.Errorf("comments %q, want the probe's leak", comments)
		}
		// verify's own DNS exchange is kept.
		if dns := testenv.Tshark(t, "-r", filepath.Join(out, "evidence.pcapng"), "-Y", "dns.flags.response==1", "-T", "fields", "-e", "dns.qry.name"); !slices.Contains(dns, lab.LeakName) {
			t.Errorf("no DNS answer for %s in evidence.pcapng: %q", lab.LeakName, dns)
		}
	})

	t.Run("capture", func(t *testing.T) {
		out := filepath.Join(dir, "capture")
		ctx, stop := context.WithCancel(context.Background())
		var stdout, stderr syncBuffer
		done := make(chan int)
		go func() {
			done <- testRun(ctx, []string{"capture", "-i", "lo", "--endpoint-ip", lab.Endpoint, "--ip-ranges", l.RangesFile,
				"--evidence", out, "--sign-key", key}, nil, &stdout, &stderr)
		}()
		waitFor(t, &stderr, "capturing on lo")
		tlsClient(t, lab.Endpoint, l.CAFile)
		time.Sleep(200 * time.Millisecond)
		stop()
		if code := <-done; code != exitPass {
			t.Fatalf("capture: exit %d, want 0\n%s", code, stderr.String())
		}
		checkLiveBundle(t, out, allowed, "PASS")
	})
}

func checkLiveBundle(t *testing.T, out, allowed, verdict string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(out, ".capture.pcapng")); !os.IsNotExist(err) {
		t.Errorf("the spool is still there: %v", err)
	}
	res := runCmd(t, nil, "evidence", "check", out, "--allowed-signers", allowed, "--identity", "ops@example.com")
	if res.code != exitPass || !strings.Contains(res.stdout, "analysed again gives "+verdict+", as report.json says") {
		t.Errorf("evidence check: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	info, err := exec.Command(testenv.Tool(t, "capinfos"), filepath.Join(out, "evidence.pcapng")).CombinedOutput()
	if err != nil {
		t.Fatalf("capinfos: %v\n%s", err, info)
	}
	for _, want := range []string{"evidence: verdict " + verdict, "Capture oper-sys:    " + host.OS(), "Name = lo", "Filter string = "} {
		if !strings.Contains(string(info), want) {
			t.Errorf("capinfos does not say %q:\n%s", want, info)
		}
	}
}
