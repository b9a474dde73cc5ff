package main

// The CLI's transcripts: testdata/script/*.txtar, each a session of a user
// at a shell (what they type, the exit code, what they see on stdout and
// stderr), run by testscript (github.com/rogpeppe/go-internal), as age and
// the Go toolchain test their commands. Besides testscript's own commands
// (exec, stdout, stderr, cmp, cp, stdin, ...), a script has:
//
//	exec vpce-verify ARGS...        the command must exit 0
//	exitcode N vpce-verify ARGS...  the command must exit exactly N
//	truncate FILE SIZE              cut FILE to SIZE bytes (a damaged capture)
//	$TESTDATA                       the repository's testdata directory
//
// exitcode exists because `! exec` only says that a command failed, and a
// leak (1), an unreadable input (2) and no evidence (3) are different
// answers; so a script never writes `! exec vpce-verify` (TestScripts
// refuses it) but `exitcode 1 vpce-verify ...`.
//
// vpce-verify runs as a process of its own: testscript.Main copies this test
// binary under the name vpce-verify into a directory on $PATH, and that
// process calls run. It reads no file of the machine that says how names
// are resolved: Setup writes a resolv.conf that names no server (a script
// that reaches DNS gets an error, not a query), a hosts file and an
// nsswitch.conf into $WORK/.etc, and scriptMain points the command at
// them; the user cache directory (XDG_CACHE_HOME) is $WORK/.cache, so no
// ip-ranges.json a developer downloaded is read. Reports are stamped with
// the test binary's fixed time (analyze_test.go's init), so snapshot ages
// are the same on every day. Each command is cancelled after
// scriptTimeout, so that no script can leave a live capture running. The
// scripts send no packet at all: they test nothing that needs root or a
// network (the live tests in live_test.go do that).
//
// Run one: go test ./cmd/vpce-verify -run TestScripts/NAME (NAME is the file
// name without .txtar); -update rewrites the files that `cmp stdout FILE`
// and `cmp stderr FILE` compare with, inside the .txtar.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/vpce-verify/vpce-verify/internal/testenv"
)

var updateScripts = flag.Bool("update", false, "rewrite the expected outputs that testdata/script/*.txtar compare with cmp")

// TestMain runs the test binary in one of three roles: vpce-verify for the
// live tests (VPCE_VERIFY_MAIN=1, the machine's own files, on purpose),
// vpce-verify for the transcripts (called by that name, sandboxed by
// scriptMain), or the tests themselves, sandboxed by sandboxed.Run.
func TestMain(m *testing.M) {
	if os.Getenv("VPCE_VERIFY_MAIN") == "1" {
		main()
	}
	testscript.Main(sandboxed{m}, map[string]func(){"vpce-verify": scriptMain})
}

// sandboxed runs the tests with the user cache directory pointed at an
// empty temporary one, so that no test reads an ip-ranges.json a developer
// downloaded, the instance metadata service off (AWS_EC2_METADATA_DISABLED),
// the host's resolvers at loopback, so that a test that forgets --resolver
// cannot query real DNS, and the hosts file and nsswitch.conf at files of
// its own, so that no answer comes from the machine's /etc/hosts.
type sandboxed struct{ m *testing.M }

// testFiles are the host files of the in-process tests (testRun), made by
// sandboxed.Run.
var testFiles hostFiles

func (s sandboxed) Run() int {
	dir, err := os.MkdirTemp("", "vpce-verify-cache")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	os.Setenv("XDG_CACHE_HOME", dir)
	os.Setenv("HOME", dir)
	// The command, run as a process of its own (the live tests), must not
	// ask the instance metadata service: no packet leaves loopback.
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	testFiles = hostFiles{
		resolvConf:        filepath.Join(dir, "resolv.conf"),
		systemdResolvConf: filepath.Join(dir, "systemd-resolv.conf"),
		hosts:             filepath.Join(dir, "hosts"),
		nsswitch:          filepath.Join(dir, "nsswitch.conf"),
	}
	for name, text := range map[string]string{testFiles.resolvConf: "nameserver 127.0.0.1\n", testFiles.hosts: "127.0.0.1 localhost\n", testFiles.nsswitch: "hosts: files dns\n"} {
		if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
			panic(err)
		}
	}
	return s.m.Run()
}

// scriptMain is vpce-verify as the transcripts run it. The files Setup
// wrote stand for the machine's; without them it refuses to run rather
// than read the real ones.
func scriptMain() {
	etc := os.Getenv("VPCE_VERIFY_ETC")
	if etc == "" || os.Getenv("XDG_CACHE_HOME") == "" {
		fmt.Fprintln(os.Stderr, "vpce-verify (test binary): VPCE_VERIFY_ETC and XDG_CACHE_HOME must be set, as TestScripts does")
		os.Exit(100)
	}
	files := hostFiles{
		resolvConf:        filepath.Join(etc, "resolv.conf"),
		systemdResolvConf: filepath.Join(etc, "systemd-resolv.conf"),
		hosts:             filepath.Join(etc, "hosts"),
		nsswitch:          filepath.Join(etc, "nsswitch.conf"),
	}
	// Every transcript's command ends within a second or two; a live
	// capture started by a mistaken script (as root) would otherwise run
	// until the test binary's deadline. Cancelled, it stops as at Ctrl-C,
	// and the script fails on what it printed.
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	e := &env{ctx: ctx, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, now: testClock, sys: files}
	code := e.run(os.Args[1:])
	cancel()
	os.Exit(code)
}

// scriptTimeout bounds one vpce-verify command of a transcript.
const scriptTimeout = 30 * time.Second

// notExec is what a script must not say: it hides which nonzero code the
// command exited with.
var notExec = regexp.MustCompile(`(?m)^\s*!\s*exec\s+vpce-verify\b.*$`)

func TestScripts(t *testing.T) {
	dir := filepath.Join("testdata", "script")
	files, err := filepath.Glob(filepath.Join(dir, "*.txtar"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts in %s (%v)", dir, err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if line := notExec.Find(data); line != nil {
			t.Errorf("%s: %q: say which code it exits with: exitcode N vpce-verify ...", f, line)
		}
	}
	testdata := filepath.Join(testenv.RepoRoot(t), "testdata")
	testscript.Run(t, testscript.Params{
		Dir:                 dir,
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		UpdateScripts:       *updateScripts,
		Setup: func(e *testscript.Env) error {
			etc := filepath.Join(e.WorkDir, ".etc")
			if err := os.Mkdir(etc, 0o755); err != nil {
				return err
			}
			for name, text := range map[string]string{
				"resolv.conf":   "# the transcripts ask no DNS server\n",
				"hosts":         "127.0.0.1 localhost\n",
				"nsswitch.conf": "hosts: files dns\n",
			} {
				if err := os.WriteFile(filepath.Join(etc, name), []byte(text), 0o644); err != nil {
					return err
				}
			}
			e.Setenv("VPCE_VERIFY_ETC", etc)
			e.Setenv("XDG_CACHE_HOME", filepath.Join(e.WorkDir, ".cache"))
			e.Setenv("TESTDATA", testdata)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode": cmdExitcode,
			"truncate": cmdTruncate,
		},
	})
}

// cmdExitcode runs a program, as exec does, and checks its exact exit code.
func cmdExitcode(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! exitcode (say which code: exitcode N program ...)")
	}
	if len(args) < 2 {
		ts.Fatalf("usage: exitcode N program [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil || want < 0 || want > 255 {
		ts.Fatalf("exitcode: %q is not an exit code", args[0])
	}
	got := 0
	var exit *exec.ExitError
	switch err := ts.Exec(args[1], args[2:]...); {
	case errors.As(err, &exit):
		got = exit.ExitCode() // -1 when killed by a signal
	case err != nil:
		ts.Fatalf("exitcode: %v", err)
	}
	if got != want {
		ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
	}
}

// cmdTruncate cuts a file to a size, as truncate -s does.
func cmdTruncate(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: truncate FILE SIZE")
	}
	size, err := strconv.ParseInt(args[1], 10, 64)
	if err != nil || size < 0 {
		ts.Fatalf("truncate: %q is not a size", args[1])
	}
	ts.Check(os.Truncate(ts.MkAbs(args[0]), size))
}
