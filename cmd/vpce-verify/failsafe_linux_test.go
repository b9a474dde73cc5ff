package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vpce-verify/vpce-verify/capture"
	"github.com/vpce-verify/vpce-verify/capture/pcapfile"
	"golang.org/x/sys/unix"
)

// One SIGINT while standard input is still open (a capture being written
// into a pipe) ends analyze at once: the report of what came is printed,
// marked interrupted, and the exit code is the verdict's (here a leak:
// fail), not an error.
func TestAnalyzeSIGINTOnOpenStdin(t *testing.T) {
	data, err := os.ReadFile(td(t, "s3-public.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := runAsProcess(t, "analyze", "--format", "json", "-")
	pr, stdin, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin = pr
	var stdout bytes.Buffer
	stderr := new(syncBuffer)
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pr.Close()
	defer stdin.Close()
	if _, err := stdin.Write(data); err != nil {
		t.Fatal(err)
	}
	// Once the pipe is empty, the process has read the capture, so it is
	// past installing its signal handlers (a SIGUSR1 before that would
	// kill it, as it kills any process that does not expect it).
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if n, err := unix.IoctlGetInt(int(stdin.Fd()), unix.TIOCINQ); err != nil || n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the process did not read its standard input")
		}
	}
	// Ask, as a user of tcpdump would (SIGUSR1), until every packet
	// written has been read; the pipe stays open.
	rd, err := pcapfile.NewReader("s3-public.pcap", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for f := (capture.Frame{}); rd.Next(&f) == nil; {
		n++
	}
	want := fmt.Sprintf("vpce-verify: %d packets,", n)
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(stderr.String(), want); {
		if time.Now().After(deadline) {
			t.Fatalf("no status line saying %q; stderr %q", want, stderr.String())
		}
		cmd.Process.Signal(syscall.SIGUSR1)
		time.Sleep(100 * time.Millisecond)
	}
	sent := time.Now()
	cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if took := time.Since(sent); took > 2*time.Second {
			t.Errorf("analyze took %v to stop after SIGINT", took)
		}
		if code := cmd.ProcessState.ExitCode(); code != exitFail {
			t.Errorf("exit %d (%v), want %d; stderr %s", code, err, exitFail, stderr.String())
		}
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		t.Fatal("one SIGINT did not end analyze reading an open pipe")
	}
	r := decodeReport(t, stdout.String())
	if r.Verdict != "fail" || len(r.Inputs) != 1 || r.Inputs[0].Complete || r.Inputs[0].Error != nil || r.Inputs[0].Packets == 0 {
		t.Errorf("verdict %s inputs %+v: want fail, the input incomplete without an error", r.Verdict, r.Inputs)
	}
	if !strings.Contains(stdout.String(), `"interrupted": true`) {
		t.Errorf("the input is not marked interrupted:\n%s", stdout.String())
	}
}
