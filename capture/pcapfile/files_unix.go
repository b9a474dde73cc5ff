//go:build unix

package pcapfile

import "syscall"

// fileDescriptorLimit is how many files the process may have open
// (RLIMIT_NOFILE; Go raises the soft limit to the hard one at start).
func fileDescriptorLimit() int {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil || l.Cur > 1<<20 {
		return 1 << 20
	}
	return int(l.Cur)
}
