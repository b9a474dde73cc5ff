package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"

	"github.com/vpce-verify/vpce-verify/report/fleet"
)

const reportSynopsis = `Usage: vpce-verify report merge [flags] DIR|FILE...

merge   reads many hosts' reports (report.json, or folders holding them, such
        as evidence bundles or the S3 output of the SSM document
        deploy/ssm/vpce-verify.json, walked for files named report.json) and
        gives one fleet verdict: each host's verdict, time and violations,
        and totals.

A host is named by the EC2 instance ID of its report's provenance, else by
its hostname, else by the report's file. A host reported more than once
keeps every run; its verdict is the worst. The fleet fails when any host
failed; it is inconclusive when any host was inconclusive or in error, or a
report could not be read (each such file is named on standard error and
counted as an inconclusive run, never dropped), and none failed.

Exit codes as analyze: 0 pass, 1 fail, 2 error (usage; no report in the
paths given), 3 inconclusive.

Examples:
  aws s3 sync s3://my-bucket/vpce-verify/ fleet/
  vpce-verify report merge fleet/
  vpce-verify report merge --format html -o fleet.html fleet/
`

func cmdReport(e *env, args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case "merge":
			return reportMerge(e, args[1:])
		case "-h", "--help", "help":
			fmt.Fprint(e.stdout, reportSynopsis)
			return exitPass
		}
		e.errorf("report: unknown subcommand %q: want merge", args[0])
	} else {
		e.errorf("report: no subcommand: want merge")
	}
	fmt.Fprint(e.stderr, reportSynopsis)
	return exitError
}

// maxErrorLines is how many unreadable reports are named on standard
// error; the report lists every one.
const maxErrorLines = 100

func reportMerge(e *env, args []string) int {
	fs := pflag.NewFlagSet("report merge", pflag.ContinueOnError)
	format := fs.String("format", "text", "output format: text, json (schema vpce-verify/fleet/v1) or html (one self-contained page)")
	out := fs.StringP("output", "o", "", "write the fleet report to this file instead of standard output")
	all := fs.Bool("all", false, "text: list the hosts that passed too (json and html always list every host)")
	maxHosts := fs.Int("max-hosts", fleet.DefaultLimits.Hosts, "hosts listed; the reports of hosts beyond it still count in the totals and the verdict")
	top := fs.Int("top", fleet.DefaultLimits.TopViolations, "violations listed per host, the largest first")
	if code, ok := e.parse(fs, args, reportSynopsis); !ok {
		return code
	}
	switch {
	case *format != "text" && *format != "json" && *format != "html":
		e.errorf("report merge: --format %q: want text, json or html", *format)
		return exitError
	case *maxHosts < 1:
		e.errorf("report merge: --max-hosts %d: want at least 1", *maxHosts)
		return exitError
	case *top < 1 || *top > 1000:
		e.errorf("report merge: --top %d: want 1 to 1000", *top)
		return exitError
	case fs.NArg() == 0:
		e.errorf("report merge: no report or folder given")
		e.hintf("vpce-verify report merge fleet/ (a folder of evidence bundles or report.json files)")
		return exitError
	}
	o := outputFlags{format: "text", out: *out}
	if err := o.check(); err != nil {
		e.errorf("report merge: %v", err)
		return exitError
	}
	if err := refuseOverwrite("-o", *out, fs.Args()); err != nil {
		e.errorf("report merge: %v", err)
		return exitError
	}
	named := 0
	f := fleet.Merge(e.ctx, fs.Args(), fleet.Options{
		Limits: fleet.Limits{Hosts: *maxHosts, TopViolations: *top},
		Tool:   fleet.Tool{Name: "vpce-verify", Version: toolVersion()},
		Now:    e.now,
		Unreadable: func(r fleet.Run) {
			if named++; named <= maxErrorLines {
				e.errorf("%s: %s", r.File, r.Error)
			}
		},
	})
	if named > maxErrorLines {
		e.errorf("and %d more unreadable reports (the fleet report lists them)", named-maxErrorLines)
	}
	if f.Interrupted {
		e.warnf("interrupted: the reports read so far are merged; the verdict cannot be pass")
	}
	if f.Verdict == fleet.Error {
		e.errorf("report merge: %s", f.Reason)
	}
	var w io.Writer = e.stdout
	var file *os.File
	if *out != "" {
		var err error
		if file, err = os.Create(*out); err != nil {
			e.errorf("report merge: -o %s: %v", *out, err)
			return exitError
		}
		w = file
	}
	var err error
	switch *format {
	case "json":
		err = f.WriteJSON(w)
	case "html":
		err = f.WriteHTML(w)
	default:
		err = f.WriteText(w, *all)
	}
	if file != nil {
		if cerr := file.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		e.errorf("report merge: writing the report: %v", err)
		if f.Verdict != fleet.Fail {
			return exitError
		}
	}
	return exitCode(f.Verdict)
}
