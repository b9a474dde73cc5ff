package main

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/spf13/pflag"

	"github.com/vpce-verify/vpce-verify/flowlogs"
	"github.com/vpce-verify/vpce-verify/report"
)

const flowlogsSynopsis = `Usage: vpce-verify flowlogs [flags] FILE|DIR...
       vpce-verify flowlogs athena [flags]

Reads VPC Flow Logs and says, per ENI (or instance, subnet, VPC), whether S3
traffic went to the interface endpoint or to a public address. Files are
text (the default format, or a custom one named by its header line), gzip,
Parquet, or the JSON of aws logs filter-log-events; a folder is walked (the
S3 delivery's AWSLogs/ACCOUNT/vpcflowlogs/REGION/YYYY/MM/DD/ layout), and
--since/--until skip the days outside. "athena" prints the Athena table and
the query that give the same answer.

--evidence DIR writes an evidence bundle, as analyze does: the reports, the
S3 and SKIPDATA records the verdict rests on (records.log.gz, bounded), the
copies of ip-ranges.json and --endpoints, SHA256SUMS (and its signature
with --sign-key); vpce-verify evidence check DIR reads the records again.

Exit codes: 0 pass, 1 fail, 2 error (partial results still printed),
3 inconclusive.

Examples:
  vpce-verify flowlogs --endpoints endpoints.json --endpoints enis.json AWSLogs/
  vpce-verify flowlogs --endpoint-ip 10.0.2.50 --evidence out --sign-key key AWSLogs/
`

func cmdFlowlogs(e *env, args []string) int {
	if len(args) > 0 && args[0] == "athena" {
		return cmdFlowlogsAthena(e, args[1:])
	}
	fs := pflag.NewFlagSet("flowlogs", pflag.ContinueOnError)
	var cf classifyFlags
	var of outputFlags
	var ff flowlogFlags
	var ev flowlogEvidence
	cf.register(fs)
	ff.register(fs)
	of.register(fs)
	ev.register(fs)
	fs.Lookup("format").Usage = "output format: text or json (schema vpce-verify/flowlogs/v1, docs/flowlogs-json.md)"
	groupsLimit := fs.Int("groups-limit", flowlogs.DefaultLimits.Groups, "JSON report: list at most this many groups (the rest are counted)")
	if code, ok := e.parse(fs, args, flowlogsSynopsis); !ok {
		return code
	}
	if fs.NArg() == 0 {
		e.errorf("flowlogs: no flow log file or folder given")
		e.hintf("vpce-verify flowlogs AWSLogs/123456789012/vpcflowlogs/ap-south-1/ (or vpce-verify flowlogs athena)")
		return exitError
	}
	cfg, err := ff.config()
	if err == nil {
		err = of.check()
	}
	if err == nil && *groupsLimit < 1 {
		err = fmt.Errorf("--groups-limit %d: want 1 or more", *groupsLimit)
	}
	if err != nil {
		e.errorf("flowlogs: %v", err)
		return exitError
	}
	cl, err := cf.load(e)
	if err != nil {
		e.errorf("%v", err)
		return exitError
	}
	cfg.Classifier, cfg.Policy, cfg.Limits.Groups = cl.classifier, cl.policy, *groupsLimit
	cfg.EndpointKnown = len(cl.endpointIPs) > 0 || cl.inventory != nil
	if err := refuseOverwrite("-o", of.out, fs.Args()); err != nil {
		e.errorf("flowlogs: %v", err)
		return exitError
	}
	if err := ev.prepare(fs.Args(), of.out); err != nil {
		e.errorf("flowlogs: %v", err)
		return exitError
	}
	ev.config(&cfg)
	files, errs := flowlogs.Expand(fs.Args(), cfg.Since, cfg.Until)
	var records atomic.Uint64
	start := time.Now()
	stopStatus := e.startStatus(func() string {
		n := records.Load()
		return fmt.Sprintf("%d files, %d records, %d records/s", len(files.Paths), n, rate(n, start))
	})
	// Files are read in parallel, one per processor.
	a, inputs := flowlogs.ReadAll(e.ctx, files.Paths, ff.logFormat, cfg, runtime.GOMAXPROCS(0), &records)
	stopStatus()
	notRead := len(files.Paths) - len(inputs)
	// What could not be opened is an input that was not read: the report
	// says so and cannot pass.
	for _, err := range errs {
		inputs = append(inputs, flowlogs.Unreadable(err))
	}
	for _, in := range inputs {
		if in.Error != nil {
			e.errorf("%s: %s", in.Name, *in.Error)
		}
		for _, p := range in.Problems {
			e.errorf("%s: %s", in.Name, p)
		}
		if more := in.BadRecords - uint64(len(in.Problems)); more > 0 {
			e.errorf("%s: %d more bad records", in.Name, more)
		}
	}
	if notRead > 0 {
		e.errorf("flowlogs: interrupted: %d files not read", notRead)
	}
	var warnings []string
	if w := report.StaleRanges(cl.ranges, e.now()); w != "" {
		warnings = append(warnings, w)
	}
	r := a.Report(inputs, flowlogs.Meta{Ranges: cl.ranges, Now: e.now(), Version: toolVersion(), Files: files,
		Warnings: append(cl.warnings, warnings...)})
	r.Provenance = flowlogsProvenance(e, cl, cfg, &ff)
	var bundleErr error
	if ev.dir != "" {
		if notRead > 0 {
			bundleErr = fmt.Errorf("--evidence: interrupted before every file was read: no bundle written")
		} else {
			bundleErr = ev.finish(e, r, a, cl)
		}
		if bundleErr != nil {
			ev.abandon()
		}
	}
	// The report printed is the one without --evidence: the bundle's
	// section is in the bundle's report.json and report.txt.
	shown := *r
	shown.Bundle = nil
	if err := of.write(e, &shown); err != nil {
		e.errorf("%v", err)
		return exitError
	}
	if bundleErr != nil {
		// The report stands; a proven leak is still a fail.
		e.errorf("flowlogs: %v", bundleErr)
		if r.Verdict != flowlogs.Fail {
			return exitError
		}
	}
	if notRead > 0 && r.Verdict != flowlogs.Fail {
		return exitError
	}
	return exitCode(r.Verdict)
}

// flowlogFlags are the flags of what records are read and how they are
// grouped.
type flowlogFlags struct {
	groupBy, since, until, format string
	logFormat                     *flowlogs.Format
}

func (f *flowlogFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.groupBy, "group-by", "eni", "one verdict per eni, instance, subnet or vpc")
	fs.StringVar(&f.since, "since", "", "only records that end at or after this time (RFC 3339, or a day: 2026-07-01)")
	fs.StringVar(&f.until, "until", "", "only records that start at or before this time (a day is the whole day)")
	fs.StringVar(&f.format, "log-format", "", "the fields of lines before any header line, as create-flow-logs --log-format\nsays them ('${version} ${vpc-id} ...'); default: the default format")
}

func (f *flowlogFlags) config() (flowlogs.Config, error) {
	var cfg flowlogs.Config
	var err error
	if cfg.GroupBy, err = flowlogs.ParseGroupBy(f.groupBy); err != nil {
		return cfg, err
	}
	if cfg.Since, err = parseWhen("--since", f.since, false); err != nil {
		return cfg, err
	}
	if cfg.Until, err = parseWhen("--until", f.until, true); err != nil {
		return cfg, err
	}
	if !cfg.Since.IsZero() && !cfg.Until.IsZero() && cfg.Until.Before(cfg.Since) {
		return cfg, fmt.Errorf("--until %s is before --since %s", f.until, f.since)
	}
	if f.format != "" {
		if f.logFormat, err = flowlogs.ParseFormat(f.format); err != nil {
			return cfg, fmt.Errorf("--log-format: %w", err)
		}
	}
	return cfg, nil
}

// parseWhen reads RFC 3339 or a day (UTC); a day ends at its last second
// when end is true.
func parseWhen(flag, s string, end bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q: want RFC 3339 (2026-07-01T10:00:00Z) or a day (2026-07-01)", flag, s)
	}
	if end {
		t = t.Add(24*time.Hour - time.Second)
	}
	return t, nil
}
