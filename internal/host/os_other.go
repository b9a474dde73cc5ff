//go:build !linux

package host

import "runtime"

// OS names the operating system: runtime.GOOS and GOARCH off Linux.
func OS() string { return runtime.GOOS + " " + runtime.GOARCH }
