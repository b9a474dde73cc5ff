package main

import (
	"context"
	"fmt"
	"io"
)

// Exit codes, documented in the README.
const (
	exitPass         = 0
	exitFail         = 1
	exitError        = 2
	exitInconclusive = 3
)

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "vpce-verify: error: not implemented yet")
	return exitError
}
