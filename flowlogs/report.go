package flowlogs

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/vpce-verify/vpce-verify/report"
	"github.com/vpce-verify/vpce-verify/resolve"
	"github.com/vpce-verify/vpce-verify/resolve/ipranges"
)

// Schema names the JSON contract of a Report (docs/flowlogs-json.md).
const Schema = "vpce-verify/flowlogs/v1"

// Verdicts: the words of the other reports.
const (
	Pass         = report.Pass
	Fail         = report.Fail
	Inconclusive = report.Inconclusive
	Error        = report.Error
)

// Report is the result of reading flow logs: the text and the JSON both
// come from it.
type Report struct {
	Schema         string   `json:"schema"`
	Tool           Tool     `json:"tool"`
	Verdict        string   `json:"verdict"`
	PartialVerdict string   `json:"partial_verdict,omitempty"`
	Reason         string   `json:"reason"`
	Policy         string   `json:"policy"`
	GroupBy        string   `json:"group_by"`
	GeneratedAt    string   `json:"generated_at"`
	Window         Window   `json:"window"`
	IPRanges       IPRanges `json:"ip_ranges"`
	EndpointKnown  bool     `json:"endpoint_known"`
	Inputs         []Input  `json:"inputs"`
	InputsOmitted  int      `json:"inputs_omitted"`
	Summary        Summary  `json:"summary"`
	// Groups has one row per ENI, instance, subnet or VPC that had S3
	// traffic or rejected S3 records, failing ones first, up to a cap;
	// GroupsOmittedRecords counts the S3 records of the groups beyond it
	// (the summary and the verdict count them).
	Groups               []Group `json:"groups"`
	GroupsOmittedRecords uint64  `json:"groups_omitted_records"`
	// PublicDestinations are the servers S3 traffic reached on a path the
	// policy does not allow.
	PublicDestinations        []Destination `json:"public_destinations"`
	PublicDestinationsOmitted uint64        `json:"public_destinations_omitted_records"`
	// Rejected are the S3 servers of REJECT records: attempts, not traffic.
	Rejected        []Destination `json:"rejected"`
	RejectedOmitted uint64        `json:"rejected_omitted_records"`
	Warnings        []string      `json:"warnings"`
	// Provenance says what made the report and with which settings: what
	// vpce-verify evidence check needs to reach the verdict again. nil
	// when the caller gave none.
	Provenance *Provenance `json:"provenance,omitempty"`
	// Bundle describes the evidence bundle written with the report
	// (--evidence); nil without one.
	Bundle *Bundle `json:"evidence_bundle,omitempty"`
}

// Provenance is what made a report: the program, the command line, the
// host, and every setting the verdict rests on besides the records.
type Provenance struct {
	Tool        report.Build `json:"tool"`
	CommandLine []string     `json:"command_line"`
	Host        report.Host  `json:"host"`
	Policy      string       `json:"policy"`
	// EndpointIPs and VPCCIDRs are --endpoint-ip and --vpc-cidr as given.
	EndpointIPs []string `json:"endpoint_ips"`
	VPCCIDRs    []string `json:"vpc_cidrs"`
	GroupBy     string   `json:"group_by"`
	// Since and Until are the time window (RFC 3339), "" when open.
	Since string `json:"since"`
	Until string `json:"until"`
	// LogFormat is --log-format as given; "" for the default format.
	LogFormat string `json:"log_format"`
	// Files are the ip-ranges.json in use and each --endpoints file, in
	// order, with the hash of the bytes read (the flow log files are
	// Inputs).
	Files []report.File `json:"files"`
}

// Bundle describes an evidence bundle: the records it keeps, and what
// they say when analysed again.
type Bundle struct {
	// Records is the file of the records kept (records.log.gz), flow log
	// text with a header line; RecordsKept counts them, RecordsOmitted
	// the S3 and SKIPDATA records beyond the bounds (Limits).
	Records        string     `json:"records_file"`
	RecordsKept    uint64     `json:"records_kept"`
	RecordsOmitted uint64     `json:"records_omitted"`
	Limits         KeepLimits `json:"limits"`
	// Reanalysis is the verdict the records kept give when analysed again
	// with the same settings, as vpce-verify evidence check does;
	// ReanalysisNote says why it differs from the report's verdict, when
	// it does.
	Reanalysis     string `json:"reanalysis_verdict"`
	ReanalysisNote string `json:"reanalysis_note,omitempty"`
}

// Tool names the program, as in the other reports.
type Tool = report.Tool

// Window is the time window asked for; empty strings leave it open.
type Window struct {
	Since string `json:"since"`
	Until string `json:"until"`
}

// IPRanges identifies the ip-ranges.json the classification used.
type IPRanges struct {
	SyncToken  string `json:"sync_token"`
	CreateDate string `json:"create_date"`
	Source     string `json:"source"`
	SHA256     string `json:"sha256"`
	AgeDays    int    `json:"age_days"`
}

// Summary counts every record read.
type Summary struct {
	Files        int `json:"files"`
	FilesSkipped int `json:"files_skipped"`
	FilesIgnored int `json:"files_ignored"`
	// Records are all records read; BadRecords could not be read.
	Records    uint64 `json:"records"`
	BadRecords uint64 `json:"bad_records"`
	NoData     uint64 `json:"nodata"`
	SkipData   uint64 `json:"skipdata"`
	// OutsideWindow are records outside --since/--until.
	OutsideWindow uint64 `json:"outside_window"`
	// NotWeb are records that are not TCP to or from port 80 or 443;
	// WebNotS3 are those whose server is neither the endpoint nor S3.
	NotWeb   uint64 `json:"not_tcp_80_443"`
	WebNotS3 uint64 `json:"tcp_80_443_not_s3"`
	// S3ByPath adds up the accepted S3 records by path.
	S3ByPath map[string]Totals `json:"s3_by_path"`
	Rejected Totals            `json:"s3_rejected"`
	FirstTS  string            `json:"first_ts"`
	LastTS   string            `json:"last_ts"`
	Groups   int               `json:"groups"`
	Failing  int               `json:"groups_failing"`
}

// Group is the verdict on one ENI, instance, subnet or VPC.
type Group struct {
	Key             string            `json:"key"` // "-" for records without the field
	Verdict         string            `json:"verdict"`
	S3ByPath        map[string]Totals `json:"s3_by_path"`
	RejectedRecords uint64            `json:"rejected_records"`
	FirstTS         string            `json:"first_ts"`
	LastTS          string            `json:"last_ts"`
	// PublicSources are the group's addresses that sent or received S3
	// traffic on a public path, most bytes first.
	PublicSources        []Source `json:"public_sources"`
	PublicSourcesOmitted uint64   `json:"public_sources_omitted_records"`

	leak Totals
}

// Source is one address of a group and what it exchanged on public paths.
type Source struct {
	Addr string `json:"addr"`
	Totals
}

// Destination is one server and path with its records.
type Destination struct {
	Server       string `json:"server"`
	Path         string `json:"path"`
	PathEvidence string `json:"path_evidence"`
	Endpoint     string `json:"endpoint_id,omitempty"`
	Totals
	FirstTS string `json:"first_ts"`
	LastTS  string `json:"last_ts"`
	AWS     *AWS   `json:"aws"`
}

// AWS is what ip-ranges.json says of an address.
type AWS struct {
	Services []string `json:"services"`
	Region   string   `json:"region"`
	Prefix   string   `json:"prefix"`
}

// Meta is what the report says about how it was made.
type Meta struct {
	Ranges   *ipranges.Ranges
	Now      time.Time
	Version  string
	Warnings []string // the caller's, first
	Files    Files
}

// listedSources is how many sources a group lists.
const listedSources = 10

func ts(sec int64) string {
	if sec == 0 {
		return ""
	}
	return time.Unix(sec, 0).UTC().Format(time.RFC3339)
}

func byPath(t *[numPaths]Totals) map[string]Totals {
	m := make(map[string]Totals, numPaths)
	for i, p := range pathOf {
		m[string(p)] = t[i]
	}
	return m
}

// Report gives the verdict on what was added, with the inputs read.
func (a *Analyzer) Report(inputs []Input, meta Meta) *Report {
	r := &Report{
		Schema: Schema, Tool: Tool{Name: "vpce-verify", Version: meta.Version},
		Policy: a.cfg.Policy, GroupBy: a.cfg.GroupBy.String(),
		GeneratedAt:   meta.Now.UTC().Format(time.RFC3339Nano),
		EndpointKnown: a.cfg.EndpointKnown,
		Inputs:        []Input{}, Groups: []Group{}, PublicDestinations: []Destination{}, Rejected: []Destination{},
		Warnings: slices.Clone(meta.Warnings),
	}
	if r.Warnings == nil {
		r.Warnings = []string{}
	}
	if !a.cfg.Since.IsZero() {
		r.Window.Since = a.cfg.Since.UTC().Format(time.RFC3339)
	}
	if !a.cfg.Until.IsZero() {
		r.Window.Until = a.cfg.Until.UTC().Format(time.RFC3339)
	}
	if rg := meta.Ranges; rg != nil {
		r.IPRanges = IPRanges{SyncToken: rg.SyncToken, CreateDate: rg.CreateDate.Format(ipranges.CreateDateLayout),
			Source: rg.Source, SHA256: rg.SHA256, AgeDays: int(meta.Now.Sub(rg.CreateDate).Hours() / 24)}
	}
	s := &r.Summary
	s.FilesSkipped, s.FilesIgnored = meta.Files.Skipped, meta.Files.Ignored
	for _, in := range inputs {
		s.BadRecords += in.BadRecords
		if in.Format != "-" { // opened (Unreadable's are not)
			s.Files++
		}
	}
	if len(inputs) > a.cfg.Limits.Inputs {
		r.InputsOmitted = len(inputs) - a.cfg.Limits.Inputs
		inputs = inputs[:a.cfg.Limits.Inputs]
	}
	r.Inputs = append(r.Inputs, inputs...)
	s.Records, s.NoData, s.SkipData, s.OutsideWindow = a.records, a.noData, a.skipData, a.outside
	s.NotWeb, s.WebNotS3 = a.otherRecords, a.nonS3Web
	s.S3ByPath, s.Rejected = byPath(&a.paths), a.rejected
	s.FirstTS, s.LastTS = ts(a.first), ts(a.last)

	for _, g := range a.groupOrder {
		out := Group{Key: g.key, S3ByPath: byPath(&g.paths), RejectedRecords: g.rejected,
			FirstTS: ts(g.first), LastTS: ts(g.last), PublicSources: []Source{}, PublicSourcesOmitted: g.srcOmitted}
		out.Verdict, out.leak = a.groupVerdict(&g.paths)
		for addr, t := range g.sources {
			out.PublicSources = append(out.PublicSources, Source{Addr: addr.String(), Totals: *t})
		}
		slices.SortFunc(out.PublicSources, func(x, y Source) int {
			return cmp.Or(cmp.Compare(y.Bytes, x.Bytes), cmp.Compare(x.Addr, y.Addr))
		})
		if len(out.PublicSources) > listedSources {
			for _, x := range out.PublicSources[listedSources:] {
				out.PublicSourcesOmitted += x.Records
			}
			out.PublicSources = out.PublicSources[:listedSources]
		}
		if out.Verdict == Fail {
			s.Failing++
		}
		r.Groups = append(r.Groups, out)
	}
	slices.SortStableFunc(r.Groups, func(x, y Group) int {
		return cmp.Or(cmp.Compare(rank(x.Verdict), rank(y.Verdict)), cmp.Compare(y.leak.Bytes, x.leak.Bytes), cmp.Compare(x.Key, y.Key))
	})
	s.Groups = len(r.Groups)
	r.GroupsOmittedRecords = a.groupsOmitted
	r.PublicDestinations, r.PublicDestinationsOmitted = destinations(a.dests, a.destOrder), a.destsOmitted
	r.Rejected, r.RejectedOmitted = destinations(a.rejects, a.rejectOrder), a.rejectsOmitted
	a.warn(r)
	r.Verdict, r.Reason = a.verdict(r)
	return r
}

func rank(v string) int {
	return map[string]int{Fail: 0, Inconclusive: 1, Pass: 2}[v]
}

func destinations(m map[destKey]*destination, order []destKey) []Destination {
	out := make([]Destination, 0, len(order))
	for _, k := range order {
		d := m[k]
		x := Destination{Server: k.server.String(), Path: string(pathOf[k.path]), PathEvidence: d.basis, Endpoint: d.class.Endpoint,
			Totals: d.Totals, FirstTS: ts(d.first), LastTS: ts(d.last)}
		if d.class.InAWS {
			x.AWS = &AWS{Services: slices.Clone(d.class.AWS.Services), Region: d.class.AWS.Region, Prefix: d.class.AWS.Prefix.String()}
		}
		out = append(out, x)
	}
	slices.SortFunc(out, func(x, y Destination) int {
		return cmp.Or(cmp.Compare(y.Bytes, x.Bytes), cmp.Compare(x.Server, y.Server), cmp.Compare(x.Path, y.Path))
	})
	return out
}

// groupVerdict judges one group's S3 traffic, as the run is judged.
func (a *Analyzer) groupVerdict(t *[numPaths]Totals) (string, Totals) {
	var leak, ok, unknown Totals
	for i := range t {
		p := pathIndex(i)
		switch {
		case a.leak(p):
			leak.Records += t[i].Records
			leak.Packets += t[i].Packets
			leak.Bytes += t[i].Bytes
		case p == pPrivate:
			unknown.Records += t[i].Records
		default:
			ok.Records += t[i].Records
		}
	}
	switch {
	case leak.Records > 0:
		return Fail, leak
	case unknown.Records > 0 || ok.Records == 0:
		return Inconclusive, leak
	}
	return Pass, leak
}

func (a *Analyzer) groupWord(n int) string {
	w := map[GroupBy]string{GroupENI: "ENI", GroupInstance: "instance", GroupSubnet: "subnet", GroupVPC: "VPC"}[a.cfg.GroupBy]
	if n == 1 {
		return "1 " + w
	}
	return fmt.Sprintf("%d %ss", n, w)
}

// verdict applies the rules, worst case first: a leak in the records read
// is fail whatever else went wrong; anything that leaves a doubt is never
// pass; an unreadable file without a leak is an error.
func (a *Analyzer) verdict(r *Report) (string, string) {
	var leak, allowed Totals
	for i := range a.paths {
		t := a.paths[i]
		switch p := pathIndex(i); {
		case a.leak(p):
			leak.Records += t.Records
			leak.Bytes += t.Bytes
		case p != pPrivate:
			allowed.Records += t.Records
			allowed.Bytes += t.Bytes
		}
	}
	private := a.paths[pPrivate]
	groups := len(r.Groups)
	var v, reason string
	switch {
	case leak.Records > 0:
		v = Fail
		var ex []string
		for _, g := range r.Groups {
			if g.Verdict != Fail || len(ex) == 3 {
				continue
			}
			ex = append(ex, fmt.Sprintf("%s (%s in %s)", g.Key, byteCount(g.leak.Bytes), plural(g.leak.Records, "record")))
		}
		if n := r.Summary.Failing - len(ex); n > 0 {
			ex = append(ex, fmt.Sprintf("and %d more", n))
		}
		where := "a public address"
		if len(r.PublicDestinations) > 0 {
			d := r.PublicDestinations[0]
			where = fmt.Sprintf("%s (%s", d.Server, d.Path)
			if d.AWS != nil {
				where += fmt.Sprintf(", %s %s %s", strings.Join(d.AWS.Services, "+"), d.AWS.Region, d.AWS.Prefix)
			}
			where += ")"
			switch n := len(r.PublicDestinations) - 1; {
			case n == 1:
				where += " and 1 more address"
			case n > 1:
				where += fmt.Sprintf(" and %d more addresses", n)
			}
		}
		how := "on a public path"
		if a.leak(pGateway) && a.paths[pGateway].Records > 0 {
			how = "on a public path or through the gateway endpoint"
		}
		reason = fmt.Sprintf("%s of %d sent S3 traffic %s (%s in %s) to %s: %s",
			a.groupWord(r.Summary.Failing), groups, how, byteCount(leak.Bytes), plural(leak.Records, "record"), where, strings.Join(ex, ", "))
	case allowed.Records == 0 && private.Records == 0:
		v = Inconclusive
		switch {
		case a.rejected.Records > 0:
			reason = fmt.Sprintf("no S3 traffic: %s to the endpoint or S3 addresses were rejected (see warnings)", plural(a.rejected.Records, "record"))
		default:
			reason = fmt.Sprintf("no S3 traffic in %s (%d TCP 80/443 records went to addresses that are neither a known endpoint nor S3)", plural(a.records, "record"), a.nonS3Web)
		}
		if !a.cfg.EndpointKnown {
			reason += "; without --endpoint-ip or --endpoints, traffic to the interface endpoint is not recognised as S3"
		}
	case private.Records > 0:
		v = Inconclusive
		reason = fmt.Sprintf("%s of S3 traffic (by pkt-dst-aws-service) went to private addresses that are not a known endpoint; give the endpoint's addresses with --endpoint-ip or --endpoints", plural(private.Records, "record"))
	default:
		v = Pass
		reason = fmt.Sprintf("all S3 traffic of %s (%s in %s) went to %s", a.groupWord(groups), byteCount(allowed.Bytes), plural(allowed.Records, "record"), a.pathWords())
	}
	if v == Pass && a.skipData > 0 {
		v = Inconclusive
		reason += fmt.Sprintf(", but %s say the flow log service skipped records, which may have carried other S3 traffic", plural(a.skipData, "SKIPDATA record"))
	}
	var bad []Input
	for _, in := range r.Inputs {
		if !in.Complete {
			bad = append(bad, in)
		}
	}
	if len(bad) == 0 {
		return v, reason
	}
	why := "bad records"
	if bad[0].Error != nil {
		why = *bad[0].Error
	} else if len(bad[0].Problems) > 0 {
		why = fmt.Sprintf("%s, first %s", plural(bad[0].BadRecords, "bad record"), bad[0].Problems[0])
	}
	what := fmt.Sprintf("the evidence of %s is incomplete (%s)", bad[0].Name, why)
	if len(bad) > 1 {
		what += fmt.Sprintf(", and of %d more files", len(bad)-1)
	}
	if v == Fail {
		return v, reason + "; " + what + ", but the records read prove the leak"
	}
	r.PartialVerdict = v
	return Error, fmt.Sprintf("%s; the records read say %s: %s", what, v, reason)
}

func (a *Analyzer) pathWords() string {
	gw, ie := a.paths[pGateway].Records, a.paths[pInterface].Records
	switch {
	case gw == 0:
		return "the interface endpoint"
	case ie == 0:
		return "public S3 addresses through the gateway endpoint"
	}
	return fmt.Sprintf("the interface endpoint (%s) or through the gateway endpoint (%s)", plural(ie, "record"), plural(gw, "record"))
}

func (a *Analyzer) warn(r *Report) {
	if a.skipData > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("%s: the flow log service skipped records in those intervals (a capacity limit or an internal error): the evidence is incomplete", plural(a.skipData, "SKIPDATA record")))
	}
	for _, d := range r.Rejected {
		what := "S3 address"
		switch d.Path {
		case string(resolve.PathInterfaceEndpoint):
			what = "interface endpoint"
		case string(resolve.PathGatewayEndpoint):
			what = "S3 address (gateway endpoint)"
		}
		r.Warnings = append(r.Warnings, fmt.Sprintf("%s to the %s %s %s rejected (REJECT): a security group or network ACL refused them", plural(d.Records, "record"), what, d.Server, were(d.Records)))
	}
	if r.RejectedOmitted > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("%s to other S3 servers %s rejected", plural(r.RejectedOmitted, "more record"), were(r.RejectedOmitted)))
	}
	if n := a.paths[pPrivate].Records; n > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("%s of S3 traffic (by pkt-dst-aws-service) went to private addresses that are not a known endpoint: another endpoint, or a proxy? Their groups cannot pass; give every endpoint address with --endpoint-ip or --endpoints", plural(n, "record")))
	}
	if a.unnamed > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("%s carry no %s (the field is absent from the log format, or -): they are grouped under -", plural(a.unnamed, "S3 record"), groupFields[a.cfg.GroupBy]))
	}
	if r.GroupsOmittedRecords > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("%s of groups beyond the first %d are counted in the summary and the verdict, not listed", plural(r.GroupsOmittedRecords, "S3 record"), a.cfg.Limits.Groups))
	}
	if r.Summary.FilesIgnored > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("%s in the folders given were not read: their names do not end in .log, .gz, .parquet, .json or .txt", plural(uint64(r.Summary.FilesIgnored), "file")))
	}
}

func were(n uint64) string {
	if n == 1 {
		return "was"
	}
	return "were"
}

func plural[N int | uint64](n N, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// byteCount says 2.5 MB.
func byteCount(n uint64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case n < 1000*1000:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	case n < 1000*1000*1000:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.1f GB", float64(n)/1e9)
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
