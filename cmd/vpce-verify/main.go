// Command vpce-verify proves, with packets, whether a host's traffic to an
// AWS service went through a VPC interface endpoint or left for a public AWS
// address.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"
)

// memoryLimit is the heap size past which the garbage collector works
// harder (runtime/debug.SetMemoryLimit), unless GOMEMLIMIT says otherwise.
// What the analysis keeps is bounded (a capture's connections are
// finished and aggregated as it goes, the tables are capped): about 50 MB
// of connections at the default --max-connections, 32 MiB of reassembly
// buffers, the report's capped lists. Without a limit the heap grows to
// twice the live data between collections; a limit close to the live data
// makes the collector run without pause (measured: a SYN flood at the
// table's cap took 3 times as long at 128 MiB as at 160 MiB).
const memoryLimit = 160 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	// The first SIGINT or SIGTERM stops a capture cleanly (the report is
	// printed, -w is flushed); a second one aborts at once, with the
	// shell's code for a death by that signal. (Two signals sent before the
	// kernel delivers the first are one signal: standard signals do not
	// queue.)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-sigs
		cancel()
		s := <-sigs
		os.Stderr.WriteString("vpce-verify: aborted\n")
		os.Exit(128 + int(s.(syscall.Signal)))
	}()
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	e := &env{ctx: ctx, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, now: time.Now, sys: systemFiles(),
		status: usr1, terminal: isTerminal(os.Stderr)}
	code := e.run(os.Args[1:])
	signal.Stop(sigs)
	os.Exit(code)
}
