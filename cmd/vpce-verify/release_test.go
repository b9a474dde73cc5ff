package main

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vpce-verify/vpce-verify/internal/testenv"
)

// scripts/release.sh builds a static linux/arm64 binary (Graviton) with
// GOARCH=arm64 CGO_ENABLED=0, its archive, and SHA256SUMS that match.
// Slow the first time (the standard library for arm64; .ci/run builds the
// release before the tests, so that the cache is warm): skipped with -short.
func TestReleaseScriptArm64(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the program for arm64")
	}
	testenv.Tool(t, "sha256sum")
	out := t.TempDir()
	cmd := exec.Command("sh", filepath.Join(testenv.RepoRoot(t), "scripts", "release.sh"), "v9.8.7", out)
	// The toolchain's own cache, not the sandbox's empty one.
	cmd.Env = append(slices.Clip(hostEnv), "PLATFORMS=linux/arm64")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("release.sh: %v\n%s", err, b)
	}
	bin := filepath.Join(out, "vpce-verify-v9.8.7-linux-arm64")
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Machine != elf.EM_AARCH64 {
		t.Errorf("%s is for %v, want EM_AARCH64", bin, f.Machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("%s has a %v segment: not static", bin, p.Type)
		}
	}

	// SHA256SUMS names every file of the release once, with its digest.
	sums, err := os.Open(filepath.Join(out, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	defer sums.Close()
	listed := map[string]bool{}
	sc := bufio.NewScanner(sums)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("SHA256SUMS line %q", sc.Text())
		}
		data, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		if d := sha256.Sum256(data); hex.EncodeToString(d[:]) != sum {
			t.Errorf("%s: SHA256SUMS says %s", name, sum)
		}
		listed[name] = true
	}
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		if e.Name() != "SHA256SUMS" && !listed[e.Name()] {
			t.Errorf("%s is not in SHA256SUMS", e.Name())
		}
	}
	for _, name := range []string{"vpce-verify-v9.8.7-linux-arm64.tar.gz", "vpce-verify.bash", "_vpce-verify", "vpce-verify.fish", "vpce-verify.1"} {
		if !listed[name] {
			t.Errorf("no %s in the release", name)
		}
	}

	// The archive holds the same binary and the completion and manual.
	a, err := os.Open(filepath.Join(out, "vpce-verify-v9.8.7-linux-arm64.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	zr, err := gzip.NewReader(a)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	want, _ := os.ReadFile(bin)
	found := map[string]bool{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		found[filepath.Base(h.Name)] = true
		if filepath.Base(h.Name) == "vpce-verify" {
			got, _ := io.ReadAll(tr)
			if string(got) != string(want) || h.Mode&0o111 == 0 {
				t.Errorf("the archive's vpce-verify (%d bytes, mode %o) is not the built binary (%d bytes)", len(got), h.Mode, len(want))
			}
		}
	}
	for _, name := range []string{"vpce-verify", "vpce-verify.1", "vpce-verify.bash", "_vpce-verify", "vpce-verify.fish", "README.md"} {
		if !found[name] {
			t.Errorf("the archive has no %s", name)
		}
	}
}
