package main

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/spf13/pflag"

	"github.com/vpce-verify/vpce-verify/flowlogs"
)

const athenaSynopsis = `Usage: vpce-verify flowlogs athena [flags]

Prints the Athena table for flow logs delivered to S3 (partition projection on
the AWSLogs/ACCOUNT/vpcflowlogs/REGION/YYYY/MM/DD/ folders: no partition to
add) and the query that gives, per ENI (or instance, subnet, VPC), the answer
of vpce-verify flowlogs: the S3 prefixes of the ip-ranges.json in use and the
endpoint addresses of --endpoint-ip and --endpoints are written into it.

Example:
  vpce-verify flowlogs athena --endpoints enis.json \
    --location s3://my-logs/AWSLogs/123456789012/vpcflowlogs/ap-south-1/ \
    --fields "$(zcat some-file.log.gz | head -1)"
`

func cmdFlowlogsAthena(e *env, args []string) int {
	fs := pflag.NewFlagSet("flowlogs athena", pflag.ContinueOnError)
	var cf classifyFlags
	var ff flowlogFlags
	cf.register(fs)
	fs.StringVar(&ff.groupBy, "group-by", "eni", "one row per eni, instance, subnet or vpc")
	fs.StringVar(&ff.since, "since", "", "only records that end at or after this time (RFC 3339, or a day)")
	fs.StringVar(&ff.until, "until", "", "only records that start at or before this time (a day is the whole day)")
	table := fs.String("table", "vpc_flow_logs", "the table's name")
	location := fs.String("location", "s3://DOC-EXAMPLE-BUCKET/prefix/AWSLogs/ACCOUNT/vpcflowlogs/REGION/", "the S3 folder of one account and region")
	format := fs.String("format", "text", "the log files' format: text or parquet")
	fields := fs.String("fields", "", "text: the header line of the files (or create-flow-logs --log-format);\ndefault: the default format")
	if code, ok := e.parse(fs, args, athenaSynopsis); !ok {
		return code
	}
	fail := func(err error) int {
		e.errorf("flowlogs athena: %v", err)
		return exitError
	}
	if fs.NArg() > 0 {
		return fail(fmt.Errorf("no argument is taken (got %q); the flags say what to print", fs.Arg(0)))
	}
	cfg, err := ff.config()
	if err != nil {
		return fail(err)
	}
	q := flowlogs.Athena{Table: *table, Location: *location, GroupBy: cfg.GroupBy, Since: cfg.Since, Until: cfg.Until}
	switch *format {
	case "text":
	case "parquet":
		q.Parquet = true
		if *fields != "" {
			return fail(fmt.Errorf("--fields is for text: Parquet columns are found by name"))
		}
	default:
		return fail(fmt.Errorf("--format %q: want text or parquet", *format))
	}
	if !strings.HasPrefix(q.Location, "s3://") || strings.ContainsAny(q.Location, "'\\") {
		return fail(fmt.Errorf("--location %q: want s3://BUCKET/PREFIX/AWSLogs/ACCOUNT/vpcflowlogs/REGION/", q.Location))
	}
	if !strings.HasSuffix(q.Location, "/") {
		q.Location += "/"
	}
	if !identifier(q.Table) {
		return fail(fmt.Errorf("--table %q: want letters, digits and underscores", q.Table))
	}
	if *fields != "" {
		if q.Format, err = flowlogs.ParseFormat(*fields); err != nil {
			return fail(fmt.Errorf("--fields: %w", err))
		}
	}
	cl, err := cf.load(e)
	if err != nil {
		e.errorf("%v", err)
		return exitError
	}
	q.Policy = cl.policy
	eps := append([]netip.Addr(nil), cl.endpointIPs...)
	if cl.inventory != nil {
		for _, n := range cl.inventory.NetworkInterfaces {
			if n.IsEndpoint {
				eps = append(eps, n.Addresses...)
			}
		}
	}
	q.Known = flowlogs.KnownPrefixes(eps, cl.vpcCIDRs, cl.ranges, cl.classifier)
	what := fmt.Sprintf("%d endpoint addresses", len(eps))
	if len(eps) == 1 {
		what = "1 endpoint address"
	}
	q.Note = fmt.Sprintf("ip-ranges.json %s (syncToken %s); %s.", cl.ranges.Source, cl.ranges.SyncToken, what)
	if len(eps) == 0 {
		q.Note += " Without --endpoint-ip or --endpoints, traffic to the interface endpoint is not counted."
	}
	fmt.Fprintf(e.stdout, "-- The table (run once):\n%s\n%s", q.DDL(), q.Query())
	return exitPass
}

func identifier(s string) bool {
	for _, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}
