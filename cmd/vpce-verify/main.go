// Command vpce-verify proves, with packets, whether a host's traffic to an
// AWS service went through a VPC interface endpoint or left for a public AWS
// address.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// The first SIGINT or SIGTERM stops a capture cleanly; restoring the
		// default handling lets a second one abort at once.
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
