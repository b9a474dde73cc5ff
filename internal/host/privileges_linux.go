package host

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
)

// DropPrivileges makes the process run as the named user (a name, or a
// numeric uid), with that user's primary and supplementary groups, as
// tcpdump -Z does. Call it after the sockets and output files are open:
// they stay usable, but nothing new can be opened with root's rights. On
// Linux the change applies to every thread of the process.
func DropPrivileges(name string) error {
	u, uid, gid, err := lookupUser(name)
	if err != nil {
		return fmt.Errorf("drop privileges: %w", err)
	}
	groups := []int{gid}
	if ids, err := u.GroupIds(); err == nil {
		for _, id := range ids {
			if g, err := strconv.Atoi(id); err == nil && !slices.Contains(groups, g) {
				groups = append(groups, g)
			}
		}
	}
	if os.Geteuid() == uid && os.Getuid() == uid && os.Getegid() == gid && os.Getgid() == gid {
		return nil
	}
	if err := syscall.Setgroups(groups); err != nil {
		return fmt.Errorf("drop privileges to %s: setgroups: %w", name, err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return fmt.Errorf("drop privileges to %s: setgid %d: %w", name, gid, err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return fmt.Errorf("drop privileges to %s: setuid %d: %w", name, uid, err)
	}
	if os.Geteuid() != uid || os.Getegid() != gid {
		return fmt.Errorf("drop privileges to %s: still uid %d gid %d", name, os.Geteuid(), os.Getegid())
	}
	return nil
}

// lookupUser finds a user by name or numeric uid.
func lookupUser(name string) (*user.User, int, int, error) {
	u, err := user.Lookup(name)
	if err != nil {
		var unknown user.UnknownUserError
		if _, numErr := strconv.Atoi(name); numErr != nil || !errors.As(err, &unknown) {
			return nil, 0, 0, err
		}
		if u, err = user.LookupId(name); err != nil {
			return nil, 0, 0, err
		}
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err := errors.Join(err1, err2); err != nil {
		return nil, 0, 0, fmt.Errorf("%s: %w", name, err)
	}
	return u, uid, gid, nil
}

// GiveTree makes the folder dir and everything in it the named user's, so
// that a capture that drops privileges to that user (--user) can still
// write there.
func GiveTree(dir, name string) error {
	_, uid, gid, err := lookupUser(name)
	if err != nil {
		return err
	}
	return filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, gid)
	})
}
