//go:build !linux

package main

import "os"

// isTerminal says no: the progress line is drawn only on Linux.
func isTerminal(f *os.File) bool { return false }
