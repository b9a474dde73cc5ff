//go:build !linux

package host

import "errors"

// DropPrivileges is only implemented on Linux, where live capture runs.
func DropPrivileges(name string) error {
	return errors.New("drop privileges: only on linux")
}

// GiveTree is only implemented on Linux, where live capture runs.
func GiveTree(dir, name string) error {
	return errors.New("give the folder to another user: only on linux")
}
