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

// User is an account a capture drops to, as found in the user database.
type User struct {
	Name     string
	UID, GID int
	Groups   []int // the primary group first, then the supplementary ones
}

// LookupUser finds the named user (a name, or a numeric uid) and its
// groups. A capture looks the user up before it opens anything, so that a
// wrong name leaves no file behind.
func LookupUser(name string) (*User, error) {
	u, err := user.Lookup(name)
	if err != nil {
		var unknown user.UnknownUserError
		if !errors.As(err, &unknown) {
			return nil, fmt.Errorf("look up user %q: %w", name, err)
		}
		if _, numErr := strconv.Atoi(name); numErr != nil {
			return nil, fmt.Errorf("unknown user %q", name)
		}
		if u, err = user.LookupId(name); err != nil {
			return nil, fmt.Errorf("unknown user %q (no such name or uid)", name)
		}
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("user %q: %w", name, err)
	}
	groups := []int{gid}
	if ids, err := u.GroupIds(); err == nil {
		for _, id := range ids {
			if g, err := strconv.Atoi(id); err == nil && !slices.Contains(groups, g) {
				groups = append(groups, g)
			}
		}
	}
	return &User{Name: name, UID: uid, GID: gid, Groups: groups}, nil
}

// Drop makes the process run as u, with its primary and supplementary
// groups, as tcpdump -Z does. Call it after the sockets are open: they
// stay usable, but nothing can be opened with root's rights any more, so
// files opened after it are the user's. On Linux the change applies to
// every thread of the process.
func (u *User) Drop() error {
	if os.Geteuid() == u.UID && os.Getuid() == u.UID && os.Getegid() == u.GID && os.Getgid() == u.GID {
		return nil
	}
	if err := syscall.Setgroups(u.Groups); err != nil {
		return fmt.Errorf("drop privileges to %s: setgroups: %w", u.Name, err)
	}
	if err := syscall.Setgid(u.GID); err != nil {
		return fmt.Errorf("drop privileges to %s: setgid %d: %w", u.Name, u.GID, err)
	}
	if err := syscall.Setuid(u.UID); err != nil {
		return fmt.Errorf("drop privileges to %s: setuid %d: %w", u.Name, u.UID, err)
	}
	if os.Geteuid() != u.UID || os.Getegid() != u.GID {
		return fmt.Errorf("drop privileges to %s: still uid %d gid %d", u.Name, os.Geteuid(), os.Getegid())
	}
	return nil
}

// DropPrivileges looks the named user up and drops to it (LookupUser, then
// Drop).
func DropPrivileges(name string) error {
	u, err := LookupUser(name)
	if err != nil {
		return fmt.Errorf("drop privileges: %w", err)
	}
	return u.Drop()
}

// GiveTree makes the folder dir and everything in it u's, so that a
// capture that drops privileges to u (--user) can still write there.
func GiveTree(dir string, u *User) error {
	return filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, u.UID, u.GID)
	})
}
