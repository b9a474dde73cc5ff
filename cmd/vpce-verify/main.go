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
// of connections at the default --max-connections, 16 MiB of reassembly
// buffers, the report's capped lists; 75 to 95 MB live at worst (a SYN
// flood, or partial ClientHellos, at the table's cap). Without a limit the
// heap grows to twice the live data between collections. Measured on
// 200,000-connection captures (CPU seconds, peak RSS): SYN-only 1.6 s and
// 128-135 MB, partial ClientHellos 2.7-3.1 s and 143-146 MB, against 1.6 s
// and 137-181 MB, 2.9 s and 176-181 MB with 160 MiB and a 32 MiB budget.
// With 32 MiB of buffers, 128 MiB was too close to the live data: the
// collector ran without pause and partial hellos took 3 times the CPU.
const memoryLimit = 128 << 20

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
		status: usr1, terminal: isTerminal(os.Stderr), imds: imdsFromEnviron()}
	code := e.run(os.Args[1:])
	signal.Stop(sigs)
	os.Exit(code)
}
