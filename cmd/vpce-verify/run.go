package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/vpce-verify/vpce-verify/internal/host"
)

// Exit codes, documented in the README.
const (
	exitPass         = 0
	exitFail         = 1
	exitError        = 2
	exitInconclusive = 3
)

// version is set at link time (-ldflags "-X main.version=v1.2.3"); else the
// module version from the build info is used.
var version = ""

func toolVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "devel"
}

// env is what every subcommand gets besides its arguments: the process's
// streams, its clock and the host's resolver files; tests give their own.
type env struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	now    func() time.Time
	sys    hostFiles
	// status asks a long command how it is going (SIGUSR1); terminal
	// says standard error is one, where a progress line may be drawn.
	status   <-chan os.Signal
	terminal bool
	// introspect, when set, gets each command's flag set and synopsis in
	// place of parsing (the command then stops): how completion and the
	// manual learn the flags.
	introspect func(fs *pflag.FlagSet, synopsis string)
	// args is the command line after the program's name, for the
	// report's provenance.
	args []string
	// imds is where the EC2 instance metadata service is asked; "" not at
	// all (tests, AWS_EC2_METADATA_DISABLED).
	imds string
	// lookupDelay delays each process lookup of a live capture: tests
	// close connections before theirs.
	lookupDelay time.Duration
}

type command struct {
	name    string
	summary string
	run     func(e *env, args []string) int
}

// commands are set by init: completion and man read the list.
var commands []command

func init() {
	commands = []command{
		{"analyze", "replay pcap/pcapng captures and give the verdict", cmdAnalyze},
		{"resolve", "ask DNS for S3 names and say what each address is", cmdResolve},
		{"classify", "say what addresses are: endpoint, private, public AWS, not AWS", cmdClassify},
		{"flowlogs", "read VPC Flow Logs: S3 traffic per ENI, instance or subnet", cmdFlowlogs},
		{"capture", "capture live (AF_PACKET) and give the verdict", cmdCapture},
		{"verify", "on the host: resolve, capture, one TLS probe, verdict", cmdVerify},
		{"ranges", "the ip-ranges.json in use: info, update, import, diff", cmdRanges},
		{"evidence", "check an evidence bundle (--evidence): hashes, signature, verdict", cmdEvidence},
		{"report", "merge many hosts' reports into one fleet verdict", cmdReport},
		{"version", "the version, VCS revision, Go version and ip-ranges snapshot", cmdVersion},
		{"completion", "shell completion for bash, zsh or fish", cmdCompletion},
		{"man", "the manual page (man(7) source)", cmdMan},
	}
}

const usage = `vpce-verify proves, with packets, whether a host's S3 traffic went through a
VPC interface endpoint or left for a public AWS address.

Usage:
  vpce-verify COMMAND [flags] [args]

Commands:
%s
Exit codes: 0 pass, 1 fail, 2 error, 3 inconclusive.
Run "vpce-verify COMMAND --help" for the flags of a command.
`

func printUsage(w io.Writer) {
	var b strings.Builder
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, usage, b.String())
}

// run is the whole program but for the process: main calls it with the
// process's arguments, streams and clock.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, now: time.Now, sys: systemFiles(), imds: imdsFromEnviron()}
	return e.run(args)
}

func (e *env) run(args []string) int {
	if e.args == nil {
		e.args = args
	}
	stdout, stderr := e.stdout, e.stderr
	fs := pflag.NewFlagSet("vpce-verify", pflag.ContinueOnError)
	fs.SetInterspersed(false)
	fs.SetOutput(io.Discard)
	showVersion := fs.Bool("version", false, "print the version")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			printUsage(stdout)
			return exitPass
		}
		e.errorf("%v", err)
		printUsage(stderr)
		return exitError
	}
	if *showVersion {
		fmt.Fprintf(stdout, "vpce-verify %s\n", toolVersion())
		return exitPass
	}
	rest := fs.Args()
	if len(rest) == 0 {
		printUsage(stderr)
		return exitError
	}
	if rest[0] == "help" {
		if len(rest) > 1 {
			return e.run([]string{rest[1], "--help"})
		}
		printUsage(stdout)
		return exitPass
	}
	for _, c := range commands {
		if c.name == rest[0] {
			return c.run(e, rest[1:])
		}
	}
	e.errorf("unknown command %q", rest[0])
	printUsage(stderr)
	return exitError
}

// errorf prints an error the user can act on: lowercase, one line.
func (e *env) errorf(format string, args ...any) {
	fmt.Fprintf(e.stderr, "vpce-verify: error: "+format+"\n", args...)
}

func (e *env) hintf(format string, args ...any) {
	fmt.Fprintf(e.stderr, "vpce-verify: hint: "+format+"\n", args...)
}

// infof says what is going on, on standard error, as tcpdump does.
func (e *env) infof(format string, args ...any) {
	fmt.Fprintf(e.stderr, "vpce-verify: "+format+"\n", args...)
}

func (e *env) warnf(format string, args ...any) {
	fmt.Fprintf(e.stderr, "vpce-verify: warning: "+format+"\n", args...)
}

// parse parses a subcommand's flags. It returns false and the exit code when
// the command must stop (help asked for, or a usage error).
func (e *env) parse(fs *pflag.FlagSet, args []string, synopsis string) (int, bool) {
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	if e.introspect != nil {
		e.introspect(fs, synopsis)
		return exitPass, false
	}
	printHelp := func(w io.Writer) {
		fmt.Fprintf(w, "%s\nFlags:\n%s", synopsis, fs.FlagUsages())
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			printHelp(e.stdout)
			return exitPass, false
		}
		// One line, then where the flags are: the help would bury the
		// error under a screenful.
		e.errorf("%s: %s", fs.Name(), flagError(err))
		e.hintf("vpce-verify %s --help lists the flags", fs.Name())
		return exitError, false
	}
	return 0, true
}

// pflagValue matches pflag's error for a value its type does not parse:
// invalid argument "V" for "-c, --count" flag: strconv.ParseUint: ...
var (
	pflagValue = regexp.MustCompile(`^invalid argument (".*") for "(?:-[^,]+, )?(--[^"]+)" flag: (.*)$`)
	strconvErr = regexp.MustCompile(`^strconv\.Parse(\w+): parsing (".*"): (.*)$`)
)

// flagError words pflag's error in the user's terms: a bad value says
// what the flag wants, not which Go function failed to parse it.
func flagError(err error) string {
	m := pflagValue.FindStringSubmatch(err.Error())
	if m == nil {
		return err.Error()
	}
	value, flag, why := m[1], m[2], m[3]
	want := why
	if sm := strconvErr.FindStringSubmatch(why); sm != nil {
		switch {
		case sm[3] == "value out of range":
			want = "out of range"
		case sm[1] == "Uint":
			want = "want a whole number, 0 or more"
		case sm[1] == "Int":
			want = "want a whole number"
		case sm[1] == "Bool":
			want = "want true or false"
		case sm[1] == "Float":
			want = "want a number"
		}
		if sm[2] != value {
			// One item of a list (--port 80,x).
			want = sm[2] + ": " + want
		}
	} else if strings.HasPrefix(why, "time: ") {
		want = "want a duration: a number and a unit, such as 500ms, 30s, 10m or 1h"
	}
	return fmt.Sprintf("%s %s: %s", flag, value, want)
}

// imdsFromEnviron is where the instance metadata service is asked, as the
// AWS CLI and SDKs decide it: AWS_EC2_METADATA_DISABLED=true turns it
// off, AWS_EC2_METADATA_SERVICE_ENDPOINT moves it.
func imdsFromEnviron() string {
	if strings.EqualFold(os.Getenv("AWS_EC2_METADATA_DISABLED"), "true") {
		return ""
	}
	if ep := os.Getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT"); ep != "" {
		return ep
	}
	return host.IMDSEndpoint
}
