package fleet

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
)

// WriteText writes the merge for people: the fleet verdict and its reason
// first, the totals, then every host that did not pass (with its largest
// violations, or its reason, and its runs when there are several), and
// the reports that could not be read. Hosts that passed are counted; all
// lists them too.
func (f *Fleet) WriteText(out io.Writer, all bool) error {
	bw := bufio.NewWriterSize(out, 64<<10)
	ew := &errWriter{w: bw}
	ew.printf("%s: %s\n", strings.ToUpper(f.Verdict), clean(f.Reason))
	t := f.Totals
	v := t.ByVerdict
	ew.printf("\nHosts: %d (fail %d, error %d, inconclusive %d, pass %d), from %s",
		t.Hosts, v.Fail, v.Error, v.Inconclusive, v.Pass, plural(t.Reports, "report"))
	if t.Unreadable > 0 {
		ew.printf(" (%d unreadable)", t.Unreadable)
	}
	if t.Duplicates > 0 {
		ew.printf("; %s reported more than once", plural(t.Duplicates, "host"))
	}
	ew.printf("\n")

	// Column widths over the hosts shown; the details go on lines of
	// their own under each host.
	wHost, shown := len("HOST"), 0
	for _, h := range f.Hosts {
		if all || h.Verdict != Pass {
			shown++
			wHost = max(wHost, len(clean(h.Host)))
		}
	}
	if shown > 0 {
		ew.printf("\n%-*s  %-12s  %-20s  %10s  %4s\n", wHost, "HOST", "VERDICT", "TIME", "VIOLATIONS", "RUNS")
		for _, h := range f.Hosts {
			if !all && h.Verdict == Pass {
				continue
			}
			ew.printf("%-*s  %-12s  %-20s  %10d  %4d\n", wHost, clean(h.Host), h.Verdict, shortTime(h.Time), h.Violations, len(h.Runs)+h.RunsOmitted)
			for _, x := range h.TopViolations {
				ew.printf("  violation: %s\n", violationText(x))
			}
			if n := h.Violations - len(h.TopViolations); n > 0 && len(h.TopViolations) > 0 {
				ew.printf("  and %d more violations (--format json lists each run)\n", n)
			}
			if h.Verdict != Pass && h.Verdict != Fail {
				ew.printf("  %s\n", clean(h.Reason))
			}
			if len(h.Runs) > 1 {
				for _, r := range h.Runs {
					ew.printf("  run: %s %s %s\n", shortTime(r.Time), r.Verdict, clean(r.File))
				}
				if h.RunsOmitted > 0 {
					ew.printf("  and %d more runs\n", h.RunsOmitted)
				}
			}
			for _, r := range h.Runs {
				if r.Note != "" {
					ew.printf("  note: %s: %s\n", clean(r.File), clean(r.Note))
				}
			}
		}
	}
	if f.HostsOmitted > 0 {
		ew.printf("and %d more reports of hosts beyond the list's cap (--max-hosts); they count in the totals\n", f.HostsOmitted)
	}
	if !all && v.Pass > 0 {
		ew.printf("\n%s passed (--all lists them).\n", plural(v.Pass, "host"))
	}
	if ew.err != nil {
		return ew.err
	}
	return bw.Flush()
}

func violationText(x Violation) string {
	s := fmt.Sprintf("%s -> %s", x.Client, x.Server)
	if x.Name != "" {
		s += " " + x.Name
	}
	s += " " + byteCount(x.Bytes) + " " + x.Path
	if x.Region != "" || x.Prefix != "" {
		s += " " + strings.TrimSpace(x.Region+" "+x.Prefix)
	}
	if x.FirstTS != "" {
		s += " at " + shortTime(x.FirstTS)
	}
	return clean(s)
}

// shortTime writes an RFC 3339 time to the second; what does not parse is
// written as it is.
func shortTime(s string) string {
	if s == "" {
		return "-"
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return clean(s)
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

func byteCount(n uint64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case n < 1e6:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	case n < 1e9:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.1f GB", float64(n)/1e9)
}

// clean keeps what a report says from moving a terminal: control
// characters (an edited report may hold escape sequences) become '?'.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }

// WriteJSON writes the merge as indented JSON (schema vpce-verify/fleet/v1,
// docs/fleet-json.md), one host at a time: the hosts' JSON is never held
// all at once.
func (f *Fleet) WriteJSON(out io.Writer) error {
	bw := bufio.NewWriterSize(out, 64<<10)
	head := *f
	head.Hosts = nil
	hb, err := json.MarshalIndent(&head, "", "  ")
	if err != nil {
		return err
	}
	// Drop the empty hosts list and the closing brace; the hosts follow.
	hb = bytes.TrimSuffix(hb, []byte("}"))
	hb = bytes.TrimRight(hb, "\n")
	hb = bytes.TrimSuffix(hb, []byte(`"hosts": null`))
	bw.Write(hb)
	if len(f.Hosts) == 0 {
		bw.WriteString("\"hosts\": []\n}\n")
		return bw.Flush()
	}
	bw.WriteString("\"hosts\": [\n    ")
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("    ", "  ")
	for i := range f.Hosts {
		if i > 0 {
			bw.WriteString(",\n    ")
		}
		buf.Reset()
		if err := enc.Encode(&f.Hosts[i]); err != nil {
			return err
		}
		bw.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	}
	bw.WriteString("\n  ]\n}\n")
	return bw.Flush()
}
