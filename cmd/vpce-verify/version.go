package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/pflag"

	"github.com/vpce-verify/vpce-verify/resolve/ipranges"
)

const versionSynopsis = `Usage: vpce-verify version [--format text|json]

Prints what a bug report needs: the version, the VCS revision and time the
binary was built from (and whether the tree had changes), the Go version
and platform, and the ip-ranges.json snapshots: the one embedded and the
one in use (the cache of ranges update or import, when newer).
`

// versionInfo is what version says.
type versionInfo struct {
	Version     string        `json:"version"`
	Revision    string        `json:"vcs_revision"`
	Time        string        `json:"vcs_time"`
	Modified    bool          `json:"vcs_modified"`
	GoVersion   string        `json:"go_version"`
	Platform    string        `json:"platform"`
	Embedded    rangesVersion `json:"ip_ranges_embedded"`
	InUse       rangesVersion `json:"ip_ranges_in_use"`
	CacheError  string        `json:"ip_ranges_cache_error,omitempty"`
	StaticBuild bool          `json:"static"` // built with CGO_ENABLED=0
}

type rangesVersion struct {
	Source     string `json:"source"`
	SyncToken  string `json:"sync_token"`
	CreateDate string `json:"create_date"`
}

func cmdVersion(e *env, args []string) int {
	fs := pflag.NewFlagSet("version", pflag.ContinueOnError)
	format := fs.String("format", "text", "output format: text or json")
	if code, ok := e.parse(fs, args, versionSynopsis); !ok {
		return code
	}
	if fs.NArg() > 0 {
		e.errorf("version: unexpected argument %q", fs.Arg(0))
		return exitError
	}
	if *format != "text" && *format != "json" {
		e.errorf("version: --format %q: want text or json", *format)
		return exitError
	}
	bi := versionInfo{Version: toolVersion(), GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH, Revision: "unknown"}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				bi.Revision = s.Value
			case "vcs.time":
				bi.Time = s.Value
			case "vcs.modified":
				bi.Modified = s.Value == "true"
			case "CGO_ENABLED":
				bi.StaticBuild = s.Value == "0"
			}
		}
	}
	emb := ipranges.Embedded()
	bi.Embedded = rangesVersion{emb.Source, emb.SyncToken, emb.CreateDate.Format(ipranges.CreateDateLayout)}
	inUse, warning := ipranges.Current()
	bi.InUse = rangesVersion{inUse.Source, inUse.SyncToken, inUse.CreateDate.Format(ipranges.CreateDateLayout)}
	bi.CacheError = warning
	if *format == "json" {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(bi); err != nil {
			e.errorf("version: %v", err)
			return exitError
		}
		return exitPass
	}
	rev := bi.Revision
	if bi.Modified {
		rev += " (modified)"
	}
	if bi.Time != "" {
		rev += ", " + bi.Time
	}
	static := ""
	if bi.StaticBuild {
		static = ", static (CGO_ENABLED=0)"
	}
	fmt.Fprintf(e.stdout, "vpce-verify %s\n  revision   %s\n  go         %s %s%s\n  ip-ranges  embedded: createDate %s, syncToken %s\n             in use:   %s, createDate %s, syncToken %s\n",
		bi.Version, rev, bi.GoVersion, bi.Platform, static,
		bi.Embedded.CreateDate, bi.Embedded.SyncToken, bi.InUse.Source, bi.InUse.CreateDate, bi.InUse.SyncToken)
	if warning != "" {
		e.warnf("%s", warning)
	}
	return exitPass
}
