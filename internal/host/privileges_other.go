//go:build !linux

package host

import "errors"

// User is an account a capture drops to; only on Linux, where live
// capture runs.
type User struct {
	Name     string
	UID, GID int
	Groups   []int
}

var errNotLinux = errors.New("drop privileges: only on linux")

// LookupUser is only implemented on Linux.
func LookupUser(name string) (*User, error) { return nil, errNotLinux }

// Drop is only implemented on Linux.
func (u *User) Drop() error { return errNotLinux }

// DropPrivileges is only implemented on Linux, where live capture runs.
func DropPrivileges(name string) error { return errNotLinux }

// GiveTree is only implemented on Linux.
func GiveTree(dir string, u *User) error { return errNotLinux }
