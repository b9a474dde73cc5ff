// Command vpce-verify proves, with packets, whether a host's traffic to an
// AWS service went through a VPC interface endpoint or left for a public AWS
// address.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
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
