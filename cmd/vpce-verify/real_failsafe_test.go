package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vpce-verify/vpce-verify/internal/testenv"
)

// The fail-safe rules on captures made by real software (testdata/real,
// make.sh): curl reaching S3 only through a real HTTP proxy (tinyproxy), and
// a curl upload recorded from its middle. What tshark reads in the same
// files is checked against our reading where a tool is needed.

const (
	vpceName     = "bucket.vpce-0a1b2c3d4e5f67890-9hnenorg.s3.ap-south-1.vpce.amazonaws.com"
	proxyCapture = "proxy-connect.pcap"
	midCapture   = "midstream-upload.pcap"
)

type failsafeFlow struct {
	Client      string    `json:"client"`
	Server      string    `json:"server"`
	ConnState   string    `json:"conn_state"`
	Established bool      `json:"established"`
	Packets     [2]uint64 `json:"packets"`
	Bytes       [2]uint64 `json:"bytes"`
	SNI         string    `json:"sni"`
	TLS         struct {
		ClientHello string `json:"client_hello"`
		InTunnel    bool   `json:"in_tunnel"`
	} `json:"tls"`
	HTTP struct {
		Method      string `json:"method"`
		Target      string `json:"target"`
		ProxyTarget string `json:"proxy_target"`
	} `json:"http"`
	S3           bool     `json:"s3"`
	S3Evidence   []string `json:"s3_evidence"`
	Path         string   `json:"path"`
	PathEvidence string   `json:"path_evidence"`
	AWS          *struct {
		Services []string `json:"services"`
		Region   string   `json:"region"`
		Prefix   string   `json:"prefix"`
	} `json:"aws"`
}

type failsafeReport struct {
	Verdict string `json:"verdict"`
	Reason  string `json:"reason"`
	Summary struct {
		S3FlowsByPath map[string]int `json:"s3_flows_by_path"`
	} `json:"summary"`
	Flows      []failsafeFlow `json:"flows"`
	Violations []failsafeFlow `json:"violations"`
	Warnings   []string       `json:"warnings"`
}

// analyzeReal runs analyze --format json on a file and decodes the report.
func analyzeReal(t *testing.T, file string, args ...string) (int, failsafeReport) {
	t.Helper()
	res := runCmd(t, nil, append(append([]string{"analyze", "--format", "json"}, args...), file)...)
	var r failsafeReport
	if err := json.Unmarshal([]byte(res.stdout), &r); err != nil {
		t.Fatalf("output is not JSON: %v\n%s\nstderr: %s", err, res.stdout, res.stderr)
	}
	return res.code, r
}

// flowFrom returns the flow whose client is the given address.
func flowFrom(t *testing.T, flows []failsafeFlow, client string) failsafeFlow {
	t.Helper()
	for _, f := range flows {
		if f.Client == client {
			return f
		}
	}
	t.Fatalf("no flow from %s among %d flows", client, len(flows))
	return failsafeFlow{}
}

// tsharkFields runs tshark -T fields on a file and returns one []string per
// line.
func tsharkFields(t *testing.T, file string, args ...string) [][]string {
	t.Helper()
	tshark := testenv.Tool(t, "tshark")
	cmd := exec.Command(tshark, append([]string{"-n", "-r", file, "-T", "fields", "-E", "separator=/t"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	var rows [][]string
	for line := range strings.SplitSeq(strings.TrimRight(string(out), "\n"), "\n") {
		if line != "" {
			rows = append(rows, strings.Split(line, "\t"))
		}
	}
	return rows
}

// The proxy capture cut by editcap to a snap length that keeps the headers
// and the first bytes of each request, beside the capture of a connection
// to the endpoint, which alone would pass:
//   - the CONNECT is cut inside its target: an earlier build counted it as
//     "not S3" and passed; now it keeps the pass from being one;
//   - the plain-HTTP GET is cut after the host of its absolute URI: its
//     proxy target is read, as tshark reads it, and it is S3 through a proxy.
//
// tshark shows that the cut is real: the frames are shorter than on the
// wire, and it reads no CONNECT target in them.
func TestRealProxyConnectCut(t *testing.T) {
	editcap := testenv.Tool(t, "editcap")
	tshark := testenv.Tool(t, "tshark")
	dir := t.TempDir()
	cut := filepath.Join(dir, "proxy-cut.pcap")
	if out, err := exec.Command(editcap, "-s", "120", td(t, "real", proxyCapture), cut).CombinedOutput(); err != nil {
		t.Fatalf("editcap: %v\n%s", err, out)
	}
	cutFrames := 0
	tsharkHost := ""
	for _, r := range tsharkFields(t, cut, "-Y", "tcp.dstport == 3128 && tcp.len > 0", "-e", "frame.cap_len", "-e", "frame.len", "-e", "http.request.method", "-e", "http.request.uri") {
		if len(r) >= 2 && r[0] != r[1] {
			cutFrames++
		}
		if len(r) > 3 && r[2] == "CONNECT" && strings.Contains(r[3], "amazonaws.com") {
			t.Errorf("tshark reads the CONNECT target in the cut capture: %q", r)
		}
		if len(r) > 3 && r[2] == "GET" {
			if u, ok := strings.CutPrefix(r[3], "http://"); ok {
				tsharkHost, _, _ = strings.Cut(u, "/")
			}
		}
	}
	if cutFrames < 2 || tsharkHost == "" {
		t.Fatalf("tshark sees %d frames to the proxy cut by the snap length (want the 2 requests at least), and reads the GET's host %q", cutFrames, tsharkHost)
	}

	// Both cut requests beside the endpoint connection.
	code, r := analyzeReal(t, cut, "--endpoint-ip", "10.0.2.50", td(t, "real", "endpoint-pass.pcap"))
	if code != exitInconclusive || r.Verdict != "inconclusive" {
		t.Errorf("exit %d verdict %s, want %d inconclusive; reason %q", code, r.Verdict, exitInconclusive, r.Reason)
	}
	if s := "10.0.1.25:52002 -> 10.0.3.10:3128 (proxy target " + tsharkHost + ", proxy"; !strings.Contains(r.Reason, s) {
		t.Errorf("reason %q does not say %q", r.Reason, s)
	}
	if !slices.ContainsFunc(r.Warnings, func(w string) bool {
		return strings.Contains(w, "10.0.1.25:52001 -> 10.0.3.10:3128 had the HTTP request cut before any server name")
	}) {
		t.Errorf("no warning about the cut CONNECT: %q", r.Warnings)
	}

	// The cut CONNECT alone (tshark keeps its connection) beside the
	// endpoint connection: the doubt it leaves is the reason.
	connect := filepath.Join(dir, "connect-cut.pcap")
	if out, err := exec.Command(tshark, "-r", cut, "-Y", "tcp.port == 52001", "-w", connect, "-F", "pcap").CombinedOutput(); err != nil {
		t.Fatalf("tshark -w: %v\n%s", err, out)
	}
	code, r = analyzeReal(t, connect, "--endpoint-ip", "10.0.2.50", td(t, "real", "endpoint-pass.pcap"))
	if code != exitInconclusive {
		t.Errorf("exit %d, want %d; reason %q", code, exitInconclusive, r.Reason)
	}
	for _, s := range []string{"the 1 established S3 connection went to the interface endpoint, but 1 established connection that nothing shows to be S3",
		"10.0.1.25:52001 -> 10.0.3.10:3128 (private-other, HTTP request cut"} {
		if !strings.Contains(r.Reason, s) {
			t.Errorf("reason %q does not say %q", r.Reason, s)
		}
	}

	// The endpoint connection on its own, cut the same way, still passes:
	// it is S3 by the endpoint's address.
	endpointCut := filepath.Join(dir, "endpoint-cut.pcap")
	if out, err := exec.Command(editcap, "-s", "120", td(t, "real", "endpoint-pass.pcap"), endpointCut).CombinedOutput(); err != nil {
		t.Fatalf("editcap: %v\n%s", err, out)
	}
	if code, r := analyzeReal(t, endpointCut, "--endpoint-ip", "10.0.2.50"); code != exitPass {
		t.Errorf("the endpoint connection cut at 120 bytes: exit %d, want %d; reason %q", code, exitPass, r.Reason)
	}
}

// A client that reaches S3 only through an HTTP proxy: a CONNECT tunnel whose
// TLS names the endpoint, and a plain-HTTP absolute-URI GET. The capture
// cannot show where the proxy went, so it never passes, whether or not the
// endpoint's addresses are given: the proxy's private address with an
// endpoint name inside its tunnel is not an inferred endpoint.
func TestRealProxyConnect(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"endpoint given", []string{"--endpoint-ip", "10.0.2.50"}},
		{"no inventory", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, r := analyzeReal(t, td(t, "real", proxyCapture), tc.args...)
			if code != exitInconclusive || r.Verdict != "inconclusive" {
				t.Errorf("exit %d verdict %s, want %d inconclusive; reason %q", code, r.Verdict, exitInconclusive, r.Reason)
			}
			for _, s := range []string{"through an HTTP proxy", "10.0.1.25:52001 -> 10.0.3.10:3128", "10.0.1.25:52002 -> 10.0.3.10:3128"} {
				if !strings.Contains(r.Reason, s) {
					t.Errorf("reason %q does not say %q", r.Reason, s)
				}
			}
			if len(r.Flows) != 2 || len(r.Summary.S3FlowsByPath) != 1 || r.Summary.S3FlowsByPath["proxy"] != 2 {
				t.Errorf("%d flows, S3 connections by path %v: want the 2 client->proxy connections, both proxy", len(r.Flows), r.Summary.S3FlowsByPath)
			}
			for _, w := range r.Warnings {
				if strings.Contains(w, "taken for an interface endpoint") {
					t.Errorf("the proxy was taken for an inferred endpoint: %q", w)
				}
			}

			tunnel := flowFrom(t, r.Flows, "10.0.1.25:52001")
			if tunnel.Server != "10.0.3.10:3128" || tunnel.ConnState != "SF" || !tunnel.Established || !tunnel.S3 ||
				tunnel.Path != "proxy" || tunnel.PathEvidence != "http-connect" || !slices.Contains(tunnel.S3Evidence, "proxy-target") {
				t.Errorf("CONNECT connection: %+v\nwant to 10.0.3.10:3128, SF, established S3, path proxy (http-connect), evidence proxy-target", tunnel)
			}
			if tunnel.HTTP.Method != "CONNECT" || tunnel.HTTP.ProxyTarget != vpceName+":443" {
				t.Errorf("CONNECT connection asked the proxy %s %q, want CONNECT %s:443", tunnel.HTTP.Method, tunnel.HTTP.ProxyTarget, vpceName)
			}
			if tunnel.SNI != vpceName || !tunnel.TLS.InTunnel || tunnel.TLS.ClientHello != "complete" {
				t.Errorf("tunnel TLS: SNI %q in_tunnel %v hello %s, want the endpoint name from a complete hello inside the tunnel", tunnel.SNI, tunnel.TLS.InTunnel, tunnel.TLS.ClientHello)
			}

			get := flowFrom(t, r.Flows, "10.0.1.25:52002")
			if get.Server != "10.0.3.10:3128" || get.ConnState != "SF" || !get.Established || !get.S3 ||
				get.Path != "proxy" || get.PathEvidence != "http-absolute-uri" || !slices.Contains(get.S3Evidence, "proxy-target") {
				t.Errorf("absolute-URI connection: %+v\nwant to 10.0.3.10:3128, SF, established S3, path proxy (http-absolute-uri), evidence proxy-target", get)
			}
			if get.HTTP.Method != "GET" || get.HTTP.Target != "http://my-bucket.s3.ap-south-1.amazonaws.com/object.txt" ||
				get.HTTP.ProxyTarget != "my-bucket.s3.ap-south-1.amazonaws.com:80" || get.SNI != "" {
				t.Errorf("absolute-URI connection: %s %q (proxy target %q, SNI %q), want GET of the bucket's http:// URL, target port 80, no SNI",
					get.HTTP.Method, get.HTTP.Target, get.HTTP.ProxyTarget, get.SNI)
			}
		})
	}
}

// What tshark finds in the proxy capture is what the report says: the SNI of
// the one ClientHello inside the CONNECT tunnel, and the two requests to the
// proxy.
func TestRealProxyConnectTshark(t *testing.T) {
	file := td(t, "real", proxyCapture)
	_, r := analyzeReal(t, file, "--endpoint-ip", "10.0.2.50")

	hellos := tsharkFields(t, file, "-d", "tcp.port==3128,http", "-Y", "tls.handshake.type==1",
		"-e", "tcp.srcport", "-e", "tls.handshake.extensions_server_name")
	if len(hellos) != 1 || len(hellos[0]) != 2 {
		t.Fatalf("tshark finds ClientHellos %q, want one", hellos)
	}
	f := flowFrom(t, r.Flows, "10.0.1.25:"+hellos[0][0])
	if f.SNI != hellos[0][1] || !f.TLS.InTunnel || f.HTTP.ProxyTarget != hellos[0][1]+":443" {
		t.Errorf("tshark: SNI %q in the tunnel from port %s; report: SNI %q, in_tunnel %v, proxy target %q",
			hellos[0][1], hellos[0][0], f.SNI, f.TLS.InTunnel, f.HTTP.ProxyTarget)
	}

	reqs := tsharkFields(t, file, "-d", "tcp.port==3128,http", "-Y", "http.request",
		"-e", "tcp.srcport", "-e", "http.request.method", "-e", "http.request.uri")
	if len(reqs) != len(r.Flows) {
		t.Fatalf("tshark finds %d requests to the proxy, the report %d connections", len(reqs), len(r.Flows))
	}
	for _, req := range reqs {
		f := flowFrom(t, r.Flows, "10.0.1.25:"+req[0])
		if f.HTTP.Method != req[1] || f.HTTP.Target != req[2] {
			t.Errorf("port %s: tshark reads %s %s, the report %s %s", req[0], req[1], req[2], f.HTTP.Method, f.HTTP.Target)
		}
	}
}

// An HTTPS upload to public S3 captured from its middle: no handshake, no
// name, but the server acknowledges the data, so it is traffic, and it went
// to a public S3 address.
func TestRealMidstreamUpload(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"no inventory", nil},
		{"endpoint given", []string{"--endpoint-ip", "10.0.2.50"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, r := analyzeReal(t, td(t, "real", midCapture), tc.args...)
			if code != exitFail || r.Verdict != "fail" {
				t.Errorf("exit %d verdict %s, want %d fail; reason %q", code, r.Verdict, exitFail, r.Reason)
			}
			if !strings.Contains(r.Reason, "10.0.1.25:53001 -> 52.219.64.10:443") {
				t.Errorf("reason %q does not name the connection", r.Reason)
			}
			if len(r.Flows) != 1 || len(r.Violations) != 1 {
				t.Fatalf("%d flows, %d violations, want 1 and 1", len(r.Flows), len(r.Violations))
			}
			f := r.Flows[0]
			if f.Client != "10.0.1.25:53001" || f.Server != "52.219.64.10:443" || f.ConnState != "OTH" || !f.Established {
				t.Errorf("connection %s -> %s %s established %v, want 10.0.1.25:53001 -> 52.219.64.10:443 OTH established",
					f.Client, f.Server, f.ConnState, f.Established)
			}
			if !f.S3 || f.Path != "public-aws" || !slices.Equal(f.S3Evidence, []string{"aws-range"}) || f.TLS.ClientHello != "not-seen" || f.SNI != "" {
				t.Errorf("S3 %v path %s evidence %v hello %s SNI %q, want S3 by address only (aws-range), public-aws, hello not-seen",
					f.S3, f.Path, f.S3Evidence, f.TLS.ClientHello, f.SNI)
			}
			if f.AWS == nil || f.AWS.Region != "ap-south-1" || f.AWS.Prefix != "52.219.64.0/22" || !slices.Contains(f.AWS.Services, "S3") {
				t.Errorf("aws %+v, want S3 ap-south-1 52.219.64.0/22", f.AWS)
			}
			// testdata/real/README.md: 192 client packets (262496 payload
			// bytes), 18 pure ACKs back.
			if f.Packets != [2]uint64{192, 18} || f.Bytes != [2]uint64{262496, 0} {
				t.Errorf("packets %v bytes %v, want [192 18] [262496 0]", f.Packets, f.Bytes)
			}
		})
	}
}

// Only the server's ACKs make the midstream upload traffic: the same packets
// without them are data nobody acknowledged, not a proven leak.
func TestRealMidstreamUploadNeedsACKs(t *testing.T) {
	oneWay := keepFrom(t, td(t, "real", midCapture), netip.MustParseAddr("10.0.1.25"))
	code, r := analyzeReal(t, oneWay)
	if code != exitInconclusive || r.Verdict != "inconclusive" {
		t.Errorf("client half only: exit %d verdict %s, want %d inconclusive; reason %q", code, r.Verdict, exitInconclusive, r.Reason)
	}
	if len(r.Flows) != 1 || r.Flows[0].Established || r.Flows[0].Packets != [2]uint64{192, 0} {
		t.Errorf("flows %+v, want one unestablished connection of 192 client packets", r.Flows)
	}
}

// tshark agrees the upload capture has no connection start or end, that the
// server's packets are ACKs, and on the bytes the client sent.
func TestRealMidstreamUploadTshark(t *testing.T) {
	file := td(t, "real", midCapture)
	_, r := analyzeReal(t, file)
	if len(r.Flows) != 1 {
		t.Fatalf("%d flows, want 1", len(r.Flows))
	}
	f := r.Flows[0]
	if n := len(tsharkFields(t, file, "-Y", "tcp.flags.syn==1 || tcp.flags.fin==1 || tcp.flags.reset==1", "-e", "frame.number")); n != 0 {
		t.Errorf("tshark finds %d SYN/FIN/RST frames, want 0 (a capture from the middle)", n)
	}
	acks := tsharkFields(t, file, "-Y", "ip.src==52.219.64.10 && tcp.flags.ack==1 && tcp.len==0", "-e", "frame.number")
	if len(acks) == 0 || uint64(len(acks)) != f.Packets[1] {
		t.Errorf("tshark finds %d pure ACKs from the server, the report %d server packets", len(acks), f.Packets[1])
	}
	var sent uint64
	for _, row := range tsharkFields(t, file, "-Y", "ip.src==10.0.1.25", "-e", "tcp.len") {
		n, err := strconv.ParseUint(row[0], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		sent += n
	}
	if sent != f.Bytes[0] || sent == 0 {
		t.Errorf("tshark: client sent %d payload bytes, the report %d", sent, f.Bytes[0])
	}
}

// keepFrom writes a copy of a little-endian Ethernet/IPv4 pcap holding only
// the packets whose IPv4 source is src, and returns its path.
func keepFrom(t *testing.T, in string, src netip.Addr) string {
	t.Helper()
	data, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) < 24 || binary.LittleEndian.Uint32(data) != 0xa1b2c3d4 || binary.LittleEndian.Uint32(data[20:]) != 1 {
		t.Fatalf("%s is not a little-endian microsecond Ethernet pcap", in)
	}
	out := slices.Clone(data[:24])
	kept := 0
	for off := 24; off < len(data); {
		if off+16 > len(data) {
			t.Fatalf("%s: cut record header at byte %d", in, off)
		}
		end := off + 16 + int(binary.LittleEndian.Uint32(data[off+8:]))
		if end > len(data) {
			t.Fatalf("%s: cut record at byte %d", in, off)
		}
		pkt := data[off+16 : end]
		// Ethernet (14 bytes), then the IPv4 source address at 12.
		if len(pkt) >= 34 && binary.BigEndian.Uint16(pkt[12:]) == 0x0800 && netip.AddrFrom4([4]byte(pkt[26:30])) == src {
			out = append(out, data[off:end]...)
			kept++
		}
		off = end
	}
	if kept == 0 {
		t.Fatalf("%s: no packet from %s", in, src)
	}
	p := filepath.Join(t.TempDir(), "from-"+src.String()+".pcap")
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
