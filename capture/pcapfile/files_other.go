//go:build !unix

package pcapfile

// fileDescriptorLimit is a guess where the system has no RLIMIT_NOFILE:
// Windows allows thousands of open files.
func fileDescriptorLimit() int { return 1 << 20 }
