package flowlogs

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// textGroups is how many groups the text lists; the JSON lists them all
// (up to Limits.Groups).
const textGroups = 50

// WriteText writes the report for people: the verdict and its reason, what
// was read, the groups, where public S3 traffic went, and the warnings.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	head := strings.ToUpper(r.Verdict)
	if r.PartialVerdict != "" {
		head += " (partial result: " + strings.ToUpper(r.PartialVerdict) + ")"
	}
	fmt.Fprintf(&b, "%s: %s\n\n", head, r.Reason)
	s := r.Summary
	fmt.Fprintf(&b, "Read %s, %s", plural(s.Files, "file"), plural(s.Records, "record"))
	var parts []string
	if s.FilesSkipped > 0 {
		whose := "their"
		if s.FilesSkipped == 1 {
			whose = "its"
		}
		parts = append(parts, fmt.Sprintf("%s skipped by %s folder date", plural(s.FilesSkipped, "file"), whose))
	}
	if s.BadRecords > 0 {
		parts = append(parts, fmt.Sprintf("%d unreadable", s.BadRecords))
	}
	parts = append(parts, fmt.Sprintf("%d NODATA", s.NoData), fmt.Sprintf("%d SKIPDATA", s.SkipData))
	if s.OutsideWindow > 0 {
		parts = append(parts, fmt.Sprintf("%d outside the time window", s.OutsideWindow))
	}
	fmt.Fprintf(&b, " (%s)", strings.Join(parts, ", "))
	if s.FirstTS != "" {
		fmt.Fprintf(&b, "; S3 traffic from %s to %s", s.FirstTS, s.LastTS)
	}
	b.WriteString(".\n")
	var total []string
	for _, p := range pathOf {
		if t := s.S3ByPath[string(p)]; t.Records > 0 {
			total = append(total, fmt.Sprintf("%s %s in %s", p, byteCount(t.Bytes), plural(t.Records, "record")))
		}
	}
	if len(total) > 0 {
		fmt.Fprintf(&b, "S3 traffic: %s.\n", strings.Join(total, "; "))
	}

	if len(r.Groups) > 0 {
		fmt.Fprintf(&b, "\nS3 traffic by %s (%d):\n", r.GroupBy, len(r.Groups))
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		// Private addresses that pkt-dst-aws-service calls S3 but that
		// are no known endpoint get a column when there are any.
		private := s.S3ByPath[string(pathOf[pPrivate])].Records > 0
		head := "  " + strings.ToUpper(r.GroupBy) + "\tVERDICT\tINTERFACE ENDPOINT\tGATEWAY ENDPOINT\tPUBLIC\t"
		if private {
			head += "PRIVATE, NOT AN ENDPOINT\t"
		}
		fmt.Fprintln(tw, head+"REJECTED\tFIRST\tLAST\tPUBLIC SOURCES")
		for i, g := range r.Groups {
			if i == textGroups {
				fmt.Fprintf(tw, "  and %d more (--format json lists them)\n", len(r.Groups)-textGroups)
				break
			}
			pub := g.S3ByPath[string(pathOf[pPublicAWS])]
			np := g.S3ByPath[string(pathOf[pPublicNonAWS])]
			pub.Records, pub.Bytes = pub.Records+np.Records, pub.Bytes+np.Bytes
			var src []string
			for _, x := range g.PublicSources[:min(3, len(g.PublicSources))] {
				src = append(src, fmt.Sprintf("%s (%s)", x.Addr, byteCount(x.Bytes)))
			}
			if n := len(g.PublicSources) - len(src); n > 0 || g.PublicSourcesOmitted > 0 {
				src = append(src, "...")
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t", g.Key, strings.ToUpper(g.Verdict),
				cell(g.S3ByPath[string(pathOf[pInterface])]), cell(g.S3ByPath[string(pathOf[pGateway])]), cell(pub))
			if private {
				fmt.Fprintf(tw, "%s\t", cell(g.S3ByPath[string(pathOf[pPrivate])]))
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", dash(g.RejectedRecords), orDash(g.FirstTS), orDash(g.LastTS), orDash(strings.Join(src, ", ")))
		}
		tw.Flush()
	}
	if len(r.PublicDestinations) > 0 {
		fmt.Fprintf(&b, "\nS3 traffic the policy (%s) does not allow, by server (%d):\n", r.Policy, len(r.PublicDestinations))
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  SERVER\tPATH\tWHY\tRECORDS\tBYTES\tAWS")
		for i, d := range r.PublicDestinations {
			if i == textGroups {
				fmt.Fprintf(tw, "  and %d more (--format json lists them)\n", len(r.PublicDestinations)-textGroups)
				break
			}
			aws := "-"
			if d.AWS != nil {
				aws = fmt.Sprintf("%s %s %s", strings.Join(d.AWS.Services, "+"), d.AWS.Region, d.AWS.Prefix)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%s\t%s\n", d.Server, d.Path, d.PathEvidence, d.Records, byteCount(d.Bytes), aws)
		}
		tw.Flush()
	}
	if len(r.Warnings) > 0 {
		b.WriteString("\nWarnings:\n")
		for _, x := range r.Warnings {
			fmt.Fprintf(&b, "  %s\n", x)
		}
	}
	if e := r.Bundle; e != nil {
		fmt.Fprintf(&b, "\nEvidence bundle: %s holds %s the verdict rests on", e.Records, plural(e.RecordsKept, "S3 or SKIPDATA record"))
		if e.RecordsOmitted > 0 {
			fmt.Fprintf(&b, " (%d more not kept)", e.RecordsOmitted)
		}
		fmt.Fprintf(&b, "; analysed again they give %s.", strings.ToUpper(e.Reanalysis))
		if n := e.ReanalysisNote; n != "" {
			fmt.Fprintf(&b, " %s%s.", strings.ToUpper(n[:1]), n[1:])
		}
		b.WriteString(" Check it with vpce-verify evidence check DIR.\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func cell(t Totals) string {
	if t.Records == 0 {
		return "-"
	}
	return fmt.Sprintf("%s (%d)", byteCount(t.Bytes), t.Records)
}

func dash(n uint64) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
