package main

// Shell completion (bash, zsh, fish) and the manual page, generated from
// the flag sets the commands parse: each command is run with an env whose
// introspect hook receives its pflag.FlagSet and synopsis instead of
// parsing, so a flag added to a command is completed and documented
// without another list to keep.

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/pflag"
)

// cmdSpec is one command as completion and the manual see it.
type cmdSpec struct {
	path     string // "analyze", "ranges info"
	summary  string
	synopsis string
	flags    []*pflag.Flag // visible flags, in definition order
	args     string        // what the arguments are: "files", "commands", "shells", ""
}

// rangesSubcommands are the subcommands of ranges, in its usage's order.
var rangesSubcommands = []string{"info", "update", "import", "diff"}

// subcommands are the commands whose first argument may name a
// subcommand with flags of its own.
var subcommands = map[string][]string{
	"ranges":   rangesSubcommands,
	"report":   {"merge"},
	"flowlogs": {"athena"},
}

// subcommandWords are "ranges:info ranges:update ...", for the shells.
func subcommandWords() []string {
	var out []string
	for _, c := range commands {
		for _, sub := range subcommands[c.name] {
			out = append(out, c.name+":"+sub)
		}
	}
	return out
}

// shells are those completion writes for.
var shells = []string{"bash", "zsh", "fish"}

// commandArgs says what each command's arguments are, for completion.
var commandArgs = map[string]string{
	"analyze": "files", "ranges import": "files", "ranges diff": "files",
	"flowlogs": "files", "report merge": "files", "evidence": "files",
	"completion": "shells", "help": "commands",
}

// flagValues are the values a flag takes, when they are a short list.
var flagValues = map[string][]string{
	"format":  {"text", "json"},
	"require": {"interface-endpoint", "private"},
	"service": {"S3", "AMAZON", "EC2", "CLOUDFRONT", "ROUTE53"},
}

// commandFlagValues override flagValues for one command's flag, named
// "PATH --FLAG".
var commandFlagValues = map[string][]string{
	"report merge --format": {"text", "json", "html"},
}

// listValues are the values a command's flag takes.
func listValues(path, flag string) []string {
	if v, ok := commandFlagValues[path+" --"+flag]; ok {
		return v
	}
	return flagValues[flag]
}

// fileFlags take a file name.
var fileFlags = []string{"read", "endpoints", "ip-ranges", "conn-log", "output", "write", "bpf-file", "ca-file", "resolv-conf", "evidence", "sign-key", "allowed-signers"}

// valueKind says how a flag's value is completed: "" (a flag without a
// value), "file", "interface", "user", "list" (flagValues), or "value"
// (anything: nothing to offer).
func valueKind(f *pflag.Flag) string {
	switch {
	case f.NoOptDefVal != "":
		return ""
	case slices.Contains(fileFlags, f.Name):
		return "file"
	case f.Name == "interface":
		return "interface"
	case f.Name == "user":
		return "user"
	case flagValues[f.Name] != nil:
		return "list"
	}
	return "value"
}

// specs collects every command's flags and synopsis by running it with
// the introspect hook: nothing is parsed, read or sent.
func specs(e *env) []cmdSpec {
	var out []cmdSpec
	collect := func(path, summary string, run func(ie *env)) {
		s := cmdSpec{path: path, summary: summary, args: commandArgs[path]}
		parsed := false
		ie := &env{ctx: e.ctx, stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, now: e.now, sys: systemFiles(),
			introspect: func(fs *pflag.FlagSet, synopsis string) {
				parsed = true
				s.synopsis = synopsis
				fs.VisitAll(func(f *pflag.Flag) {
					if !f.Hidden {
						s.flags = append(s.flags, f)
					}
				})
			}}
		run(ie)
		if parsed {
			out = append(out, s)
		}
	}
	for _, c := range commands {
		// A command that wants a subcommand stops before its flags.
		collect(c.name, c.summary, func(ie *env) { c.run(ie, nil) })
		for _, sub := range subcommands[c.name] {
			collect(c.name+" "+sub, "", func(ie *env) { c.run(ie, []string{sub}) })
		}
	}
	return out
}

// commandNames are the first words a command line may have.
func commandNames() []string {
	names := []string{"help"}
	for _, c := range commands {
		names = append(names, c.name)
	}
	return names
}

const completionSynopsis = `Usage: vpce-verify completion bash|zsh|fish

Writes a completion script for the shell, made from the same flag
definitions as --help: commands, flags, and their values (files, --format
text|json, interfaces for -i, users for -Z).

  bash:  vpce-verify completion bash > /etc/bash_completion.d/vpce-verify
         (or, for one shell: source <(vpce-verify completion bash))
  zsh:   vpce-verify completion zsh > "${fpath[1]}/_vpce-verify"
  fish:  vpce-verify completion fish > ~/.config/fish/completions/vpce-verify.fish
`

func cmdCompletion(e *env, args []string) int {
	fs := pflag.NewFlagSet("completion", pflag.ContinueOnError)
	if code, ok := e.parse(fs, args, completionSynopsis); !ok {
		return code
	}
	if fs.NArg() != 1 || !slices.Contains(shells, fs.Arg(0)) {
		e.errorf("completion: want one shell: bash, zsh or fish")
		e.hintf("source <(vpce-verify completion bash)")
		return exitError
	}
	all := specs(e)
	var err error
	switch fs.Arg(0) {
	case "bash":
		err = writeBash(e.stdout, all)
	case "zsh":
		err = writeZsh(e.stdout, all)
	case "fish":
		err = writeFish(e.stdout, all)
	}
	if err != nil {
		e.errorf("completion: %v", err)
		return exitError
	}
	return exitPass
}

// errWriter keeps the first write error, so that the generators can
// print without checking each line.
type errWriter struct {
	w   io.Writer
	err error
}

func (w *errWriter) printf(format string, args ...any) {
	if w.err == nil {
		_, w.err = fmt.Fprintf(w.w, format, args...)
	}
}

// flagWords are a flag's spellings: --name, and -x when it has one.
func flagWords(f *pflag.Flag) []string {
	words := []string{"--" + f.Name}
	if f.Shorthand != "" {
		words = append(words, "-"+f.Shorthand)
	}
	return words
}

// bashName is a command path as a bash identifier part.
func bashName(path string) string { return strings.NewReplacer(" ", "_", "-", "_").Replace(path) }

func writeBash(w io.Writer, all []cmdSpec) error {
	ew := &errWriter{w: w}
	ew.printf("# bash completion for vpce-verify (vpce-verify completion bash)\n\n")
	ew.printf("_vpce_verify() {\n")
	ew.printf("    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n")
	ew.printf("    local i cmd=\"\" w subs='%s'\n", strings.Join(subcommandWords(), " "))
	ew.printf("    COMPREPLY=()\n")
	ew.printf("    for ((i = 1; i < COMP_CWORD; i++)); do\n")
	ew.printf("        w=${COMP_WORDS[i]}\n")
	ew.printf("        case $w in -*) continue ;; esac\n")
	ew.printf("        if [[ -z $cmd ]]; then cmd=$w; elif [[ \" $subs \" == *\" $cmd:$w \"* ]]; then cmd=\"$cmd $w\"; break; else break; fi\n")
	ew.printf("    done\n")
	ew.printf("    if [[ -z $cmd ]]; then\n")
	ew.printf("        COMPREPLY=($(compgen -W '%s --help --version' -- \"$cur\"))\n", strings.Join(commandNames(), " "))
	ew.printf("        return\n")
	ew.printf("    fi\n")
	// A command that wants a subcommand: its subcommands.
	for _, c := range commands {
		if subs := subcommands[c.name]; subs != nil && !slices.ContainsFunc(all, func(s cmdSpec) bool { return s.path == c.name }) {
			ew.printf("    if [[ $cmd == %s ]]; then\n", c.name)
			ew.printf("        COMPREPLY=($(compgen -W '%s --help' -- \"$cur\"))\n", strings.Join(subs, " "))
			ew.printf("        return\n")
			ew.printf("    fi\n")
		}
	}
	// The value of the flag before the word.
	ew.printf("    case \"$cmd:$prev\" in\n")
	for _, s := range all {
		kinds := map[string][]string{}
		for _, f := range s.flags {
			k := valueKind(f)
			if k == "" {
				continue
			}
			var pats []string
			for _, word := range flagWords(f) {
				pats = append(pats, "'"+s.path+":"+word+"'")
			}
			if k == "list" {
				ew.printf("    %s) COMPREPLY=($(compgen -W '%s' -- \"$cur\")); return ;;\n", strings.Join(pats, "|"), strings.Join(listValues(s.path, f.Name), " "))
				continue
			}
			kinds[k] = append(kinds[k], pats...)
		}
		for _, k := range []string{"file", "interface", "user", "value"} {
			if len(kinds[k]) == 0 {
				continue
			}
			pats := strings.Join(kinds[k], "|")
			switch k {
			case "file":
				ew.printf("    %s) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n", pats)
			case "interface":
				ew.printf("    %s) COMPREPLY=($(compgen -W \"any $(ls /sys/class/net 2>/dev/null)\" -- \"$cur\")); return ;;\n", pats)
			case "user":
				ew.printf("    %s) COMPREPLY=($(compgen -u -- \"$cur\")); return ;;\n", pats)
			case "value":
				ew.printf("    %s) return ;;\n", pats)
			}
		}
	}
	ew.printf("    esac\n")
	// The flags and the arguments of the command.
	ew.printf("    local flags=\"\" args=\"\"\n")
	ew.printf("    case $cmd in\n")
	for _, s := range all {
		var words []string
		for _, f := range s.flags {
			words = append(words, flagWords(f)...)
		}
		words = append(words, "--help")
		args := s.args
		if subcommands[s.path] != nil {
			args += "+subs"
		}
		ew.printf("    '%s') flags='%s'; args='%s' ;;\n", s.path, strings.Join(words, " "), args)
	}
	ew.printf("    esac\n")
	ew.printf("    if [[ $cur == -* ]]; then\n")
	ew.printf("        COMPREPLY=($(compgen -W \"$flags\" -- \"$cur\"))\n")
	ew.printf("        return\n")
	ew.printf("    fi\n")
	ew.printf("    case $args in\n")
	ew.printf("    files) COMPREPLY=($(compgen -f -- \"$cur\")) ;;\n")
	ew.printf("    files+subs) COMPREPLY=($(compgen -f -- \"$cur\") $(compgen -W \"$(for w in $subs; do [[ $w == \"$cmd:\"* ]] && echo \"${w#*:}\"; done)\" -- \"$cur\")) ;;\n")
	ew.printf("    shells) COMPREPLY=($(compgen -W '%s' -- \"$cur\")) ;;\n", strings.Join(shells, " "))
	ew.printf("    commands) COMPREPLY=($(compgen -W '%s' -- \"$cur\")) ;;\n", strings.Join(commandNames()[1:], " "))
	ew.printf("    esac\n")
	ew.printf("}\n")
	ew.printf("complete -o default -F _vpce_verify vpce-verify\n")
	return ew.err
}

// zshQuote quotes s for a single-quoted zsh word, and the characters
// _arguments gives a meaning to in a description.
func zshQuote(s string) string {
	s = strings.NewReplacer("'", `'\''`, "[", `\[`, "]", `\]`, ":", `\:`).Replace(s)
	return s
}

// oneLine is a flag's usage on one line: what completion menus show.
func oneLine(usage string) string {
	return strings.Join(strings.Fields(usage), " ")
}

func writeZsh(w io.Writer, all []cmdSpec) error {
	ew := &errWriter{w: w}
	ew.printf("#compdef vpce-verify\n# zsh completion for vpce-verify (vpce-verify completion zsh)\n\n")
	for _, s := range all {
		ew.printf("_vpce_verify_%s() {\n    _arguments -s \\\n", bashName(s.path))
		for _, f := range s.flags {
			action := ""
			switch valueKind(f) {
			case "file":
				action = ":file:_files"
			case "interface":
				action = ":interface:(any ${(f)\"$(ls /sys/class/net 2>/dev/null)\"})"
			case "user":
				action = ":user:_users"
			case "list":
				action = ":" + f.Name + ":(" + strings.Join(listValues(s.path, f.Name), " ") + ")"
			case "value":
				action = ":" + f.Name + ": "
			}
			repeat := ""
			if strings.HasSuffix(f.Value.Type(), "Array") || strings.HasSuffix(f.Value.Type(), "Slice") || f.Value.Type() == "uints" {
				repeat = "*"
			}
			desc := zshQuote(oneLine(f.Usage))
			if f.Shorthand != "" {
				ew.printf("        '%s(-%s --%s)'{-%s,--%s}'[%s]%s' \\\n", repeat, f.Shorthand, f.Name, f.Shorthand, f.Name, desc, action)
			} else {
				ew.printf("        '%s--%s[%s]%s' \\\n", repeat, f.Name, desc, action)
			}
		}
		ew.printf("        '(- *)--help[show the help]'")
		switch s.args {
		case "files":
			ew.printf(" \\\n        '*:file:_files'")
		case "shells":
			ew.printf(" \\\n        ':shell:(%s)'", strings.Join(shells, " "))
		}
		ew.printf("\n}\n\n")
	}
	ew.printf("_vpce_verify() {\n")
	ew.printf("    local -a cmds\n")
	ew.printf("    cmds=(\n")
	for _, c := range commands {
		ew.printf("        '%s:%s'\n", c.name, zshQuote(c.summary))
	}
	ew.printf("        'help:the help of a command'\n    )\n")
	ew.printf("    if (( CURRENT == 2 )); then\n")
	ew.printf("        _describe -t commands 'vpce-verify command' cmds\n        return\n    fi\n")
	ew.printf("    case ${words[2]} in\n")
	for _, c := range commands {
		subs := subcommands[c.name]
		if subs == nil {
			continue
		}
		alone := slices.ContainsFunc(all, func(s cmdSpec) bool { return s.path == c.name })
		ew.printf("    %s)\n", c.name)
		ew.printf("        if (( $+functions[_vpce_verify_%s_${words[3]}] )) && (( CURRENT > 3 )); then\n", bashName(c.name))
		ew.printf("            local sub=${words[3]}\n            shift 2 words; (( CURRENT -= 2 ))\n")
		ew.printf("            _vpce_verify_%s_$sub\n", bashName(c.name))
		if alone {
			ew.printf("        else\n            (( CURRENT == 3 )) && _values 'subcommand' %s\n", strings.Join(subs, " "))
			ew.printf("            shift words; (( CURRENT-- ))\n            _vpce_verify_%s\n", bashName(c.name))
		} else {
			ew.printf("        elif (( CURRENT == 3 )); then\n            _values 'subcommand' %s\n", strings.Join(subs, " "))
		}
		ew.printf("        fi\n        ;;\n")
	}
	ew.printf("    help)\n        _describe -t commands 'vpce-verify command' cmds\n        ;;\n")
	ew.printf("    *)\n")
	ew.printf("        shift words; (( CURRENT-- ))\n")
	ew.printf("        (( $+functions[_vpce_verify_${words[1]}] )) && _vpce_verify_${words[1]}\n        ;;\n")
	ew.printf("    esac\n}\n\n")
	ew.printf("if [[ $zsh_eval_context[-1] == loadautofunc ]]; then\n    _vpce_verify \"$@\"\nelse\n    compdef _vpce_verify vpce-verify\nfi\n")
	return ew.err
}

// fishQuote quotes s for a single-quoted fish word.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, "'", `\'`).Replace(s) + "'"
}

func writeFish(w io.Writer, all []cmdSpec) error {
	ew := &errWriter{w: w}
	ew.printf("# fish completion for vpce-verify (vpce-verify completion fish)\n\n")
	ew.printf("complete -c vpce-verify -f\n")
	ew.printf("complete -c vpce-verify -n __fish_use_subcommand -l version -d 'print the version'\n")
	for _, c := range commands {
		ew.printf("complete -c vpce-verify -n __fish_use_subcommand -a %s -d %s\n", c.name, fishQuote(c.summary))
	}
	ew.printf("complete -c vpce-verify -n __fish_use_subcommand -a help -d 'the help of a command'\n")
	ew.printf("complete -c vpce-verify -n '__fish_seen_subcommand_from help' -a %s\n", fishQuote(strings.Join(commandNames()[1:], " ")))
	for _, c := range commands {
		if subs := subcommands[c.name]; subs != nil {
			ew.printf("complete -c vpce-verify -n '__fish_seen_subcommand_from %s; and not __fish_seen_subcommand_from %s' -a %s\n",
				c.name, strings.Join(subs, " "), fishQuote(strings.Join(subs, " ")))
		}
	}
	ew.printf("complete -c vpce-verify -n '__fish_seen_subcommand_from completion' -a %s\n", fishQuote(strings.Join(shells, " ")))
	for _, s := range all {
		cond := "__fish_seen_subcommand_from " + s.path
		if subs := subcommands[s.path]; subs != nil {
			cond += "; and not __fish_seen_subcommand_from " + strings.Join(subs, " ")
		}
		if c, sub, ok := strings.Cut(s.path, " "); ok {
			cond = "__fish_seen_subcommand_from " + c + "; and __fish_seen_subcommand_from " + sub
		}
		for _, f := range s.flags {
			line := fmt.Sprintf("complete -c vpce-verify -n %s -l %s", fishQuote(cond), f.Name)
			if f.Shorthand != "" {
				line += " -s " + f.Shorthand
			}
			switch valueKind(f) {
			case "file":
				line += " -r -F"
			case "interface":
				line += " -x -a '(string join \\n any (ls /sys/class/net 2>/dev/null))'"
			case "user":
				line += " -x -a '(__fish_complete_users)'"
			case "list":
				line += " -x -a " + fishQuote(strings.Join(listValues(s.path, f.Name), " "))
			case "value":
				line += " -x"
			}
			ew.printf("%s -d %s\n", line, fishQuote(oneLine(f.Usage)))
		}
		if s.args == "files" {
			ew.printf("complete -c vpce-verify -n %s -F\n", fishQuote(cond))
		}
	}
	return ew.err
}

const manSynopsis = `Usage: vpce-verify man > vpce-verify.1

Writes the manual page (man(7) source) made from every command's usage
and flags, the same as their --help: man -l vpce-verify.1 reads it,
install -m 644 vpce-verify.1 /usr/local/share/man/man1/ installs it.
`

func cmdMan(e *env, args []string) int {
	fs := pflag.NewFlagSet("man", pflag.ContinueOnError)
	if code, ok := e.parse(fs, args, manSynopsis); !ok {
		return code
	}
	if fs.NArg() > 0 {
		e.errorf("man: unexpected argument %q", fs.Arg(0))
		return exitError
	}
	if err := writeMan(e.stdout, specs(e)); err != nil {
		e.errorf("man: %v", err)
		return exitError
	}
	return exitPass
}

// roff escapes text for the body of a man page: backslashes, and a line
// that would start with a control character.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
			lines[i] = `\&` + l
		}
	}
	return strings.Join(lines, "\n")
}

// roffFlag is a flag's name in bold, its dashes as minus signs.
func roffFlag(word string) string { return `\fB` + strings.ReplaceAll(word, "-", `\-`) + `\fR` }

// shownDefault is the default --help shows for f, or "".
func shownDefault(f *pflag.Flag) string {
	switch f.DefValue {
	case "", "false", "0", "0s", "[]":
		return ""
	}
	if f.Value.Type() == "string" {
		return fmt.Sprintf("%q", f.DefValue)
	}
	return f.DefValue
}

func writeMan(w io.Writer, all []cmdSpec) error {
	ew := &errWriter{w: w}
	ew.printf(".\\\" The manual of vpce-verify, written by vpce-verify man from the\n.\\\" commands' flag definitions; do not edit.\n")
	ew.printf(".TH VPCE-VERIFY 1 \"\" \"vpce-verify %s\" \"User Commands\"\n", roff(toolVersion()))
	ew.printf(".SH NAME\nvpce-verify \\- prove with packets whether S3 traffic went through a VPC interface endpoint\n")
	ew.printf(".SH SYNOPSIS\n.B vpce-verify\n.I COMMAND\n.RI [ flags ]\n.RI [ args ]\n.br\n.B vpce-verify \\-\\-version\n")
	ew.printf(".SH DESCRIPTION\nvpce-verify proves, with packets, whether a host's S3 traffic went through a\nVPC interface endpoint or left for a public AWS address.\n")
	ew.printf("It reads captures (\\fBanalyze\\fR), captures live (\\fBcapture\\fR), probes (\\fBverify\\fR),\nasks DNS (\\fBresolve\\fR) and says what addresses are (\\fBclassify\\fR).\n")
	ew.printf(".SH COMMANDS\n")
	for _, s := range all {
		ew.printf(".SS %s\n", roff(s.path))
		if s.summary != "" {
			ew.printf("%s\n.PP\n", roff(s.summary))
		}
		if s.path != "ranges info" && strings.HasPrefix(s.path, "ranges ") {
			ew.printf("See \\fBranges info\\fR for the usage of the ranges subcommands.\n")
		} else {
			ew.printf(".nf\n%s\n.fi\n", roff(strings.TrimRight(s.synopsis, "\n")))
		}
		if len(s.flags) == 0 {
			continue
		}
		ew.printf(".PP\nFlags:\n")
		for _, f := range s.flags {
			name := roffFlag("--" + f.Name)
			if f.Shorthand != "" {
				name = roffFlag("-"+f.Shorthand) + ", " + name
			}
			if valueKind(f) != "" {
				name += ` \fI` + f.Value.Type() + `\fR`
			}
			ew.printf(".TP\n%s\n%s", name, roff(oneLine(f.Usage)))
			if d := shownDefault(f); d != "" {
				ew.printf(" (default %s)", roff(d))
			}
			ew.printf("\n")
		}
	}
	ew.printf(".SH EXIT STATUS\n.TP\n0\npass: every established S3 connection went to the interface endpoint\n.TP\n1\nfail: one went to a public address (a proven leak)\n.TP\n2\nerror: a usage error, or an input that could not be read whole (partial results are still printed)\n.TP\n3\ninconclusive: no evidence either way\n")
	ew.printf(".SH ENVIRONMENT\n.TP\n.B HTTPS_PROXY\\fR, \\fBNO_PROXY\nthe proxy \\fBranges update\\fR downloads through, and the hosts it does not\n.TP\n.B XDG_CACHE_HOME\nwhere \\fBranges update\\fR and \\fBranges import\\fR keep ip-ranges.json (else ~/.cache)\n.TP\n.B GOMEMLIMIT\nthe heap size past which the garbage collector works harder (default 128MiB)\n")
	ew.printf(".SH FILES\n.TP\n.I $XDG_CACHE_HOME/vpce-verify/ip-ranges.json\nthe cached ip-ranges.json\n.TP\n.I /etc/resolv.conf\\fR, \\fI/etc/hosts\\fR, \\fI/etc/nsswitch.conf\nhow resolve and verify find the host's resolvers and resolve as its applications do\n")
	ew.printf(".SH SEE ALSO\n.BR tcpdump (8),\n.BR tshark (1),\n.BR dig (1),\n.BR aws (1)\n")
	return ew.err
}
