// Package testenv tells tests where the shared material is and which outside
// tools they may use. Tests that need root, a Debian tool or the shared
// corpus skip on a laptop, but when CI=true a skip of that kind is a failure:
// CI installs everything and must run every test.
package testenv

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// InCI reports whether the tests run in CI (CI=true).
func InCI() bool { return os.Getenv("CI") == "true" }

// Unavailable skips the test, or fails it in CI, because something the test
// needs is missing.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if InCI() {
		t.Fatalf("CI=true, but the test cannot run: "+format, args...)
	}
	t.Skipf(format, args...)
}

// RepoRoot returns the directory holding go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// Shared returns the path of a file or directory in the shared material
// (../shared beside the checkout, or $VPCE_SHARED), e.g. Shared(t, "corpus").
func Shared(t testing.TB, elem ...string) string {
	t.Helper()
	base := os.Getenv("VPCE_SHARED")
	if base == "" {
		base = filepath.Join(RepoRoot(t), "..", "shared")
	}
	p := filepath.Join(append([]string{base}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		Unavailable(t, "shared material missing: %v", err)
	}
	return p
}

// Tool returns the path of an installed program such as tshark or dnsmasq.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Unavailable(t, "%s is not installed (apt-get install it)", name)
	}
	return p
}

// Root makes sure the test runs as root (raw sockets, network namespaces).
func Root(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Unavailable(t, "needs root")
	}
}

// Tshark runs tshark with args (it is found with Tool, so a test without
// it skips, or fails in CI) and returns the lines it printed, without the
// empty last one.
func Tshark(t testing.TB, args ...string) []string {
	t.Helper()
	tshark := Tool(t, "tshark")
	cmd := exec.Command(tshark, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	if s := strings.TrimRight(string(out), "\n"); s != "" {
		return strings.Split(s, "\n")
	}
	return nil
}
