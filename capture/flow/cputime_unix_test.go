//go:build unix

package flow

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time the test process has used (user and system,
// collector included). Time bounds of the hostile tests use it rather than
// the wall clock, which other processes on a loaded machine stretch.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
