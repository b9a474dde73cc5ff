package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vpce-verify/vpce-verify/internal/testenv"
)

// helpCommands are the command paths a user finds from the help alone:
// the commands "vpce-verify --help" lists, and the ranges subcommands its
// usage names. The completion and the manual are checked against these,
// not against the list they were made from.
func helpCommands(t *testing.T) []string {
	t.Helper()
	res := runCmd(t, nil, "--help")
	_, list, ok := strings.Cut(res.stdout, "Commands:\n")
	if res.code != exitPass || !ok {
		t.Fatalf("--help: exit %d, no command list:\n%s", res.code, res.stdout)
	}
	var paths []string
	for _, line := range strings.Split(list, "\n") {
		if !strings.HasPrefix(line, "  ") {
			break
		}
		paths = append(paths, strings.Fields(line)[0])
	}
	// A command's subcommands are the words its usage puts right after
	// its name: "vpce-verify ranges info [--ip-ranges FILE]"; a command
	// is completed on its own when its help lists flags.
	var out []string
	for _, p := range paths {
		res := runCmd(t, nil, p, "--help")
		if strings.Contains(res.stdout, "\nFlags:\n") {
			out = append(out, p)
		}
		for _, m := range regexp.MustCompile(`(?m)^(?:Usage:| ) +vpce-verify `+p+` ([a-z]+)(?: \[|$)`).FindAllStringSubmatch(res.stdout, -1) {
			if !slices.Contains(out, p+" "+m[1]) {
				out = append(out, p+" "+m[1])
			}
		}
	}
	if !slices.Contains(out, "ranges import") || !slices.Contains(out, "analyze") {
		t.Fatalf("commands from the help: %v", out)
	}
	return out
}

// helpFlag matches a flag line of --help: "  -r, --read ..." or
// "      --endpoint-ip ...".
var helpFlag = regexp.MustCompile(`(?m)^ {2,6}(?:-(\w), )?--([a-z0-9-]+)`)

// helpFlags are the long flags (and the short ones, as "-x") of a
// command's --help.
func helpFlags(t *testing.T, path string) []string {
	t.Helper()
	res := runCmd(t, nil, append(strings.Fields(path), "--help")...)
	if res.code != exitPass {
		t.Fatalf("%s --help: exit %d: %s", path, res.code, res.stderr)
	}
	var flags []string
	if _, list, ok := strings.Cut(res.stdout, "\nFlags:\n"); ok {
		for _, m := range helpFlag.FindAllStringSubmatch(list, -1) {
			flags = append(flags, "--"+m[2])
			if m[1] != "" {
				flags = append(flags, "-"+m[1])
			}
		}
	}
	slices.Sort(flags)
	return flags
}

// generated writes what vpce-verify ARGS prints to a file.
func generated(t *testing.T, name string, args ...string) string {
	t.Helper()
	res := runCmd(t, nil, args...)
	if res.code != exitPass || res.stderr != "" || res.stdout == "" {
		t.Fatalf("%v: exit %d, stderr %q", args, res.code, res.stderr)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(res.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func sorted(s []string) []string {
	s = slices.Compact(slices.Sorted(slices.Values(s)))
	return s
}

// The completion of each shell and the manual offer exactly the flags
// --help lists, for every command: the shells completing as a user's
// would (bash's completion function, fish's complete -C), zsh and the
// manual read from their text.
func TestCompletionAndManAgreeWithHelp(t *testing.T) {
	paths := helpCommands(t)
	bash := generated(t, "vpce-verify.bash", "completion", "bash")
	zsh := generated(t, "_vpce-verify", "completion", "zsh")
	fish := generated(t, "vpce-verify.fish", "completion", "fish")
	man := generated(t, "vpce-verify.1", "man")
	zshText, _ := os.ReadFile(zsh)
	manText, _ := os.ReadFile(man)

	for _, shell := range []string{"bash", "zsh", "fish"} {
		exec := testenv.Tool(t, shell)
		script := map[string]string{"bash": bash, "zsh": zsh, "fish": fish}[shell]
		if out, err := runShell(exec, "-n", script); err != nil {
			t.Errorf("%s -n %s: %v\n%s", shell, script, err, out)
		}
	}

	for _, path := range paths {
		want := helpFlags(t, path)
		var long []string
		for _, f := range want {
			if strings.HasPrefix(f, "--") {
				long = append(long, f)
			}
		}
		t.Run(strings.ReplaceAll(path, " ", "_"), func(t *testing.T) {
			// bash: what the completion function offers after "-".
			got, err := runShell("bash", slices.Concat([]string{"-c", `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($#-1)); _vpce_verify; printf '%s\n' "${COMPREPLY[@]}"`,
				"bash", bash, "vpce-verify"}, strings.Fields(path), []string{"-"})...)
			if err != nil {
				t.Fatalf("bash: %v\n%s", err, got)
			}
			if g := lines(got); !slices.Equal(g, sorted(append(slices.Clone(want), "--help"))) {
				t.Errorf("bash offers %v\n--help lists %v", g, want)
			}
			// fish: complete -C as at a prompt, long flags.
			got, err = runShell(testenv.Tool(t, "fish"), "-c", `source $argv[1]; complete -C "vpce-verify `+path+` --"`, fish)
			if err != nil {
				t.Fatalf("fish: %v\n%s", err, got)
			}
			var fishFlags []string
			for _, l := range lines(got) {
				fishFlags = append(fishFlags, strings.SplitN(l, "\t", 2)[0])
			}
			if g := sorted(fishFlags); !slices.Equal(g, long) {
				t.Errorf("fish offers %v\n--help lists %v", g, long)
			}
			// zsh: the _arguments specs of the command's function.
			fn := "_vpce_verify_" + bashName(path) + "() {\n"
			_, body, ok := strings.Cut(string(zshText), fn)
			body, _, _ = strings.Cut(body, "\n}\n")
			if !ok {
				t.Fatalf("zsh: no %s", fn)
			}
			var zshFlags []string
			for _, m := range regexp.MustCompile(`--([a-z0-9-]+)[\[}]`).FindAllStringSubmatch(body, -1) {
				zshFlags = append(zshFlags, "--"+m[1])
			}
			for _, m := range regexp.MustCompile(`\{-(\w),`).FindAllStringSubmatch(body, -1) {
				zshFlags = append(zshFlags, "-"+m[1])
			}
			if g := sorted(zshFlags); !slices.Equal(g, sorted(append(slices.Clone(want), "--help"))) {
				t.Errorf("zsh offers %v\n--help lists %v", g, want)
			}
			// The manual: the .TP entries of the command's section.
			_, sec, ok := strings.Cut(string(manText), "\n.SS "+path+"\n")
			sec, _, _ = strings.Cut(sec, "\n.S")
			if !ok {
				t.Fatalf("man: no section %s", path)
			}
			var manFlags []string
			for _, m := range regexp.MustCompile(`(?m)^(?:\\fB\\-(\w)\\fR, )?\\fB\\-\\-([a-z0-9\\-]+)\\fR`).FindAllStringSubmatch(sec, -1) {
				manFlags = append(manFlags, "--"+strings.ReplaceAll(m[2], `\-`, "-"))
				if m[1] != "" {
					manFlags = append(manFlags, "-"+m[1])
				}
			}
			if g := sorted(manFlags); !slices.Equal(g, want) {
				t.Errorf("the manual lists %v\n--help lists %v", g, want)
			}
		})
	}

	// groff reads the manual without a warning.
	out, err := runShell(testenv.Tool(t, "groff"), "-man", "-Tutf8", "-ww", "-z", man)
	if err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("groff -ww: %v\n%s", err, out)
	}
}

// Values are completed too: --format's words, a file after -r, -i's
// interfaces.
func TestCompletionValues(t *testing.T) {
	bash := generated(t, "vpce-verify.bash", "completion", "bash")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "evidence.pcapng"), nil, 0o644)
	for _, tc := range []struct {
		words []string
		want  []string
	}{
		{[]string{"vpce-verify", "analyze", "--format", ""}, []string{"json", "text"}},
		{[]string{"vpce-verify", "report", "merge", "--format", ""}, []string{"html", "json", "text"}},
		{[]string{"vpce-verify", "verify", "--require", "p"}, []string{"private"}},
		{[]string{"vpce-verify", "analyze", "-r", "ev"}, []string{"evidence.pcapng"}},
		{[]string{"vpce-verify", "analyze", "ev"}, []string{"evidence.pcapng"}},
		{[]string{"vpce-verify", "capture", "-i", "l"}, []string{"lo"}},
		{[]string{"vpce-verify", "ra"}, []string{"ranges"}},
		{[]string{"vpce-verify", "ranges", "im"}, []string{"import"}},
		{[]string{"vpce-verify", "completion", "z"}, []string{"zsh"}},
		{[]string{"vpce-verify", "resolve", "--timeout", ""}, nil},
	} {
		cmd := exec.Command("bash", append([]string{"-c", `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($#-1)); _vpce_verify; printf '%s\n' "${COMPREPLY[@]}"`,
			"bash", bash}, tc.words...)...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if got := lines(string(out)); err != nil || !slices.Equal(got, tc.want) {
			if tc.words[1] == "capture" && !slices.Contains(got, "lo") {
				if _, serr := os.Stat("/sys/class/net/lo"); serr != nil {
					continue // no /sys here
				}
			}
			t.Errorf("%q: %v %q, want %q", tc.words, err, got, tc.want)
		}
	}
}

func runShell(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}

// lines are the non-empty lines of s, sorted.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return sorted(out)
}

// The README's section on each command mentions every flag its --help
// lists, and its flag tables name no flag the command does not have.
func TestReadmeAgreesWithHelp(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]string{}
	for _, sec := range strings.Split(string(data), "\n## ")[1:] {
		title, body, _ := strings.Cut(sec, "\n")
		if name, _, ok := strings.Cut(title, ":"); ok {
			sections[name] = body
		}
	}
	mentioned := regexp.MustCompile("(?:^|[\\s`(/])(--[a-z][a-z0-9-]*)")
	tableFlag := regexp.MustCompile("(?:^\\| |, )`(--?[a-zA-Z][a-z0-9-]*)")
	byCommand := map[string][]string{}
	for _, path := range helpCommands(t) {
		cmd := strings.Fields(path)[0]
		byCommand[cmd] = append(byCommand[cmd], helpFlags(t, path)...)
	}
	for _, cmd := range []string{"analyze", "capture", "verify", "resolve", "classify", "ranges"} {
		body, ok := sections[cmd]
		if !ok {
			t.Errorf("README: no section \"## %s: ...\"", cmd)
			continue
		}
		have := map[string]bool{}
		for _, m := range mentioned.FindAllStringSubmatch(body, -1) {
			have[m[1]] = true
		}
		flags := byCommand[cmd]
		for _, f := range flags {
			if strings.HasPrefix(f, "--") && !have[f] {
				t.Errorf("README, %s: %s (in --help) is not mentioned", cmd, f)
			}
		}
		for _, line := range strings.Split(body, "\n") {
			if !strings.HasPrefix(line, "| `") {
				continue
			}
			first, _, _ := strings.Cut(line[2:], " |") // the flag column
			for _, m := range tableFlag.FindAllStringSubmatch("| "+first, -1) {
				if !slices.Contains(flags, m[1]) {
					t.Errorf("README, %s: the table names %s, which %s --help does not list", cmd, m[1], cmd)
				}
			}
		}
	}
}
