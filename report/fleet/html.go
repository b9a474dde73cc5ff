package fleet

import (
	"bufio"
	"html/template"
	"io"
	"strings"
)

// WriteHTML writes the merge as one self-contained HTML page: no script, no
// stylesheet, font or image from anywhere else, so it opens offline and
// prints as it shows. The verdict comes first, then the totals, every
// host listed (worst first) with its violations, reason and runs, and the
// reports that could not be read.
func (f *Fleet) WriteHTML(out io.Writer) error {
	bw := bufio.NewWriterSize(out, 64<<10)
	if err := htmlPage.Execute(bw, f); err != nil {
		return err
	}
	return bw.Flush()
}

var htmlPage = template.Must(template.New("fleet").Funcs(template.FuncMap{
	"upper":     strings.ToUpper,
	"time":      shortTime,
	"violation": violationText,
	"clean":     clean,
	"runs":      func(h Host) int { return len(h.Runs) + h.RunsOmitted },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>vpce-verify fleet: {{upper .Verdict}}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #111; }
h1 { font-size: 1.6em; margin: 0 0 .3em; }
.verdict { padding: .8em 1em; border-radius: 4px; margin-bottom: 1em; border: 2px solid; }
.v-pass { background: #e6f4ea; border-color: #1e7e34; }
.v-fail { background: #fdecea; border-color: #b00020; }
.v-inconclusive, .v-error { background: #fff4e0; border-color: #b26a00; }
table { border-collapse: collapse; margin: .5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: .25em .5em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.n { text-align: right; }
td.w-pass { color: #1e7e34; font-weight: bold; }
td.w-fail { color: #b00020; font-weight: bold; }
td.w-inconclusive, td.w-error { color: #b26a00; font-weight: bold; }
ul { margin: 0; padding-left: 1.2em; }
code { font-family: ui-monospace, monospace; font-size: 12px; }
.meta { color: #555; }
@media print {
  body { margin: 0; font-size: 10pt; }
  .verdict { break-inside: avoid; }
  tr { break-inside: avoid; }
  thead { display: table-header-group; }
}
</style>
</head>
<body>
<div class="verdict v-{{.Verdict}}" id="verdict">
<h1>{{upper .Verdict}}</h1>
<p>{{clean .Reason}}</p>
</div>
<p class="meta">Merged by {{.Tool.Name}} {{.Tool.Version}} at {{time .GeneratedAt}}{{if .Interrupted}}; interrupted before every report was read{{end}}.</p>

<h2>Totals</h2>
<table id="totals">
<tr><th>hosts</th><th>fail</th><th>error</th><th>inconclusive</th><th>pass</th><th>reports</th><th>unreadable</th><th>reported more than once</th><th>violations</th></tr>
<tr><td class="n">{{.Totals.Hosts}}</td><td class="n">{{.Totals.ByVerdict.Fail}}</td><td class="n">{{.Totals.ByVerdict.Error}}</td><td class="n">{{.Totals.ByVerdict.Inconclusive}}</td><td class="n">{{.Totals.ByVerdict.Pass}}</td><td class="n">{{.Totals.Reports}}</td><td class="n">{{.Totals.Unreadable}}</td><td class="n">{{.Totals.Duplicates}}</td><td class="n">{{.Totals.Violations}}</td></tr>
</table>

<h2>Hosts</h2>
<table id="hosts">
<thead><tr><th>host</th><th>verdict</th><th>time</th><th>violations</th><th>runs</th><th>details</th></tr></thead>
<tbody>
{{- range .Hosts}}
<tr><td><code>{{clean .Host}}</code>{{if .AccountID}}<br><span class="meta">{{.AccountID}} {{.Region}} {{.VPCID}}</span>{{end}}</td><td class="w-{{.Verdict}}">{{.Verdict}}</td><td>{{time .Time}}</td><td class="n">{{.Violations}}</td><td class="n">{{runs .}}</td>
<td>{{if .TopViolations}}<ul>{{range .TopViolations}}<li><code>{{violation .}}</code></li>{{end}}</ul>{{end -}}
{{if ne .Verdict "pass"}}{{if ne .Verdict "fail"}}{{clean .Reason}}{{end}}{{end -}}
{{if gt (len .Runs) 1}}<ul>{{range .Runs}}<li>{{time .Time}} {{.Verdict}} <code>{{clean .File}}</code></li>{{end}}{{if .RunsOmitted}}<li>and {{.RunsOmitted}} more runs</li>{{end}}</ul>{{end -}}
{{range .Runs}}{{if .Note}}<p>note: {{clean .Note}}</p>{{end}}{{end -}}
</td></tr>
{{- end}}
</tbody>
</table>
{{- if .HostsOmitted}}
<p>And {{.HostsOmitted}} more reports of hosts beyond the list's cap; they count in the totals.</p>
{{- end}}
{{- if .Unreadable}}

<h2>Unreadable reports</h2>
<p>Each counts as an inconclusive run of its host.</p>
<ul id="unreadable">
{{- range .Unreadable}}
<li><code>{{clean .}}</code></li>
{{- end}}
</ul>
{{- end}}
</body>
</html>
`))
