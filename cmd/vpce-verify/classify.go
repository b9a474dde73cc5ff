package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"slices"
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
from standard input, one or more per line; '#' starts a comment. Each result
is written as soon as it is known, so any number of addresses can be piped
through.

Exit codes: 0 every address was classified, 2 one could not be read (the
others are still classified and printed).

Example:
  vpce-verify classify --endpoint-ip 10.0.2.50 10.0.2.50 52.219.64.10 8.8.8.8
`

// maxLine bounds a line of standard input; an address is at most 47 bytes.
// A longer line is an error for that line; reading goes on after it.
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
	if !of.checkOutput(e, "classify") {
		return exitError
	}
	if cf.stdin() && (fs.NArg() == 0 || slices.Contains(fs.Args(), "-")) {
		e.errorf("classify: --endpoints - and the addresses both read standard input")
		e.hintf("save the inventory to a file: aws ec2 describe-vpc-endpoints --output json > endpoints.json")
		return exitError
	}
	cl, err := cf.load(e)
	if err != nil {
		e.errorf("classify: %v", err)
		return exitError
	}
	for _, w := range cl.warnings {
		e.warnf("%s", w)
	}
	if w := report.StaleRanges(cl.ranges, e.now()); w != "" {
		e.warnf("%s", w)
	}
	if err := of.open(); err != nil {
		e.errorf("%v", err)
		return exitError
	}
	var dst io.Writer = e.stdout
	if of.file != nil {
		dst = of.file
	}
	bw := bufio.NewWriterSize(dst, 64<<10)
	out := &classifyOutput{w: bw, json: of.format == "json"}

	failed := false
	add := func(s, where string) {
		c := report.ClassifyAddr(cl.classifier, s)
		if c.Error != "" {
			e.errorf("classify: %s%s", where, c.Error)
			failed = true
		}
		out.add(c)
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
		err := eachLine(e.stdin, func(n int, line []byte, long bool) bool {
			where := fmt.Sprintf("standard input line %d: ", n)
			if long {
				msg := fmt.Sprintf("a line longer than %d bytes; skipped", maxLine)
				e.errorf("classify: %s%s", where, msg)
				failed = true
				out.add(report.Classified{Addr: string(line) + "...", Error: msg})
				return out.err == nil
			}
			text, _, _ := bytes.Cut(line, []byte("#"))
			for _, f := range strings.Fields(string(text)) {
				add(f, where)
			}
			return out.err == nil
		})
		if err != nil {
			e.errorf("classify: standard input: %v; the addresses before it are classified", err)
			failed = true
		}
	}
	err = out.close()
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if of.file != nil {
		if cerr := of.file.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		e.errorf("classify: %v", err)
		return exitError
	}
	if failed {
		return exitError
	}
	return exitPass
}
