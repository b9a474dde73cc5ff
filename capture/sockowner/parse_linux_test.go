package sockowner

import "testing"

func TestCgroupNames(t *testing.T) {
	for _, tc := range []struct{ file, path, unit, container string }{
		{"0::/system.slice/app.service\n", "/system.slice/app.service", "app.service", ""},
		{"0::/user.slice/user-1000.slice/session-3.scope\n", "/user.slice/user-1000.slice/session-3.scope", "session-3.scope", ""},
		{"0::/system.slice/docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope\n",
			"/system.slice/docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope", "", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
		{"0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/cri-containerd-fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210.scope\n",
			"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/cri-containerd-fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210.scope",
			"", "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"},
		{"12:cpu,cpuacct:/docker/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n1:name=systemd:/docker/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n",
			"/docker/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
		{"0::/\n", "/", "", ""},
		{"garbage", "", "", ""},
	} {
		path := cgroupPath(tc.file)
		unit, container := cgroupNames(path)
		if path != tc.path || unit != tc.unit || container != tc.container {
			t.Errorf("%q: path %q unit %q container %q, want %q %q %q", tc.file, path, unit, container, tc.path, tc.unit, tc.container)
		}
	}
}

func TestSocketInode(t *testing.T) {
	for _, tc := range []struct {
		link string
		ino  uint32
		ok   bool
	}{
		{"socket:[12345]", 12345, true},
		{"socket:[]", 0, false},
		{"socket:[99999999999]", 0, false},
		{"pipe:[12]", 0, false},
		{"/dev/null", 0, false},
	} {
		ino, ok := socketInode([]byte(tc.link))
		if ino != tc.ino || ok != tc.ok {
			t.Errorf("%q: %d %v", tc.link, ino, ok)
		}
	}
}
