// Package fleet merges the reports of many hosts (report.json files, or the
// evidence bundles that hold them) into one fleet verdict: each host's
// verdict, time and violations, and totals. Reports are read one at a time
// and only a bounded summary of each is kept, so memory grows with the
// number of hosts listed (capped), not with the size of the reports.
package fleet

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vpce-verify/vpce-verify/report"
)

// Schema names the JSON contract of a merged fleet report (docs/fleet-json.md).
const Schema = "vpce-verify/fleet/v1"

// Verdicts: the words of a host's report.
const (
	Pass         = report.Pass
	Fail         = report.Fail
	Inconclusive = report.Inconclusive
	Error        = report.Error
)

// rank orders verdicts from best to worst: a host's verdict is the worst
// of its runs. An unknown word ranks as inconclusive: never as a pass.
func rank(v string) int {
	switch v {
	case Pass:
		return 0
	case Inconclusive:
		return 1
	case Error:
		return 2
	case Fail:
		return 3
	}
	return 1
}

// How a host is named: the EC2 instance ID of the report's provenance, else
// its hostname, else the report's file. Only the reports of live captures
// (capture, verify) name their host: analyze's provenance says where the
// files were read, not where they were captured.
const (
	ByInstanceID = "instance-id"
	ByHostname   = "hostname"
	ByFile       = "file"
)

// Limits bound what a merge keeps.
type Limits struct {
	// Hosts listed; the reports of hosts beyond it still count in the
	// totals and the verdict (each such report as one host).
	Hosts int
	// Runs listed per host (the same host reported more than once).
	Runs int
	// TopViolations listed per host, the largest first.
	TopViolations int
}

// DefaultLimits keep a merge of a hundred thousand hosts to some tens of
// megabytes.
var DefaultLimits = Limits{Hosts: 100000, Runs: 16, TopViolations: 3}

func (l Limits) orDefault() Limits {
	d := DefaultLimits
	if l.Hosts > 0 {
		d.Hosts = l.Hosts
	}
	if l.Runs > 0 {
		d.Runs = l.Runs
	}
	if l.TopViolations > 0 {
		d.TopViolations = l.TopViolations
	}
	return d
}

// Tool names the program that merged.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Fleet is the merged result: the text, JSON and HTML renderings come from
// it.
type Fleet struct {
	Schema      string `json:"schema"`
	Tool        Tool   `json:"tool"`
	Verdict     string `json:"verdict"`
	Reason      string `json:"reason"`
	GeneratedAt string `json:"generated_at"`
	// Interrupted says the merge was stopped before every report was
	// read: the verdict cannot be a pass.
	Interrupted bool   `json:"interrupted"`
	Totals      Totals `json:"totals"`
	// Unreadable lists the reports that could not be read, one line each
	// (file: what was wrong), up to the host cap; each is also a run of
	// its host, counted as inconclusive.
	Unreadable []string `json:"unreadable"`
	// Hosts lists the hosts, worst verdict first, up to a cap;
	// HostsOmitted counts the reports of hosts beyond it.
	HostsOmitted int    `json:"hosts_omitted"`
	Hosts        []Host `json:"hosts"`
}

// Totals count hosts by verdict, and the reports read.
type Totals struct {
	Hosts     int       `json:"hosts"`
	ByVerdict ByVerdict `json:"by_verdict"`
	// Reports counts the report files found, Unreadable those that could
	// not be read (each counted as an inconclusive run).
	Reports    int `json:"reports"`
	Unreadable int `json:"unreadable"`
	// Duplicates counts the hosts reported more than once.
	Duplicates int `json:"duplicate_hosts"`
	// Violations adds up the hosts' violations.
	Violations int `json:"violations"`
}

// ByVerdict counts hosts by their verdict.
type ByVerdict struct {
	Pass         int `json:"pass"`
	Fail         int `json:"fail"`
	Inconclusive int `json:"inconclusive"`
	Error        int `json:"error"`
}

func (b *ByVerdict) add(v string) {
	switch v {
	case Pass:
		b.Pass++
	case Fail:
		b.Fail++
	case Error:
		b.Error++
	default:
		b.Inconclusive++
	}
}

// Host is one host of the fleet: its verdict is the worst of its runs.
type Host struct {
	Host         string `json:"host"`
	IdentifiedBy string `json:"identified_by"`
	InstanceID   string `json:"instance_id,omitempty"`
	Hostname     string `json:"hostname,omitempty"`
	AccountID    string `json:"account_id,omitempty"`
	Region       string `json:"region,omitempty"`
	VPCID        string `json:"vpc_id,omitempty"`
	Verdict      string `json:"verdict"`
	// Time is when the run that decided the verdict captured (its first
	// packet; when it has none, when its report was made).
	Time string `json:"time"`
	// Reason is that run's reason, or why its report could not be read.
	Reason string `json:"reason"`
	// Violations adds up the violations (established S3 connections on a
	// public path) of every run of the host.
	Violations int `json:"violations"`
	// TopViolations are the largest of them, over every run.
	TopViolations []Violation `json:"top_violations"`
	Runs          []Run       `json:"runs"`
	RunsOmitted   int         `json:"runs_omitted"`

	rank int
}

// Run is one report of a host.
type Run struct {
	File           string `json:"file"`
	Verdict        string `json:"verdict"`
	PartialVerdict string `json:"partial_verdict,omitempty"`
	Reason         string `json:"reason"`
	Time           string `json:"time"`
	GeneratedAt    string `json:"generated_at"`
	CaptureFirst   string `json:"capture_first"`
	CaptureLast    string `json:"capture_last"`
	ToolVersion    string `json:"tool_version"`
	// AnalysedOn is, for a report of capture files (analyze), the host
	// that read them (its instance ID, else its hostname): not the host
	// whose traffic it is, so not what names the run's host.
	AnalysedOn string `json:"analysed_on,omitempty"`
	Violations int    `json:"violations"`
	// Error says why the report could not be read: the run then counts
	// as inconclusive.
	Error string `json:"error,omitempty"`
	// Note says what in a readable report did not add up, and how it was
	// counted.
	Note string `json:"note,omitempty"`

	instanceID, hostname, account, region, vpc string
	top                                        []Violation
	when                                       time.Time
	// notReport marks a path that gave no report file at all: one
	// that does not exist, a folder with no report.json in it.
	notReport bool
}

// Violation is one established S3 connection on a public path, as a host's
// report listed it.
type Violation struct {
	Client  string `json:"client"`
	Server  string `json:"server"`
	FirstTS string `json:"first_ts"`
	Bytes   uint64 `json:"bytes"`
	Name    string `json:"name"`
	Path    string `json:"path"`
	Region  string `json:"aws_region,omitempty"`
	Prefix  string `json:"aws_prefix,omitempty"`
}

// key names a run's host and says by what.
func (r *Run) key() (string, string) {
	switch {
	case r.instanceID != "":
		return r.instanceID, ByInstanceID
	case r.hostname != "":
		return r.hostname, ByHostname
	}
	return r.File, ByFile
}

// Merger adds runs up into hosts.
type Merger struct {
	lim     Limits
	hosts   map[string]*Host
	omitted ByVerdict // verdicts of the runs of hosts beyond the cap
	nOmit   int
	reports int
	found   int // report files among the reports (not paths that gave none)
	bad     int
	bads    []string
	viol    int
	stopped bool
}

// NewMerger returns an empty merge.
func NewMerger(l Limits) *Merger {
	return &Merger{lim: l.orDefault(), hosts: map[string]*Host{}}
}

// Interrupted marks the merge as stopped before every report was read.
func (m *Merger) Interrupted() { m.stopped = true }

// Add adds one run.
func (m *Merger) Add(r Run) {
	m.reports++
	if !r.notReport {
		m.found++
	}
	if r.Verdict == "" {
		r.Verdict = Inconclusive
	}
	if r.Error != "" {
		m.bad++
		if len(m.bads) < m.lim.Hosts {
			m.bads = append(m.bads, r.File+": "+r.Error)
		}
	}
	m.viol += r.Violations
	key, by := r.key()
	h := m.hosts[key]
	if h == nil {
		if len(m.hosts) >= m.lim.Hosts {
			m.nOmit++
			m.omitted.add(r.Verdict)
			return
		}
		h = &Host{Host: key, IdentifiedBy: by, rank: -1}
		m.hosts[key] = h
	}
	h.InstanceID = cmp.Or(h.InstanceID, r.instanceID)
	h.Hostname = cmp.Or(h.Hostname, r.hostname)
	h.AccountID = cmp.Or(h.AccountID, r.account)
	h.Region = cmp.Or(h.Region, r.region)
	h.VPCID = cmp.Or(h.VPCID, r.vpc)
	h.Violations += r.Violations
	// The verdict is the worst run's; among equals, the latest decides
	// the time.
	if rk := rank(r.Verdict); rk > h.rank || rk == h.rank && r.when.After(parseTime(h.Time)) {
		h.rank = rk
		h.Verdict = r.Verdict
		h.Time = r.Time
		h.Reason = r.Reason
		if r.Error != "" {
			h.Reason = "unreadable report: " + r.Error
		}
	}
	h.TopViolations = topViolations(h.TopViolations, r.top, m.lim.TopViolations)
	r.top = nil
	if len(h.Runs) < m.lim.Runs {
		h.Runs = append(h.Runs, r)
	} else {
		h.RunsOmitted++
	}
}

// topViolations keeps the n largest of a and b (by bytes, then time).
func topViolations(a, b []Violation, n int) []Violation {
	if len(b) == 0 {
		return a
	}
	a = append(a, b...)
	slices.SortStableFunc(a, func(x, y Violation) int {
		if c := cmp.Compare(y.Bytes, x.Bytes); c != 0 {
			return c
		}
		return cmp.Or(strings.Compare(x.FirstTS, y.FirstTS), strings.Compare(x.Client, y.Client), strings.Compare(x.Server, y.Server))
	})
	a = slices.CompactFunc(a, func(x, y Violation) bool { return x == y })
	if len(a) > n {
		a = a[:n]
	}
	return slices.Clip(a)
}

// Fleet finishes the merge: hosts sorted worst first, then by name; each
// host's runs in time order.
func (m *Merger) Fleet(tool Tool, now time.Time) *Fleet {
	f := &Fleet{Schema: Schema, Tool: tool, GeneratedAt: now.UTC().Format(time.RFC3339Nano),
		Interrupted: m.stopped, Unreadable: m.bads, HostsOmitted: m.nOmit}
	if f.Unreadable == nil {
		f.Unreadable = []string{}
	}
	f.Hosts = make([]Host, 0, len(m.hosts))
	for _, h := range m.hosts {
		slices.SortStableFunc(h.Runs, func(a, b Run) int {
			return cmp.Or(a.when.Compare(b.when), strings.Compare(a.File, b.File))
		})
		if h.TopViolations == nil {
			h.TopViolations = []Violation{}
		}
		f.Hosts = append(f.Hosts, *h)
	}
	slices.SortFunc(f.Hosts, func(a, b Host) int {
		return cmp.Or(cmp.Compare(b.rank, a.rank), strings.Compare(a.Host, b.Host))
	})
	t := &f.Totals
	t.ByVerdict = m.omitted
	t.Hosts = len(f.Hosts) + m.nOmit
	for i := range f.Hosts {
		h := &f.Hosts[i]
		t.ByVerdict.add(h.Verdict)
		if len(h.Runs)+h.RunsOmitted > 1 {
			t.Duplicates++
		}
	}
	t.Reports, t.Unreadable, t.Violations = m.reports, m.bad, m.viol
	f.Verdict, f.Reason = verdict(t, m.stopped)
	if m.found == 0 && f.Verdict != Fail {
		// Paths were given, but no report was in them: a wrong path
		// more likely than a fleet without evidence.
		f.Verdict = Error
		f.Reason = "no report found"
		if m.stopped {
			f.Reason = "interrupted before any report was read"
		} else if t.Unreadable > 0 {
			f.Reason = fmt.Sprintf("no report found: %s could not be read", plural(t.Unreadable, "path"))
		}
	}
	return f
}

// verdict is the fleet's: fail when any host failed; inconclusive when any
// host did not pass (inconclusive, error, an unreadable report) or the
// merge was interrupted; pass when every host passed; error when there was
// no report at all (Fleet also says error when the paths given held none).
func verdict(t *Totals, stopped bool) (string, string) {
	v := t.ByVerdict
	notPass := v.Inconclusive + v.Error
	others := func() string {
		var parts []string
		if v.Error > 0 {
			parts = append(parts, fmt.Sprintf("%d error", v.Error))
		}
		if v.Inconclusive > 0 {
			parts = append(parts, fmt.Sprintf("%d inconclusive", v.Inconclusive))
		}
		parts = append(parts, fmt.Sprintf("%d pass", v.Pass))
		s := strings.Join(parts, ", ")
		if t.Unreadable > 0 {
			s += fmt.Sprintf("; %s could not be read", plural(t.Unreadable, "report"))
		}
		if stopped {
			s += "; interrupted before every report was read"
		}
		return s
	}
	switch {
	case v.Fail > 0:
		return Fail, fmt.Sprintf("%d of %s sent S3 traffic to a public address (%s); %s",
			v.Fail, plural(t.Hosts, "host"), plural(t.Violations, "violation"), others())
	case t.Hosts == 0 && stopped:
		return Error, "interrupted before any report was read"
	case t.Hosts == 0:
		return Error, "no report found"
	case notPass > 0 || stopped:
		return Inconclusive, fmt.Sprintf("no host failed, but %d of %s did not pass: %s",
			notPass, plural(t.Hosts, "host"), others())
	}
	return Pass, fmt.Sprintf("all %s passed", plural(t.Hosts, "host"))
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}
