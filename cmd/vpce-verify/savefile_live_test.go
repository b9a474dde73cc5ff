package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vpce-verify/vpce-verify/internal/testenv"
)

// The long-run tests capture on lo, as root, the UDP datagrams a test
// sends to a port of 127.0.0.1 the capture keeps as DNS (--dns-port):
// nothing listens there and nothing leaves loopback.

// writtenFile is a file of the report's capture.files.
type writtenFile struct {
	Name    string  `json:"name"`
	Format  string  `json:"format"`
	Gzip    bool    `json:"gzip"`
	Size    int64   `json:"size"`
	SHA256  string  `json:"sha256"`
	Packets int     `json:"packets"`
	Error   *string `json:"error"`
}

type savedReport struct {
	Inputs []struct {
		Packets int `json:"packets"`
	} `json:"inputs"`
	Capture struct {
		Started          time.Time     `json:"started"`
		Stopped          time.Time     `json:"stopped"`
		StopReason       string        `json:"stop_reason"`
		Written          string        `json:"written"`
		WrittenSHA256    string        `json:"written_sha256"`
		Files            []writtenFile `json:"files"`
		FilesOverwritten int           `json:"files_overwritten"`
	} `json:"capture"`
}

func decodeSaved(t *testing.T, s string) savedReport {
	t.Helper()
	var r savedReport
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, s)
	}
	return r
}

// udpPort is a free UDP port of 127.0.0.1.
func udpPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// sendUDP sends a datagram of size bytes to 127.0.0.1:port every interval
// until ctx ends.
func sendUDP(ctx context.Context, t *testing.T, port, size int, interval time.Duration) {
	t.Helper()
	c, err := net.Dial("udp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer c.Close()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		payload := make([]byte, size)
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				c.Write(payload)
			}
		}
	}()
}

// tsharkCount is how many packets tshark reads in a file: it must read the
// file to its end without complaint.
func tsharkCount(t *testing.T, path string) int {
	t.Helper()
	return len(testenv.Tshark(t, "-r", path, "-T", "fields", "-e", "frame.number"))
}

// checkWritten checks the report's files against the directory: the same
// files, each read whole by tshark with the packets and digest the report
// gives; it returns the packets of all.
func checkWritten(t *testing.T, dir string, files []writtenFile) int {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	var inDir, listed []string
	for _, e := range entries {
		inDir = append(inDir, e.Name())
	}
	total := 0
	for _, f := range files {
		listed = append(listed, filepath.Base(f.Name))
		data, err := os.ReadFile(f.Name)
		if err != nil {
			t.Fatal(err)
		}
		if f.Error != nil || f.SHA256 != fmt.Sprintf("%x", sha256.Sum256(data)) || f.Size != int64(len(data)) {
			t.Errorf("%s: the report says sha256 %s, %d bytes (error %v); the file has %x, %d bytes", f.Name, f.SHA256, f.Size, f.Error, sha256.Sum256(data), len(data))
		}
		if n := tsharkCount(t, f.Name); n != f.Packets {
			t.Errorf("%s: tshark reads %d packets, the report says %d", f.Name, n, f.Packets)
		}
		total += f.Packets
	}
	slices.Sort(listed)
	if !slices.Equal(inDir, listed) {
		t.Errorf("files in the directory %q, in the report %q", inDir, listed)
	}
	return total
}

// -G 1 -W 3 over 4 s: three files of about a second each, named by their
// start time, each whole; the capture stops with the third, as tcpdump's.
func TestCaptureRotateByTime(t *testing.T) {
	testenv.Root(t)
	testenv.Tool(t, "tshark")
	dir := t.TempDir()
	port := udpPort(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sendUDP(ctx, t, port, 100, 20*time.Millisecond)
	res := runCmd(t, nil, "capture", "-i", "lo", "--dns-port", strconv.Itoa(port), "--duration", "4s",
		"-w", filepath.Join(dir, "s3-%Y%m%d-%H%M%S.pcapng"), "-G", "1", "-W", "3", "--format", "json")
	if res.code != exitInconclusive {
		t.Fatalf("exit %d; stderr %s", res.code, res.stderr)
	}
	r := decodeSaved(t, res.stdout)
	// The capture's own clock, from the report: the time the program took
	// to start and to write its report is not the capture's.
	if took := r.Capture.Stopped.Sub(r.Capture.Started); r.Capture.StopReason != "file limit" || took <= 0 || took > 3900*time.Millisecond {
		t.Errorf("stopped after %v (%s), want at the end of the third second (file limit)", took, r.Capture.StopReason)
	}
	if len(r.Capture.Files) != 3 {
		t.Fatalf("%d files in the report, want 3: %+v", len(r.Capture.Files), r.Capture.Files)
	}
	for i, f := range r.Capture.Files {
		if !strings.HasPrefix(filepath.Base(f.Name), "s3-2") || len(filepath.Base(f.Name)) != len("s3-20260101-000000.pcapng") || f.Format != "pcapng" {
			t.Errorf("file %d: %s %s", i, f.Name, f.Format)
		}
		// At 50 packets a second, each second's file holds some.
		if f.Packets < 10 {
			t.Errorf("file %d: %d packets in its second", i, f.Packets)
		}
	}
	if total := checkWritten(t, dir, r.Capture.Files); total != r.Inputs[0].Packets {
		t.Errorf("the files hold %d packets, the capture %d", total, r.Inputs[0].Packets)
	}
}

// -C: several files, named as tcpdump names them, whose packets add up to
// the capture's; with -W the ring reuses the names.
func TestCaptureRotateBySize(t *testing.T) {
	testenv.Root(t)
	testenv.Tool(t, "tshark")
	port := udpPort(t)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"-C", []string{"-C", "16k"}},
		{"-C -W", []string{"-C", "16k", "-W", "2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			sendUDP(ctx, t, port, 1000, 5*time.Millisecond)
			// 16 packets of 1042 bytes (1058 with the record header) a
			// file; other tests' packets on lo may share them.
			args := append([]string{"capture", "-i", "lo", "--dns-port", strconv.Itoa(port), "-c", "50",
				"-w", filepath.Join(dir, "s3.pcap"), "--format", "json"}, tc.args...)
			res := runCmd(t, nil, args...)
			if res.code != exitInconclusive {
				t.Fatalf("exit %d; stderr %s", res.code, res.stderr)
			}
			r := decodeSaved(t, res.stdout)
			var names []string
			for _, f := range r.Capture.Files {
				names = append(names, filepath.Base(f.Name))
			}
			slices.Sort(names)
			want := []string{"s3.pcap0", "s3.pcap1"}
			if tc.name == "-C" {
				want = []string{"s3.pcap"}
				for i := 1; i < max(len(names), 3); i++ {
					want = append(want, "s3.pcap"+strconv.Itoa(i))
				}
				slices.Sort(want)
			}
			if !slices.Equal(names, want) {
				t.Errorf("files %q, want %q", names, want)
			}
			total := checkWritten(t, dir, r.Capture.Files)
			if tc.name == "-C" && (total != 50 || r.Inputs[0].Packets != 50) {
				t.Errorf("the files hold %d packets, the capture %d, want 50", total, r.Inputs[0].Packets)
			}
			if tc.name == "-C" {
				// analyze reads the series back as one capture.
				args := []string{"analyze", "--format", "json", "--dns-port", strconv.Itoa(port)}
				for _, f := range r.Capture.Files {
					args = append(args, f.Name)
				}
				an := runCmd(t, nil, args...)
				var ar struct {
					Summary struct {
						Packets int `json:"packets"`
					} `json:"summary"`
					Inputs []struct {
						Complete bool `json:"complete"`
					} `json:"inputs"`
				}
				if err := json.Unmarshal([]byte(an.stdout), &ar); err != nil || ar.Summary.Packets != 50 || len(ar.Inputs) != len(r.Capture.Files) {
					t.Errorf("analyze of the series: %d packets in %d inputs (%v), want 50 in %d; %s", ar.Summary.Packets, len(ar.Inputs), err, len(r.Capture.Files), an.stderr)
				}
				for i, in := range ar.Inputs {
					if !in.Complete {
						t.Errorf("analyze: input %d not complete", i)
					}
				}
			}
			if tc.name == "-C -W" && (total >= 50 || r.Capture.FilesOverwritten < 1) {
				t.Errorf("the ring holds %d packets of 50, %d files written over", total, r.Capture.FilesOverwritten)
			}
		})
	}
}

// -w takes any name: pcapng for .pcapng, pcap otherwise, gzip for .gz;
// each is read back by analyze and by tshark.
func TestCaptureWriteNames(t *testing.T) {
	testenv.Root(t)
	testenv.Tool(t, "tshark")
	port := udpPort(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sendUDP(ctx, t, port, 200, 5*time.Millisecond)
	for _, tc := range []struct {
		name, format string
		gzip         bool
	}{{"evidence", "pcap", false}, {"x.cap", "pcap", false}, {"x.pcap.gz", "pcap", true}, {"x.pcapng.gz", "pcapng", true}} {
		name := tc.name
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), name)
			res := runCmd(t, nil, "capture", "-i", "lo", "--dns-port", strconv.Itoa(port), "-c", "20", "-w", file, "--format", "json")
			if res.code != exitInconclusive {
				t.Fatalf("exit %d; stderr %s", res.code, res.stderr)
			}
			r := decodeSaved(t, res.stdout)
			data, err := os.ReadFile(file)
			if err != nil || len(data) < 2 || (data[0] == 0x1f && data[1] == 0x8b) != tc.gzip {
				t.Fatalf("%s: gzip magic %v, want %v (%v)", file, len(data) > 1 && data[0] == 0x1f && data[1] == 0x8b, tc.gzip, err)
			}
			if r.Capture.WrittenSHA256 != fmt.Sprintf("%x", sha256.Sum256(data)) {
				t.Errorf("written_sha256 %s is not the file's", r.Capture.WrittenSHA256)
			}
			an := runCmd(t, nil, "analyze", "--format", "json", "--dns-port", strconv.Itoa(port), file)
			var ar struct {
				Inputs []struct {
					Format   string `json:"format"`
					Gzip     bool   `json:"gzip"`
					Packets  int    `json:"packets"`
					Complete bool   `json:"complete"`
					SHA256   string `json:"sha256"`
				} `json:"inputs"`
			}
			if err := json.Unmarshal([]byte(an.stdout), &ar); err != nil {
				t.Fatalf("analyze: %v: %s %s", err, an.stdout, an.stderr)
			}
			in := ar.Inputs[0]
			if in.Format != tc.format || in.Gzip != tc.gzip || in.Packets != 20 || !in.Complete || in.SHA256 != r.Capture.WrittenSHA256 {
				t.Errorf("analyze reads %+v, want %s, gzip %v, 20 packets, complete, the digest the capture gave", in, tc.format, tc.gzip)
			}
			if n := tsharkCount(t, file); n != 20 {
				t.Errorf("tshark reads %d packets, want 20", n)
			}
		})
	}
}

// -w - -U piped into tshark: the packets on standard output, the report on
// standard error.
func TestCaptureToStdout(t *testing.T) {
	testenv.Root(t)
	tshark := testenv.Tool(t, "tshark")
	port := udpPort(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sendUDP(ctx, t, port, 100, 5*time.Millisecond)
	capt := runAsProcess(t, "capture", "-i", "lo", "--dns-port", strconv.Itoa(port), "-c", "30", "-w", "-", "-U")
	read := exec.Command(tshark, "-r", "-", "-T", "fields", "-e", "udp.dstport")
	// A pipe of their own, as a shell's: (*exec.Cmd).StdoutPipe would be
	// closed by the capture's Wait while tshark still reads it.
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	capt.Stdout, read.Stdin = pw, pr
	var capErr, readErr syncBuffer
	capt.Stderr, read.Stderr = &capErr, &readErr
	var out syncBuffer
	read.Stdout = &out
	if err := capt.Start(); err != nil {
		t.Fatal(err)
	}
	if err := read.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	pr.Close()
	capRes := capt.Wait()
	if err := read.Wait(); err != nil {
		t.Fatalf("tshark -r -: %v: %s", err, readErr.String())
	}
	if ee, ok := capRes.(*exec.ExitError); !ok || ee.ExitCode() != exitInconclusive {
		t.Errorf("capture: %v, want exit %d; stderr %s", capRes, exitInconclusive, capErr.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 30 || !slices.Contains(lines, strconv.Itoa(port)) {
		t.Errorf("tshark read %d packets (%q), want 30, to port %d", len(lines), lines, port)
	}
	if s := capErr.String(); !strings.Contains(s, "INCONCLUSIVE: ") || !strings.Contains(s, "packets written to -: pcap, 30 packets") {
		t.Errorf("the report is not on standard error: %s", s)
	}
}

// nobodyDir is a directory nobody (65534) may create files in: outside the
// test's temporary directories, which only root may enter.
func nobodyDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "vpce-verify-nobody")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	return dir
}

// -Z nobody: the files are created after the drop, as nobody, as tcpdump
// -Z creates its savefile.
func TestCaptureUserOwnsFiles(t *testing.T) {
	testenv.Root(t)
	dir := nobodyDir(t)
	port := udpPort(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sendUDP(ctx, t, port, 100, 5*time.Millisecond)
	files := []string{filepath.Join(dir, "x.pcapng.gz"), filepath.Join(dir, "report.json"), filepath.Join(dir, "conn.log")}
	cmd := runAsProcess(t, "capture", "-i", "lo", "--dns-port", strconv.Itoa(port), "-c", "10", "-Z", "nobody",
		"-w", files[0], "-o", files[1], "--format", "json", "--conn-log", files[2])
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitInconclusive {
		t.Fatalf("capture: %v; %s", err, out)
	}
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if sys := st.Sys().(*syscall.Stat_t); sys.Uid != 65534 {
			t.Errorf("%s is owned by uid %d, want nobody (65534)", f, sys.Uid)
		}
	}
	// A directory nobody cannot write to: the error, a hint, no capture.
	root := t.TempDir()
	cmd = runAsProcess(t, "capture", "-i", "lo", "-c", "10", "-Z", "nobody", "-w", filepath.Join(root, "x.pcap"))
	out, err = cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitError || !strings.Contains(string(out), "permission denied") ||
		!strings.Contains(string(out), "hint: with --user the files are created as nobody") || strings.Contains(string(out), "capturing on") {
		t.Errorf("-w in a directory of root's: %v; %s", err, out)
	}
}
