package report

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/vpce-verify/vpce-verify/capture/sockowner"
)

// textFlowsShown is how many S3 connections the text report lists one by
// one without --flows; beyond it the destinations table says enough.
const textFlowsShown = 20

// WriteText writes the report for people: the verdict and its reason first,
// then where S3 connections went, the violations, the DNS answers for S3
// names, the inputs and the warnings. It fits on a screen whatever the
// number of connections; the S3 connections are listed one by one when
// there are few. Everything else is in the JSON.
func (r *Report) WriteText(w io.Writer) error { return r.writeText(w, false) }

// WriteTextFlows is WriteText with every listed S3 connection (--flows).
func (r *Report) WriteTextFlows(w io.Writer) error { return r.writeText(w, true) }

func (r *Report) writeText(out io.Writer, allFlows bool) error {
	bw := bufio.NewWriterSize(out, 64<<10)
	ew := &errWriter{w: bw}
	ew.printf("%s: %s\n", verdictWord(r.Verdict, r.PartialVerdict), clean(r.Reason))

	var s3 []Flow
	other := r.Summary.Flows - r.Summary.S3Flows
	for _, f := range r.Flows {
		if f.S3 {
			s3 = append(s3, f)
		}
	}
	if len(s3) > 0 && (allFlows || r.Summary.S3Flows <= textFlowsShown) {
		ew.printf("\nS3 connections (%d):\n", r.Summary.S3Flows)
		tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
		procs := slices.ContainsFunc(s3, func(f Flow) bool { return f.Process != nil })
		head := "  CLIENT\tSERVER\tSTATE\tBYTES\tPATH\tWHY\tNAME\tAWS"
		if procs {
			head += "\tPROCESS"
		}
		fmt.Fprintln(tw, head)
		for _, f := range s3 {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", f.Client, f.Server, f.ConnState,
				byteCount(f.Bytes[0]+f.Bytes[1]), f.Path, f.PathEvidence, flowName(f), awsWords(f.AWS))
			if procs {
				fmt.Fprintf(tw, "\t%s", processWords(f.Process))
			}
			fmt.Fprintln(tw)
		}
		tw.Flush()
		if n := r.Summary.S3Flows - len(s3); n > 0 {
			ew.printf("  and %d more (the JSON report's flows cap; --conn-log keeps every connection)\n", n)
		}
	} else if len(r.Destinations) > 0 {
		ew.printf("\nS3 destinations (%s; --flows lists them one by one):\n", countNoun(r.Summary.S3Flows, "connection"))
		tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  SERVER\tPATH\tWHY\tCONNS\tESTAB\tBYTES\tNAMES\tAWS")
		for i, d := range r.Destinations {
			if i == textFlowsShown && !allFlows {
				fmt.Fprintf(tw, "  and %s (--format json lists %d)\t\t\t\t\t\t\t\n", countNoun(len(r.Destinations)-i, "more destination"), len(r.Destinations))
				break
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\n", d.Server, d.Path, d.PathEvidence, d.Connections, d.Established,
				byteCount(d.Bytes[0]+d.Bytes[1]), destNames(d), awsWords(d.AWS))
		}
		tw.Flush()
		if r.DestinationsOmitted > 0 {
			ew.printf("  and %s\n", countNoun(r.DestinationsOmitted, "more S3 connection to other destinations"))
		}
	}
	if n := len(r.Violations) + r.ViolationsOmitted; n > 0 && !(len(s3) > 0 && (allFlows || r.Summary.S3Flows <= textFlowsShown)) {
		ew.printf("\nViolations (%s on a public path):\n", countNoun(n, "established S3 connection"))
		for i, f := range r.Violations {
			if i == textFlowsShown && !allFlows {
				ew.printf("  and %d more (--format json lists %d)\n", n-i, len(r.Violations))
				break
			}
			by := ""
			if f.Process != nil {
				by = " " + owner(f.Process).By()
			}
			ew.printf("  %s %s -> %s %s %s %s %s%s\n", f.FirstTS, f.Client, f.Server, f.ConnState, byteCount(f.Bytes[0]+f.Bytes[1]), flowName(f), awsWords(f.AWS), by)
		}
	}
	if groups := dnsGroups(r.DNS); len(groups) > 0 {
		total := 0
		for _, d := range r.DNS {
			if d.S3 {
				total++
			}
		}
		ew.printf("\nDNS answers for S3 names (%d):\n", total)
		for i, g := range groups {
			if i == textFlowsShown && !allFlows {
				ew.printf("  and %s (--format json lists them)\n", countNoun(len(groups)-i, "more distinct answer"))
				break
			}
			d := g.first
			times := ""
			if g.n > 1 {
				times = fmt.Sprintf(" (%d times, last %s)", g.n, g.last)
			}
			ew.printf("  %s %s %s %s via %s/%s: %s%s\n", d.TS, clean(d.QName), d.QType, rcode(d), d.Server, d.Transport, answerWords(d), times)
		}
	}
	if other > 0 {
		ew.printf("\nOther TCP connections: %d (not S3; --format json lists them)\n", other)
	}
	if p := r.Probe; p != nil {
		ew.printf("\nProbe: %s resolved by %s (%s)", clean(p.Name), p.Resolver, p.ResolverSource)
		if len(p.Chain) > 1 {
			ew.printf(" through %s", clean(strings.Join(p.Chain[1:], " -> ")))
		}
		ew.printf("\n")
		for _, a := range p.Answers {
			ew.printf("  %s %s ttl %d\n", a.Type, a.Addr, a.TTL)
		}
		for _, c := range p.Connections {
			switch {
			case c.Error != "":
				ew.printf("  TLS to %s: %s\n", c.Server, c.Error)
			case c.CertificateVerified:
				ew.printf("  TLS to %s from %s: %s, certificate verified (%s, issued by %s)%s\n", c.Server, c.Client, c.TLSVersion, clean(c.CertificateSubject), clean(c.CertificateIssuer), httpWords(c))
			default:
				ew.printf("  TLS to %s from %s: %s, certificate NOT verified: %s%s\n", c.Server, c.Client, c.TLSVersion, clean(c.CertificateError), httpWords(c))
			}
		}
	}
	ew.printf("\nInputs:\n")
	for _, in := range r.Inputs {
		state := "complete"
		switch {
		case in.Error != nil:
			state = "INCOMPLETE"
		case in.Interrupted:
			state = "INTERRUPTED (not read to its end)"
		}
		if in.Format == "live" {
			drops := uint64(0)
			if in.Drops != nil {
				drops = *in.Drops
			}
			ew.printf("  %s: live capture, %s, %s, %d dropped by the kernel, %s\n", in.Name, strings.Join(in.LinkTypes, "+"), packets(in.Packets), drops, state)
			continue
		}
		if in.Format == "" {
			ew.printf("  %s: not read as a capture (%d bytes), %s\n", in.Name, in.Size, state)
			continue
		}
		sum := in.SHA256
		if sum == "" {
			sum = "unknown (the file could not be read to its end)"
		}
		ew.printf("  %s: %s, %s, %s, sha256 %s, %s\n", in.Name, in.Format, strings.Join(in.LinkTypes, "+"), packets(in.Packets), sum, state)
	}
	if c := r.Capture; c != nil {
		ew.printf("  live on %s, filter %q, snaplen %d, %s to %s (%s)\n", strings.Join(c.Interfaces, ","), c.Filter, c.SnapLen, c.Started, c.Stopped, c.StopReason)
		if c.ProcessAttribution != "" {
			ew.printf("  processes: %s\n", c.ProcessAttribution)
		}
		writtenText(ew, c)
	}
	ew.printf("  ip-ranges.json: %s, created %s, syncToken %s\n", r.IPRanges.Source, r.IPRanges.CreateDate, r.IPRanges.SyncToken)
	for _, e := range r.Endpoints {
		ew.printf("  endpoint %s (%s): %s\n", e.ID, e.Service, e.Meaning)
	}
	if p := r.Provenance; p != nil {
		writeProvenance(ew, p)
	}
	if b := r.Bundle; b != nil {
		ew.printf("\nEvidence bundle: evidence.pcapng holds %s packets of %d S3 connections (%s)", b.Packets, b.Connections, packets(b.PacketsWritten))
		if b.ConnectionsOmitted > 0 {
			ew.printf(", %d more not kept", b.ConnectionsOmitted)
		}
		ew.printf("; analysed again they give %s\n", strings.ToUpper(b.Reanalysis))
		if b.ReanalysisNote != "" {
			ew.printf("  %s\n", clean(b.ReanalysisNote))
		}
	}
	if len(r.Anomalies) > 0 {
		ew.printf("\nAnomalies (what the analysis could not take in whole):\n")
		for _, a := range r.Anomalies {
			mark := ""
			if a.Blocking {
				mark = "  (could hide a connection or a DNS answer)"
			}
			ew.printf("  %-28s %8d  first at packet %d, %s%s\n", a.Name, a.Count, a.FirstPacket, a.FirstTS, mark)
		}
	}
	if len(r.Warnings) > 0 {
		ew.printf("\nWarnings:\n")
		for _, w := range r.Warnings {
			ew.printf("  - %s\n", clean(w))
		}
	}
	if ew.err == nil {
		ew.err = bw.Flush()
	}
	return ew.err
}

// dnsGroup is one distinct DNS question and answer, with how often it was
// seen: an SDK that resolves the same name for every request makes one
// line, not thousands.
type dnsGroup struct {
	first DNS
	n     int
	last  string
}

func dnsGroups(list []DNS) []*dnsGroup {
	var out []*dnsGroup
	index := map[string]*dnsGroup{}
	for _, d := range list {
		if !d.S3 {
			continue
		}
		key := strings.ToLower(d.QName) + "\x00" + d.QType + "\x00" + d.RCode + "\x00" + d.Server + "\x00" + answerWords(d)
		g := index[key]
		if g == nil {
			g = &dnsGroup{first: d}
			index[key] = g
			out = append(out, g)
		}
		g.n++
		g.last = d.TS
	}
	return out
}

func destNames(d Destination) string {
	if len(d.S3Names) == 0 {
		return "-"
	}
	s := clean(strings.Join(d.S3Names, ", "))
	if d.S3NamesOmitted > 0 {
		s += fmt.Sprintf(" and %d more", d.S3NamesOmitted)
	}
	return s
}

func flowName(f Flow) string {
	name := "-"
	switch {
	case f.HTTP != nil && f.HTTP.ProxyTarget != "":
		name = clean(f.HTTP.ProxyTarget) + " (proxy target)"
	case f.SNI != "":
		name = clean(f.SNI) + " (sni)"
	case f.HTTP != nil && f.HTTP.Host != "":
		name = clean(f.HTTP.Host) + " (host)"
	case len(f.DNSNames) > 0:
		name = clean(f.DNSNames[0]) + " (dns)"
	}
	if f.S3 && len(f.S3Evidence) == 1 && f.S3Evidence[0] == "aws-range" && name == "-" {
		name = "(S3 by address only)"
	}
	if f.Probe {
		name += " [probe]"
	}
	return name
}

func httpWords(c ProbeConn) string {
	s := ""
	if c.CertificateSHA256 != "" {
		s = ", certificate sha256 " + c.CertificateSHA256
	}
	if c.HTTPStatus == "" {
		return s
	}
	s += ", HEAD / answered " + clean(c.HTTPStatus)
	if c.AmzRequestID != "" {
		s += ", x-amz-request-id " + clean(c.AmzRequestID)
	}
	if c.AmzID2 != "" {
		s += ", x-amz-id-2 " + clean(c.AmzID2)
	}
	return s
}

func awsWords(a *AWS) string {
	if a == nil {
		return "-"
	}
	return fmt.Sprintf("%s %s %s", strings.Join(a.Services, "+"), a.Region, a.Prefix)
}

func rcode(d DNS) string {
	if d.RCode == "" {
		return "(no response)"
	}
	return d.RCode
}

func answerWords(d DNS) string {
	var parts []string
	for _, a := range d.Answers {
		s := fmt.Sprintf("%s %s", a.Type, clean(a.Data))
		if a.Path != "" {
			s += " (" + a.Path + ")"
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "no answer"
	}
	return strings.Join(parts, ", ")
}

// clean makes names from the wire safe to print: SNI and DNS names are
// attacker-controlled bytes.
func clean(s string) string {
	for _, r := range s {
		if !unicode.IsPrint(r) || r == unicode.ReplacementChar {
			q := strconv.QuoteToASCII(s)
			return q[1 : len(q)-1]
		}
	}
	return s
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

func (e *errWriter) printf(format string, args ...any) {
	fmt.Fprintf(e, format, args...)
}

// writtenText lists the files -w wrote: one line for one file, else a
// line per file under the -w name.
func writtenText(ew *errWriter, c *Capture) {
	what := func(f WrittenFile) string {
		s := f.Format
		if f.Gzip {
			s += ", gzip"
		}
		sum := f.SHA256
		if f.Error != nil {
			sum = "unknown (" + *f.Error + ")"
		}
		return fmt.Sprintf("%s, %s, %d bytes, sha256 %s", s, packets(f.Packets), f.Size, sum)
	}
	switch {
	case c.Written == "":
	case len(c.Files) == 1 && c.FilesOverwritten+c.FilesNotListed == 0:
		ew.printf("  packets written to %s: %s\n", c.Files[0].Name, what(c.Files[0]))
	default:
		ew.printf("  packets written to %d files (-w %s):\n", len(c.Files), c.Written)
		for _, f := range c.Files {
			ew.printf("    %s: %s\n", f.Name, what(f))
		}
		if c.FilesOverwritten > 0 {
			ew.printf("    and %d written over by later files of the same name\n", c.FilesOverwritten)
		}
		if c.FilesNotListed > 0 {
			ew.printf("    and %d earlier, not listed\n", c.FilesNotListed)
		}
	}
}

func packets(n uint64) string { return countNoun(n, "packet") }

// verdictWord is how a verdict opens a text report: PASS, FAIL, ... and,
// when an input failed, what the part that was read says.
func verdictWord(verdict, partial string) string {
	v := strings.ToUpper(verdict)
	if partial != "" {
		v += " (partial result: " + strings.ToUpper(partial) + ")"
	}
	return v
}

// processWords says who owned a connection, as the reason does: "pid
// 4242 (java, unit app.service)".
func processWords(p *Process) string {
	if p == nil {
		return "-"
	}
	return owner(p).Words()
}

func owner(p *Process) sockowner.Owner {
	o := sockowner.Owner{Status: sockowner.Status(p.Status), PID: p.PID, Comm: p.Comm, User: p.User, Unit: p.Unit,
		Container: p.Container, Err: p.Error, UID: -1}
	if p.UID != nil {
		o.UID = *p.UID
	}
	return o
}

func writeProvenance(ew *errWriter, p *Provenance) {
	ew.printf("\nProvenance:\n")
	t := p.Tool
	build := []string{t.GoVersion}
	if t.Revision != "" {
		build = append(build, "revision "+t.Revision)
	}
	if t.Time != "" {
		build = append(build, t.Time)
	}
	if t.Modified != nil && *t.Modified {
		build = append(build, "modified")
	}
	ew.printf("  %s %s (%s)\n", t.Name, t.Version, strings.Join(build, ", "))
	ew.printf("  command: %s\n", ShellQuote(p.CommandLine))
	ew.printf("  host: %s (%s)", clean(p.Host.Hostname), p.Host.OS)
	if e := p.Host.EC2; e != nil {
		ew.printf("; EC2 instance %s, account %s, %s, %s, %s", e.InstanceID, e.AccountID, e.AvailabilityZone, e.VPCID, e.SubnetID)
	} else if p.Host.IMDS != "" {
		ew.printf("; EC2 metadata: %s", clean(p.Host.IMDS))
	}
	ew.printf("\n")
	if w := p.Window; w != nil {
		ew.printf("  capture window: %s to %s (%.3f s)\n", w.First, w.Last, w.Duration)
	} else {
		ew.printf("  capture window: no packet\n")
	}
	ew.printf("  policy: %s", p.Policy)
	if len(p.EndpointIPs) > 0 {
		ew.printf("; --endpoint-ip %s", strings.Join(p.EndpointIPs, " "))
	}
	if len(p.VPCCIDRs) > 0 {
		ew.printf("; --vpc-cidr %s", strings.Join(p.VPCCIDRs, " "))
	}
	ew.printf("\n")
	for _, f := range p.Files {
		if f.Role == RoleCapture {
			continue // listed with the inputs
		}
		sum := f.SHA256
		if sum == "" {
			sum = "unknown"
		}
		ew.printf("  %s %s: sha256 %s\n", f.Role, clean(f.Name), sum)
	}
}

// ShellQuote writes a command line as a POSIX shell would read it back:
// words with characters the shell treats specially are single-quoted.
func ShellQuote(args []string) string {
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=,+@%") == "" {
			b.WriteString(a)
			continue
		}
		b.WriteString("'" + strings.ReplaceAll(clean(a), "'", `'\''`) + "'")
	}
	return b.String()
}
