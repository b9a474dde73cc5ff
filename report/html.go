package report

import (
	"bufio"
	"fmt"
	"html/template"
	"io"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// htmlRows caps the connections the timeline draws: a page an auditor
// reads, not a plot of a million connections (the JSON lists them).
const htmlRows = 60

// WriteHTML writes the report as one self-contained HTML page: no script,
// no font, image or style from elsewhere. The verdict comes first, then a
// timeline of the S3 connections (inline SVG: one bar per connection
// coloured by path, DNS answers as marks, violations labelled), the
// destinations, the violations, the inputs with their hashes, the warnings
// and the provenance. It prints as it reads (a print stylesheet).
func (r *Report) WriteHTML(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := htmlPage.Execute(bw, r.htmlView()); err != nil {
		return err
	}
	return bw.Flush()
}

type htmlView struct {
	R        *Report
	Verdict  string
	Class    string
	Timeline template.HTML
	Shown    int
	Files    []File
}

func (r *Report) htmlView() htmlView {
	v := htmlView{R: r, Verdict: verdictWord(r.Verdict, r.PartialVerdict), Class: r.Verdict}
	v.Timeline, v.Shown = r.timelineSVG()
	if p := r.Provenance; p != nil {
		for _, f := range p.Files {
			if f.Role == RoleEndpoints {
				v.Files = append(v.Files, f)
			}
		}
	}
	return v
}

// pathColour is each path's colour in the timeline and its legend.
var pathColour = []struct{ Path, Colour string }{
	{"interface-endpoint", "#1a7f37"},
	{"gateway-endpoint", "#0a7d8c"},
	{"proxy", "#3b5bdb"},
	{"private-unknown", "#8c8c8c"},
	{"public-aws", "#c92a2a"},
	{"public-non-aws", "#e8590c"},
}

func colourOf(path string) string {
	for _, c := range pathColour {
		if c.Path == path {
			return c.Colour
		}
	}
	return "#5c5f66"
}

type bar struct {
	f           Flow
	first, last time.Time
	leak        bool
}

// timelineSVG draws the S3 connections over time: a bar per connection,
// coloured by path, from its first to its last packet; a DNS lane on top
// with a mark per answer for an S3 name, and on a connection's row a mark
// where the answer that gave its server's address came; each violation
// labelled FAIL. It returns the SVG and how many connections it draws.
func (r *Report) timelineSVG() (template.HTML, int) {
	seen := map[string]bool{}
	var bars []bar
	add := func(f Flow, leak bool) {
		k := f.Client + ">" + f.Server + "@" + f.FirstTS
		if seen[k] || len(bars) >= htmlRows {
			return
		}
		first, err1 := time.Parse(time.RFC3339Nano, f.FirstTS)
		last, err2 := time.Parse(time.RFC3339Nano, f.LastTS)
		if err1 != nil || err2 != nil {
			return
		}
		seen[k] = true
		bars = append(bars, bar{f: f, first: first, last: last, leak: leak})
	}
	for _, f := range r.Violations {
		add(f, true)
	}
	for _, f := range r.Flows {
		if f.S3 {
			add(f, false)
		}
	}
	// In time order; the violations were taken first, so the cap never
	// leaves one out of the drawing in favour of a pass.
	slices.SortStableFunc(bars, func(a, b bar) int { return a.first.Compare(b.first) })
	type mark struct {
		t     time.Time
		label string
		addrs []netip.Addr
	}
	var dns []mark
	for _, d := range r.DNS {
		if !d.S3 {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, d.TS)
		if err != nil {
			continue
		}
		m := mark{t: t, label: d.QName + " " + d.QType + " " + d.RCode}
		for _, a := range d.Answers {
			if ip, err := netip.ParseAddr(a.Data); err == nil {
				m.addrs = append(m.addrs, ip)
				m.label += " " + a.Data
			}
		}
		dns = append(dns, m)
	}
	if len(bars) == 0 && len(dns) == 0 {
		return template.HTML(`<p class="none">No S3 connection and no DNS answer for an S3 name was captured.</p>`), 0
	}
	var lo, hi time.Time
	widen := func(t time.Time) {
		if lo.IsZero() || t.Before(lo) {
			lo = t
		}
		if t.After(hi) {
			hi = t
		}
	}
	for _, b := range bars {
		widen(b.first)
		widen(b.last)
	}
	for _, m := range dns {
		widen(m.t)
	}
	span := hi.Sub(lo)
	if span <= 0 {
		span = time.Millisecond
	}
	const left, right, width, row, top = 250, 120, 960, 22, 34
	plot := float64(width - left - right)
	x := func(t time.Time) float64 { return left + plot*float64(t.Sub(lo))/float64(span) }
	height := top + row*(len(bars)+1) + 26
	var s strings.Builder
	esc := template.HTMLEscapeString
	fmt.Fprintf(&s, `<svg xmlns="http://www.w3.org/2000/svg" id="timeline" viewBox="0 0 %d %d" width="100%%" role="img" aria-label="timeline of the S3 connections">`, width, height)
	fmt.Fprintf(&s, `<rect x="0" y="0" width="%d" height="%d" fill="#ffffff"/>`, width, height)
	// The axis: start, middle and end of the capture window.
	axisY := height - 20
	fmt.Fprintf(&s, `<line x1="%d" y1="%d" x2="%.1f" y2="%d" stroke="#868e96"/>`, left, axisY, left+plot, axisY)
	for i, t := range []time.Time{lo, lo.Add(span / 2), lo.Add(span)} {
		anchor := []string{"start", "middle", "end"}[i]
		fmt.Fprintf(&s, `<text x="%.1f" y="%d" font-size="11" text-anchor="%s" fill="#495057">%s</text>`, x(t), axisY+14, anchor, t.UTC().Format("15:04:05.000"))
	}
	fmt.Fprintf(&s, `<text x="4" y="%d" font-size="11" fill="#495057">UTC, %s (%.3f s)</text>`, axisY+14, lo.UTC().Format("2006-01-02"), span.Seconds())
	// The DNS lane.
	fmt.Fprintf(&s, `<text x="4" y="%d" font-size="12" font-weight="bold">DNS answers (S3 names)</text>`, top-8)
	for _, m := range dns {
		fmt.Fprintf(&s, `<path class="dns" d="M%.1f %d l5 7 l-5 7 l-5 -7 z" fill="#f59f00" stroke="#7a4f00"><title>%s</title></path>`, x(m.t), top-20, esc(m.label))
	}
	for i, b := range bars {
		y := top + row*i
		label := b.f.Server
		if b.f.S3Name != "" {
			label += " " + b.f.S3Name
		}
		if len(label) > 40 {
			label = label[:39] + "…"
		}
		fmt.Fprintf(&s, `<text x="4" y="%d" font-size="11" fill="#212529">%s</text>`, y+14, esc(label))
		x1, x2 := x(b.first), x(b.last)
		if x2-x1 < 4 {
			x2 = x1 + 4
		}
		title := fmt.Sprintf("%s -> %s, %s (%s), %s, %s to %s", b.f.Client, b.f.Server, b.f.Path, b.f.PathEvidence, b.f.ConnState, b.f.FirstTS, b.f.LastTS)
		fmt.Fprintf(&s, `<rect class="conn" data-path="%s" x="%.1f" y="%d" width="%.1f" height="14" rx="2" fill="%s"><title>%s</title></rect>`,
			esc(b.f.Path), x1, y+3, x2-x1, colourOf(b.f.Path), esc(title))
		server, _ := netip.ParseAddrPort(b.f.Server)
		for _, m := range dns {
			for _, a := range m.addrs {
				if a == server.Addr() && !m.t.After(b.first) {
					fmt.Fprintf(&s, `<path class="dns" d="M%.1f %d l4 6 l-4 6 l-4 -6 z" fill="#f59f00" stroke="#7a4f00"><title>%s</title></path>`, x(m.t), y+4, esc(m.label))
				}
			}
		}
		if b.leak {
			// Beside the bar, on the side with room.
			lx, anchor := x2+4, "start"
			if lx+110 > width {
				lx, anchor = x1-4, "end"
			}
			fmt.Fprintf(&s, `<text class="violation" x="%.1f" y="%d" font-size="11" font-weight="bold" text-anchor="%s" fill="#c92a2a">FAIL %s</text>`, lx, y+14, anchor, esc(b.f.Path))
		}
	}
	s.WriteString(`</svg>`)
	return template.HTML(s.String()), len(bars)
}

var htmlPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"upper":  strings.ToUpper,
	"colour": colourOf,
	"legend": func() []struct{ Path, Colour string } { return pathColour },
	"aws":    awsWords,
	"join":   strings.Join,
	"quote":  ShellQuote,
	"bytes":  byteCount,
	"add":    func(a, b uint64) uint64 { return a + b },
	"name":   flowName,
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>vpce-verify: {{.Verdict}}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px auto; max-width: 1000px; color: #212529; padding: 0 16px; }
h1 { font-size: 28px; margin: 0 0 8px; }
h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #dee2e6; padding-bottom: 4px; }
.verdict { padding: 16px 20px; border-radius: 6px; color: #fff; }
.verdict.pass { background: #1a7f37; } .verdict.fail { background: #c92a2a; }
.verdict.inconclusive { background: #e67700; } .verdict.error { background: #5c5f66; }
.verdict p { margin: 4px 0 0; font-size: 15px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid #e9ecef; vertical-align: top; }
th { background: #f1f3f5; }
td code { white-space: nowrap; }
code, .hash { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12px; word-break: break-all; }
.legend span { display: inline-block; margin-right: 14px; font-size: 12px; }
.legend i { display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: -1px; border-radius: 2px; }
.path { font-weight: 600; }
.meta { font-size: 13px; color: #495057; }
.none { color: #495057; font-style: italic; }
@media print {
  body { margin: 0; max-width: none; font-size: 11px; }
  .verdict { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  svg, .legend i { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  h2 { break-after: avoid; } tr, svg { break-inside: avoid; }
  @page { margin: 14mm; }
}
</style>
</head>
<body>
<div class="verdict {{.Class}}" id="verdict">
<h1>{{.Verdict}}</h1>
<p>{{.R.Reason}}</p>
</div>
<p class="meta">vpce-verify {{.R.Tool.Version}}, report made {{.R.GeneratedAt}}, policy <b>{{.R.Policy}}</b>{{with .R.Provenance}}{{with .Window}}; capture window {{.First}} to {{.Last}} ({{printf "%.3f" .Duration}} s){{end}}; host {{.Host.Hostname}} ({{.Host.OS}}){{with .Host.EC2}}, EC2 {{.InstanceID}}, account {{.AccountID}}, {{.AvailabilityZone}}, {{.VPCID}}, {{.SubnetID}}{{end}}{{end}}.
{{.R.Summary.S3Flows}} S3 connections ({{.R.Summary.S3Established}} established) of {{.R.Summary.Flows}}; {{.R.Summary.Packets}} packets.</p>

<h2>Timeline of the S3 connections</h2>
<div class="legend">{{range legend}}<span><i style="background:{{.Colour}}"></i>{{.Path}}</span>{{end}}<span><i style="background:#f59f00"></i>DNS answer</span></div>
{{.Timeline}}
{{if lt .Shown .R.Summary.S3Flows}}<p class="meta">{{.Shown}} of {{.R.Summary.S3Flows}} S3 connections drawn (violations first); report.json and connections.ndjson list them.</p>{{end}}

<h2>Destinations</h2>
{{if .R.Destinations}}<table>
<tr><th>Server</th><th>Path</th><th>Why</th><th>Connections</th><th>Established</th><th>Bytes</th><th>Names</th><th>AWS</th></tr>
{{range .R.Destinations}}<tr><td><code>{{.Server}}</code></td><td class="path" style="color:{{colour .Path}}">{{.Path}}</td><td>{{.PathEvidence}}</td><td>{{.Connections}}</td><td>{{.Established}}</td><td>{{bytes (add (index .Bytes 0) (index .Bytes 1))}}</td><td>{{join .S3Names ", "}}</td><td>{{aws .AWS}}</td></tr>
{{end}}</table>{{if .R.DestinationsOmitted}}<p class="meta">and {{.R.DestinationsOmitted}} connections to servers beyond the table's cap</p>{{end}}
{{else}}<p class="none">No S3 destination.</p>{{end}}

<h2>Violations</h2>
{{if .R.Violations}}<table id="violations">
<tr><th>Client</th><th>Server</th><th>Path</th><th>Name</th><th>AWS</th><th>First packet</th><th>State</th></tr>
{{range .R.Violations}}<tr class="violation"><td><code>{{.Client}}</code></td><td><code>{{.Server}}</code></td><td class="path" style="color:{{colour .Path}}">{{.Path}} ({{.PathEvidence}})</td><td>{{name .}}</td><td>{{aws .AWS}}</td><td>{{.FirstTS}}</td><td>{{.ConnState}}</td></tr>
{{end}}</table>{{if .R.ViolationsOmitted}}<p class="meta">and {{.R.ViolationsOmitted}} more</p>{{end}}
{{else}}<p class="none">No S3 connection on a path the policy does not allow.</p>{{end}}

<h2>Inputs</h2>
<table>
<tr><th>Input</th><th>Format</th><th>Packets</th><th>SHA-256</th><th>Read</th></tr>
{{range .R.Inputs}}<tr><td><code>{{.Name}}</code></td><td>{{.Format}} {{join .LinkTypes "+"}}</td><td>{{.Packets}}</td><td class="hash">{{.SHA256}}</td><td>{{if .Complete}}whole{{else if .Error}}{{.Error}}{{else}}not whole{{end}}</td></tr>
{{end}}{{range .Files}}<tr><td><code>{{.Name}}</code></td><td>{{.Role}}</td><td></td><td class="hash">{{.SHA256}}</td><td>{{.Size}} bytes</td></tr>
{{end}}<tr><td><code>ip-ranges.json ({{.R.IPRanges.Source}})</code></td><td>syncToken {{.R.IPRanges.SyncToken}}</td><td></td><td class="hash">{{.R.IPRanges.SHA256}}</td><td>created {{.R.IPRanges.CreateDate}}</td></tr>
</table>
{{with .R.Capture}}<p class="meta">Live capture on {{join .Interfaces ", "}}, filter <code>{{.Filter}}</code>, {{.Started}} to {{.Stopped}} ({{.StopReason}}).</p>{{end}}
{{with .R.Probe}}<p class="meta">Probe: {{.Name}} resolved by {{.Resolver}} ({{.ResolverSource}}).{{range .Connections}} {{.Server}}{{if .Error}}: {{.Error}}{{else}}: {{.TLSVersion}}, certificate sha256 <span class="hash">{{.CertificateSHA256}}</span> ({{.CertificateSubject}}){{if .AmzRequestID}}, x-amz-request-id {{.AmzRequestID}}{{end}}{{end}}.{{end}}</p>{{end}}

<h2>Warnings</h2>
{{if or .R.Warnings .R.Anomalies}}<ul>{{range .R.Warnings}}<li>{{.}}</li>{{end}}{{range .R.Anomalies}}<li>anomaly {{.Name}}: {{.Count}} times, first at packet {{.FirstPacket}}{{if .Blocking}} (a pass cannot rest on it){{end}}</li>{{end}}</ul>
{{else}}<p class="none">None.</p>{{end}}

{{with .R.Provenance}}<h2>Provenance</h2>
<table>
<tr><th>Program</th><td>{{.Tool.Name}} {{.Tool.Version}} ({{.Tool.GoVersion}}{{if .Tool.Revision}}, revision <code>{{.Tool.Revision}}</code>{{end}})</td></tr>
<tr><th>Command</th><td><code>{{quote .CommandLine}}</code></td></tr>
<tr><th>Host</th><td>{{.Host.Hostname}} ({{.Host.OS}}); EC2 metadata: {{.Host.IMDS}}</td></tr>
<tr><th>Settings</th><td>policy {{.Policy}}{{if .EndpointIPs}}; --endpoint-ip {{join .EndpointIPs " "}}{{end}}{{if .VPCCIDRs}}; --vpc-cidr {{join .VPCCIDRs " "}}{{end}}; idle timeout {{.Analysis.IdleTimeout}}</td></tr>
</table>{{end}}
{{with .R.Bundle}}<p class="meta">Evidence bundle: evidence.pcapng holds {{.Packets}} packets ({{.PacketsWritten}}) of {{.Connections}} S3 connections{{if .ConnectionsOmitted}}, {{.ConnectionsOmitted}} more not kept{{end}}; analysed again they give <b>{{upper .Reanalysis}}</b>. {{.ReanalysisNote}} Check it with <code>vpce-verify evidence check DIR</code>.</p>{{end}}
</body>
</html>
`))
