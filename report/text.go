package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"
)

// WriteText writes the report for people: the verdict and its reason first,
// then the S3 connections, the DNS answers for S3 names, the inputs and the
// warnings. Everything else is in the JSON.
func (r *Report) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	ew.printf("%s: %s\n", verdictWord(r.Verdict, r.PartialVerdict), r.Reason)

	var s3, other []Flow
	for _, f := range r.Flows {
		if f.S3 {
			s3 = append(s3, f)
		} else {
			other = append(other, f)
		}
	}
	if len(s3) > 0 {
		ew.printf("\nS3 connections (%d):\n", len(s3))
		tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  CLIENT\tSERVER\tSTATE\tBYTES\tPATH\tWHY\tNAME\tAWS")
		for _, f := range s3 {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.Client, f.Server, f.ConnState,
				byteCount(f.Bytes[0]+f.Bytes[1]), f.Path, f.PathEvidence, flowName(f), awsWords(f.AWS))
		}
		tw.Flush()
	}
	var s3dns []DNS
	for _, d := range r.DNS {
		if d.S3 {
			s3dns = append(s3dns, d)
		}
	}
	if len(s3dns) > 0 {
		ew.printf("\nDNS answers for S3 names (%d):\n", len(s3dns))
		for _, d := range s3dns {
			ew.printf("  %s %s %s %s via %s/%s: %s\n", d.TS, clean(d.QName), d.QType, rcode(d), d.Server, d.Transport, answerWords(d))
		}
	}
	if len(other) > 0 {
		ew.printf("\nOther TCP connections: %d (not S3; --format json lists them)\n", len(other))
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
		if in.Error != nil {
			state = "INCOMPLETE"
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
		if c.Written != "" {
			ew.printf("  packets written to %s, sha256 %s\n", c.Written, c.WrittenSHA256)
		}
	}
	ew.printf("  ip-ranges.json: %s, created %s, syncToken %s\n", r.IPRanges.Source, r.IPRanges.CreateDate, r.IPRanges.SyncToken)
	for _, e := range r.Endpoints {
		ew.printf("  endpoint %s (%s): %s\n", e.ID, e.Service, e.Meaning)
	}
	if len(r.Warnings) > 0 {
		ew.printf("\nWarnings:\n")
		for _, w := range r.Warnings {
			ew.printf("  - %s\n", clean(w))
		}
	}
	return ew.err
}

func flowName(f Flow) string {
	name := "-"
	switch {
	case f.SNI != "":
		name = clean(f.SNI) + " (sni)"
	case len(f.DNSNames) > 0:
		name = clean(f.DNSNames[0]) + " (dns)"
	}
	if f.Probe {
		name += " [probe]"
	}
	return name
}

func httpWords(c ProbeConn) string {
	if c.HTTPStatus == "" {
		return ""
	}
	return ", HEAD / answered " + c.HTTPStatus
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

func packets(n uint64) string {
	if n == 1 {
		return "1 packet"
	}
	return fmt.Sprintf("%d packets", n)
}

// verdictWord is how a verdict opens a text report: PASS, FAIL, ... and,
// when an input failed, what the part that was read says.
func verdictWord(verdict, partial string) string {
	v := strings.ToUpper(verdict)
	if partial != "" {
		v += " (partial result: " + strings.ToUpper(partial) + ")"
	}
	return v
}
