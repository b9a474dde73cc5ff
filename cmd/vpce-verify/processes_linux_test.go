package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vpce-verify/vpce-verify/internal/lab"
	"github.com/vpce-verify/vpce-verify/internal/testenv"
)

// procFlow is a connection of the JSON report with its process.
type procFlow struct {
	Client  string `json:"client"`
	Server  string `json:"server"`
	Process *struct {
		Status   string `json:"status"`
		Side     string `json:"side"`
		TCPState string `json:"tcp_state"`
		PID      int    `json:"pid"`
		Comm     string `json:"comm"`
		Exe      string `json:"exe"`
		UID      *int64 `json:"uid"`
		User     string `json:"user"`
		Cgroup   string `json:"cgroup"`
	} `json:"process"`
}

type procReport struct {
	Verdict string     `json:"verdict"`
	Reason  string     `json:"reason"`
	Flows   []procFlow `json:"flows"`
	Capture struct {
		ProcessAttribution string `json:"process_attribution"`
	} `json:"capture"`
	Warnings []string `json:"warnings"`
}

// captureLab runs capture -i lo in the test's process while clients runs,
// and returns the JSON report. delay postpones each process lookup.
func captureLab(t *testing.T, l *lab.Lab, delay time.Duration, extra []string, clients func()) (procReport, string) {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int)
	args := append([]string{"capture", "-i", "lo", "--endpoint-ip", lab.Endpoint, "--ip-ranges", l.RangesFile, "--format", "json"}, extra...)
	go func() {
		e := &env{ctx: ctx, stdout: &stdout, stderr: &stderr, now: testClock, sys: testFiles, lookupDelay: delay}
		done <- e.run(args)
	}()
	waitFor(t, &stderr, "capturing on lo")
	clients()
	time.Sleep(200 * time.Millisecond)
	stop()
	if code := <-done; code != exitFail {
		t.Fatalf("exit %d, want %d (a connection to public S3); stderr %s", code, exitFail, stderr.String())
	}
	var r procReport
	if err := json.Unmarshal([]byte(stdout.String()), &r); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout.String())
	}
	return r, stderr.String()
}

// curlLeak runs Debian's curl against the lab's public S3 address, by the
// name private DNS does not cover, and returns its PID.
func curlLeak(t *testing.T, curl string, l *lab.Lab) int {
	t.Helper()
	cmd := exec.Command(curl, "-sS", "-o", "/dev/null", "--cacert", l.CAFile,
		"--resolve", lab.LeakName+":443:"+lab.Public, "https://"+lab.LeakName+"/my-bucket/object")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("curl: %v\n%s", err, out)
	}
	return cmd.Process.Pid
}

// goClient runs this test binary as a Go TLS client of the endpoint
// (TestProcessHelperClient) and returns its PID.
func goClient(t *testing.T, l *lab.Lab) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestProcessHelperClient$")
	cmd.Env = append(os.Environ(), "VPCE_TEST_TLS_CLIENT="+lab.Endpoint, "VPCE_TEST_TLS_CA="+l.CAFile)
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "PASS") {
		t.Fatalf("Go client: %v\n%s", err, out)
	}
	return cmd.Process.Pid
}

// TestProcessHelperClient is the Go client goClient starts: a process of
// its own, so that its PID is not the capture's.
func TestProcessHelperClient(t *testing.T) {
	addr := os.Getenv("VPCE_TEST_TLS_CLIENT")
	if addr == "" {
		t.Skip("the client TestCaptureNamesProcesses runs as a process")
	}
	tlsClient(t, addr, os.Getenv("VPCE_TEST_TLS_CA"))
}

func flowTo(t *testing.T, flows []procFlow, server string) procFlow {
	t.Helper()
	for _, f := range flows {
		if f.Server == server {
			return f
		}
	}
	t.Fatalf("no connection to %s in %+v", server, flows)
	return procFlow{}
}

// Two real clients, curl and a Go program, connect through loopback while
// capture runs on lo: the report, the reason of its FAIL and the
// connection log name their PIDs and command names.
func TestCaptureNamesProcesses(t *testing.T) {
	testenv.Root(t)
	curl := testenv.Tool(t, "curl")
	l := startLab(t)
	connLog := filepath.Join(t.TempDir(), "conn.log")
	var curlPID, goPID int
	r, stderr := captureLab(t, l, 0, []string{"--conn-log", connLog}, func() {
		curlPID = curlLeak(t, curl, l)
		goPID = goClient(t, l)
	})
	if r.Capture.ProcessAttribution != "socket diagnostics and /proc" {
		t.Errorf("process_attribution %q; stderr %s", r.Capture.ProcessAttribution, stderr)
	}
	goComm := filepath.Base(os.Args[0])
	goComm = goComm[:min(len(goComm), 15)] // TASK_COMM_LEN
	want := []struct {
		server, comm string
		pid          int
	}{
		{lab.Public + ":443", "curl", curlPID},
		{lab.Endpoint + ":443", goComm, goPID},
	}
	for _, w := range want {
		f := flowTo(t, r.Flows, w.server)
		p := f.Process
		if p == nil || p.Status != "found" || p.PID != w.pid || p.Comm != w.comm || p.Side != "client" || p.UID == nil || *p.UID != int64(os.Getuid()) || p.User != "root" {
			t.Errorf("%s -> %s: process %+v, want pid %d (%s) of root", f.Client, f.Server, p, w.pid, w.comm)
			continue
		}
		if exe, _ := filepath.EvalSymlinks(p.Exe); w.comm == "curl" && exe != curl && p.Exe != curl {
			t.Errorf("curl's exe %q, want %s", p.Exe, curl)
		}
	}
	if by := "by pid " + strconv.Itoa(curlPID) + " (curl"; !strings.HasPrefix(r.Verdict, "fail") || !strings.Contains(r.Reason, by) {
		t.Errorf("verdict %s, reason %q: want the leak %q", r.Verdict, r.Reason, by)
	}

	f, err := os.Open(connLog)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	logged := map[string]map[string]any{}
	for sc := bufio.NewScanner(f); sc.Scan(); {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("conn log line %q: %v", sc.Text(), err)
		}
		logged[line["id.resp_h"].(string)] = line
	}
	for _, w := range want {
		host, _, _ := strings.Cut(w.server, ":")
		line := logged[host]
		if line == nil || line["pid"] != float64(w.pid) || line["comm"] != w.comm || line["process_status"] != "found" || line["user"] != "root" {
			t.Errorf("conn log for %s: %v, want pid %d comm %s", host, line, w.pid, w.comm)
		}
	}
}

// A connection that is over before its lookup (delayed here) is reported
// as closed before lookup, in the JSON and in the FAIL's reason.
func TestCaptureClosedBeforeLookup(t *testing.T) {
	testenv.Root(t)
	curl := testenv.Tool(t, "curl")
	l := startLab(t)
	r, _ := captureLab(t, l, 1500*time.Millisecond, nil, func() { curlLeak(t, curl, l) })
	f := flowTo(t, r.Flows, lab.Public+":443")
	if f.Process == nil || f.Process.Status != "closed-before-lookup" || f.Process.PID != 0 {
		t.Errorf("process %+v, want closed-before-lookup", f.Process)
	}
	if !strings.Contains(r.Reason, "by a process that closed it before lookup") {
		t.Errorf("reason %q", r.Reason)
	}
}

// After --user drops root, the kernel still answers socket diagnostics,
// but another user's /proc/PID/fd is closed: root's curl is named by its
// user only, and the report says why once, not per connection.
func TestCaptureUserHidesOtherUsersProcesses(t *testing.T) {
	testenv.Root(t)
	curl := testenv.Tool(t, "curl")
	l := startLab(t)
	cmd, stdout, stderr := startCapture(t, "--user", "nobody", "--endpoint-ip", lab.Endpoint, "--ip-ranges", l.RangesFile, "--format", "json")
	curlLeak(t, curl, l)
	curlLeak(t, curl, l)
	time.Sleep(200 * time.Millisecond)
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
	var r procReport
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("not JSON: %v\n%s\n%s", err, stdout, stderr.String())
	}
	n := 0
	for _, f := range r.Flows {
		if f.Server != lab.Public+":443" {
			continue
		}
		n++
		if p := f.Process; p == nil || p.Status != "process-not-visible" || p.User != "root" || p.PID != 0 {
			t.Errorf("%s -> %s: process %+v, want root's, not visible", f.Client, f.Server, p)
		}
	}
	if n != 2 {
		t.Fatalf("%d connections to %s, want 2: %+v", n, lab.Public, r.Flows)
	}
	said := 0
	for _, w := range r.Warnings {
		if strings.Contains(w, "reading other users' /proc/PID/fd needs root") {
			said++
		}
	}
	if said != 1 {
		t.Errorf("warnings %q: want the one about /proc once", r.Warnings)
	}
}
