package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteText writes the report for people: the verdict and its reason, each
// name with its answers (which resolver, the CNAME chain, every address
// with its TTL and path), the resolvers, the endpoints' DNS settings in
// plain words, the comparison and the warnings.
func (r *ResolveReport) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	ew.printf("%s: %s\n", verdictWord(r.Verdict, r.PartialVerdict), clean(r.Reason))

	last := ""
	for _, q := range r.Queries {
		if q.Name != last {
			ew.printf("\n%s\n", clean(q.Name))
			last = q.Name
		}
		writeQuery(ew, q)
	}

	ew.printf("\nResolvers:\n")
	for _, s := range r.Resolvers {
		ew.printf("  %s (%s)", s.Addr, s.Source)
		if s.VPCResolver {
			ew.printf(", the VPC resolver")
		}
		if len(s.Upstream) > 0 {
			ew.printf(": systemd-resolved's stub, forwarding to %s (%s)", strings.Join(s.Upstream, ", "), s.UpstreamSource)
		}
		ew.printf("\n")
	}
	// Not a resolver: the file the addresses were classified with.
	ew.printf("\nip-ranges.json: %s, created %s, syncToken %s\n", r.IPRanges.Source, r.IPRanges.CreateDate, r.IPRanges.SyncToken)
	if len(r.Endpoints) > 0 {
		ew.printf("\nEndpoints (--endpoints):\n")
		for _, e := range r.Endpoints {
			ew.printf("  %s (%s): %s\n", e.ID, e.Service, e.Meaning)
		}
	}
	if c := r.Compare; c != nil {
		ew.printf("\nCompared with %s:\n", c.Resolver)
		if len(c.Differences) == 0 {
			ew.printf("  the same answers to %s\n", allOf(len(c.Queries), "query"))
		}
		for _, d := range c.Differences {
			ew.printf("  %s %s: %s says %s; %s says %s", clean(d.Name), d.QType, d.Primary.Resolver, sideWords(d.Primary), d.Compare.Resolver, sideWords(d.Compare))
			if len(d.Fields) == 1 && d.Fields[0] == "addresses" {
				ew.printf(" (other addresses, same path: public S3 names rotate their addresses)")
			}
			ew.printf("\n")
		}
	}
	if len(r.Warnings) > 0 {
		ew.printf("\nWarnings:\n")
		for _, w := range r.Warnings {
			ew.printf("  - %s\n", clean(w))
		}
	}
	return ew.err
}

func writeQuery(ew *errWriter, q Query) {
	via := q.Resolver
	if via == "" {
		via = "no resolver"
	}
	how := fmt.Sprintf("from %s over %s, %.1f ms", via, q.Transport, q.RTTMillis)
	if q.Truncated {
		how += ", truncated over UDP so asked again over TCP"
	}
	if q.FollowUps > 0 {
		how += fmt.Sprintf(", %d follow-up queries", q.FollowUps)
		how = strings.Replace(how, " 1 follow-up queries", " 1 follow-up query", 1)
	}
	switch q.Status {
	case "answer":
		ew.printf("  %-4s  NOERROR %s\n", q.QType, how)
	case "nodata":
		ew.printf("  %-4s  NOERROR, no %s record (NODATA) %s\n", q.QType, q.QType, how)
	case "nxdomain":
		ew.printf("  %-4s  NXDOMAIN: the name does not exist (%s)\n", q.QType, how)
	case "servfail":
		ew.printf("  %-4s  SERVFAIL from %s: the resolver could not resolve the name\n", q.QType, via)
	case "refused":
		ew.printf("  %-4s  REFUSED from %s: the resolver will not answer this client or this name\n", q.QType, via)
	case "timeout":
		ew.printf("  %-4s  NO REPLY: %s\n", q.QType, clean(*q.Error))
	default:
		msg := "no detail"
		if q.Error != nil {
			msg = clean(*q.Error)
		}
		ew.printf("  %-4s  ERROR: %s\n", q.QType, msg)
	}
	if len(q.Chain) > 1 {
		parts := make([]string, len(q.Chain))
		for i, n := range q.Chain {
			parts[i] = clean(n)
		}
		ew.printf("        chain: %s\n", strings.Join(parts, " -> "))
	}
	if len(q.Addresses) == 0 {
		return
	}
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	for _, a := range q.Addresses {
		fmt.Fprintf(tw, "        %s\tttl %d\t%s\t%s\t%s\n", a.Addr, a.TTL, a.Path, a.PathEvidence, addrWords(a))
	}
	tw.Flush()
}

func addrWords(a QueryAddress) string {
	var w []string
	if a.EndpointID != "" {
		w = append(w, a.EndpointID)
	}
	if a.Route != "" {
		w = append(w, "route "+a.Route)
	}
	if a.AWS != nil {
		w = append(w, awsWords(a.AWS))
	}
	if len(w) == 0 {
		return "-"
	}
	return strings.Join(w, ", ")
}

func sideWords(s Side) string {
	if s.Status != "answer" {
		return statusWord(s.Status)
	}
	return fmt.Sprintf("%s (%s)", strings.Join(s.Addresses, " "), strings.Join(s.Paths, ", "))
}
