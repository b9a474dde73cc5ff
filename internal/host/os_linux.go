package host

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// OS names the operating system as uname -srm does ("Linux
// 6.1.0-18-amd64 x86_64"), for reports and pcapng section headers
// (shb_os); runtime.GOOS when uname fails.
func OS() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return runtime.GOOS
	}
	return unix.ByteSliceToString(u.Sysname[:]) + " " + unix.ByteSliceToString(u.Release[:]) + " " + unix.ByteSliceToString(u.Machine[:])
}
