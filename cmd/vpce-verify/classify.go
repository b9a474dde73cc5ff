package main

import (
	"bufio"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/vpce-verify/vpce-verify/report"
)

const classifySynopsis = `Usage: vpce-verify classify [flags] [ADDR...]

Says what each address is, with the classifier of analyze: an interface
endpoint (--endpoint-ip, --endpoints), a public S3 address routed to a gateway
endpoint (only with route tables in --endpoints), a public AWS address (every
service, the region, the most specific prefix and its border group), another
private address, or a public address outside AWS. An address may carry a
port (10.0.2.50:443, [fd00::1]:443). With no ADDR, or -, addresses are read
from standard input, one or more per line; '#' starts a comment.

Exit codes: 0 every address was classified, 2 one could not be read (the
others are still classified and printed).

Example:
  vpce-verify classify --endpoint-ip 10.0.2.50 10.0.2.50 52.219.64.10 8.8.8.8
`

// maxLine bounds a line of standard input; an address is at most 47 bytes.
const maxLine = 4096

func cmdClassify(e *env, args []string) int {
	fs := pflag.NewFlagSet("classify", pflag.ContinueOnError)
	var cf classifyFlags
	var of outputFlags
	cf.register(fs)
	of.register(fs)
	fs.MarkHidden("require") // classify labels; it passes nothing
	fs.Lookup("format").Usage = "output format: text or json (a list of {addr, path, path_evidence, endpoint_id, aws})"
	if code, ok := e.parse(fs, args, classifySynopsis); !ok {
		return code
	}
	if err := of.check(); err != nil {
		e.errorf("classify: %v", err)
		return exitError
	}
	cl, err := cf.load()
	if err != nil {
		e.errorf("%v", err)
		return exitError
	}
	for _, w := range cl.warnings {
		e.warnf("%s", w)
	}
	if w := report.StaleRanges(cl.ranges, now()); w != "" {
		e.warnf("%s", w)
	}

	var out report.Classification
	failed := false
	add := func(s, where string) {
		c := report.ClassifyAddr(cl.classifier, s)
		if c.Error != "" {
			e.errorf("classify: %s%s", where, c.Error)
			failed = true
		}
		out = append(out, c)
	}
	addrs := fs.Args()
	if len(addrs) == 0 {
		addrs = []string{"-"}
	}
	for _, a := range addrs {
		if a != "-" {
			add(a, "")
			continue
		}
		sc := bufio.NewScanner(e.stdin)
		sc.Buffer(make([]byte, 0, 256), maxLine)
		for line := 1; sc.Scan(); line++ {
			text, _, _ := strings.Cut(sc.Text(), "#")
			for _, f := range strings.Fields(text) {
				add(f, fmt.Sprintf("standard input line %d: ", line))
			}
		}
		if err := sc.Err(); err != nil {
			if errors.Is(err, bufio.ErrTooLong) {
				err = fmt.Errorf("a line longer than %d bytes", maxLine)
			}
			e.errorf("classify: standard input: %v; the addresses before it are classified", err)
			failed = true
		}
	}
	if err := of.write(e, out); err != nil {
		e.errorf("%v", err)
		return exitError
	}
	if failed {
		return exitError
	}
	return exitPass
}
