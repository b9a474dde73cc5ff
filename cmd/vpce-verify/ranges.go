package main

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/spf13/pflag"

	"github.com/vpce-verify/vpce-verify/report"
	"github.com/vpce-verify/vpce-verify/resolve/ipranges"
)

const rangesSynopsis = `Usage: vpce-verify ranges info [--ip-ranges FILE]
       vpce-verify ranges update [--url URL] [--ca-file PEM] [--force]
       vpce-verify ranges import [--force] FILE
       vpce-verify ranges diff [--service S3] [--region R] OLD NEW

info    which ip-ranges.json the other commands use: --ip-ranges, else the
        newer of the cached copy and the snapshot built into the program
update  download ip-ranges.json over HTTPS (certificate verified), check it,
        and keep it in the user cache directory when it is newer; it goes
        through the proxy HTTPS_PROXY names (NO_PROXY excepted)
import  keep an ip-ranges.json downloaded elsewhere (- for standard input),
        checked and cached exactly as update does: for a host in a private
        subnet, with no route to the internet
diff    the entries (prefix, service, region, border group) added and
        removed from OLD to NEW; either may be the word "embedded"

Examples:
  vpce-verify ranges update
  HTTPS_PROXY=http://proxy.internal:3128 vpce-verify ranges update
  vpce-verify ranges import ip-ranges.json
  vpce-verify ranges diff --service S3 --region ap-south-1 old.json embedded
`

func cmdRanges(e *env, args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case "info":
			return rangesInfo(e, args[1:])
		case "update":
			return rangesUpdate(e, args[1:])
		case "import":
			return rangesImport(e, args[1:])
		case "diff":
			return rangesDiff(e, args[1:])
		case "-h", "--help", "help":
			fmt.Fprint(e.stdout, rangesSynopsis)
			return exitPass
		}
		e.errorf("ranges: unknown subcommand %q: want info, update, import or diff", args[0])
	} else {
		e.errorf("ranges: no subcommand: want info, update, import or diff")
	}
	fmt.Fprint(e.stderr, rangesSynopsis)
	return exitError
}

func rangesInfo(e *env, args []string) int {
	flags := pflag.NewFlagSet("ranges info", pflag.ContinueOnError)
	file := flags.String("ip-ranges", "", "describe this ip-ranges.json instead of the one in use")
	var of outputFlags
	of.register(flags)
	flags.Lookup("format").Usage = "output format: text or json (schema vpce-verify/ranges-info/v1)"
	if code, ok := e.parse(flags, args, rangesSynopsis); !ok {
		return code
	}
	if !of.checkOutput(e, "ranges info") {
		return exitError
	}
	// The cache is read once: it says both which snapshot is in use (the
	// newer of it and the embedded one, as ipranges.Current decides) and
	// the cache's own state.
	var r *ipranges.Ranges
	kind := "file"
	if *file != "" {
		var err error
		if r, _, err = loadRanges(*file); err != nil {
			e.errorf("%v", err)
			return exitError
		}
	}
	cached, cerr := ipranges.Cached()
	if r == nil {
		r, kind = ipranges.Embedded(), "embedded"
		if cerr == nil && ipranges.Newer(cached, r) {
			r, kind = cached, "cache"
		}
	}
	var cache report.Cache
	var err error
	if cache.Path, err = ipranges.CachePath(); err != nil {
		cache.Path = err.Error()
	}
	switch {
	case errors.Is(cerr, fs.ErrNotExist):
		cache.State = "absent"
	case cerr != nil:
		cache.State, cache.Error = "unusable", cerr.Error()
	case r == cached:
		cache.State, cache.SyncToken = "in-use", cached.SyncToken
	default:
		cache.State, cache.SyncToken = "not-used", cached.SyncToken
	}
	if err := of.write(e, report.NewRangesInfo(r, kind, cache, e.now())); err != nil {
		e.errorf("%v", err)
		return exitError
	}
	return exitPass
}

func rangesDiff(e *env, args []string) int {
	flags := pflag.NewFlagSet("ranges diff", pflag.ContinueOnError)
	service := flags.String("service", "", "only entries of this service (S3, AMAZON, EC2, ...)")
	region := flags.String("region", "", "only entries of this region (ap-south-1, GLOBAL, ...)")
	var of outputFlags
	of.register(flags)
	flags.Lookup("format").Usage = "output format: text or json (schema vpce-verify/ranges-diff/v1)"
	if code, ok := e.parse(flags, args, rangesSynopsis); !ok {
		return code
	}
	if !of.checkOutput(e, "ranges diff") {
		return exitError
	}
	if flags.NArg() != 2 {
		e.errorf("ranges diff: want two files, OLD and NEW; got %d", flags.NArg())
		e.hintf("vpce-verify ranges diff old-ip-ranges.json embedded")
		return exitError
	}
	var snap [2]*ipranges.Ranges
	for i, name := range flags.Args() {
		var err error
		if snap[i], err = readSnapshot(name); err != nil {
			e.errorf("%v", err)
			return exitError
		}
	}
	keep := func(en ipranges.Entry) bool {
		return (*service == "" || strings.EqualFold(en.Service, *service)) && (*region == "" || strings.EqualFold(en.Region, *region))
	}
	d := ipranges.Compare(snap[0], snap[1], keep)
	if err := of.write(e, report.NewRangesDiff(d, *service, *region, e.now())); err != nil {
		e.errorf("%v", err)
		return exitError
	}
	return exitPass
}

// readSnapshot reads an ip-ranges.json, or takes the embedded snapshot for
// the word "embedded" (unless a file has that name).
func readSnapshot(name string) (*ipranges.Ranges, error) {
	data, err := readInputFile(name, "the JSON this tool reads")
	if errors.Is(err, fs.ErrNotExist) && name == "embedded" {
		return ipranges.Embedded(), nil
	}
	if err != nil {
		return nil, err
	}
	return ipranges.Parse(data, name)
}
