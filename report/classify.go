package report

import (
	"fmt"
	"io"
	"net/netip"
	"strings"
	"text/tabwriter"

	"github.com/vpce-verify/vpce-verify/resolve"
)

// Classified is one address given to `vpce-verify classify` and what it
// is, in the words of the analyze report.
type Classified struct {
	Addr         string `json:"addr"`
	Path         string `json:"path,omitempty"`
	PathEvidence string `json:"path_evidence,omitempty"`
	EndpointID   string `json:"endpoint_id,omitempty"`
	Route        string `json:"route,omitempty"`
	AWS          *AWS   `json:"aws"`
	// Error says why the item could not be classified; the others still
	// are.
	Error string `json:"error,omitempty"`
}

// Classification is the result of `vpce-verify classify`; its JSON is a
// list of Classified, in the order given.
type Classification []Classified

// ClassifyAddr classifies one address as the user wrote it: an IPv4 or
// IPv6 address, or one with a port (10.0.2.50:443, [fd00::1]:443), as
// flow logs and ss print them.
func ClassifyAddr(c *resolve.Classifier, s string) Classified {
	out := Classified{Addr: s}
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, perr := netip.ParseAddrPort(s)
		if perr != nil {
			out.Error = fmt.Sprintf("%s: not an IP address (like 10.0.2.50, fd00:ec2::253 or 10.0.2.50:443)", clean(fmt.Sprintf("%q", s)))
			return out
		}
		a = ap.Addr()
	}
	cl := c.Classify(a)
	out.Path, out.PathEvidence, out.EndpointID, out.Route, out.AWS = string(cl.Path), cl.Basis, cl.Endpoint, cl.Route, aws(cl)
	return out
}

// WriteJSON writes the list as indented JSON.
func (c Classification) WriteJSON(w io.Writer) error {
	if c == nil {
		c = Classification{}
	}
	return writeJSON(w, c)
}

// WriteText writes one line per address: the address, its path, why, and
// what ip-ranges.json says of it.
func (c Classification) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ADDRESS\tPATH\tWHY\tDETAIL")
	for _, x := range c {
		if x.Error != "" {
			fmt.Fprintf(tw, "%s\terror\t-\t%s\n", clean(x.Addr), x.Error)
			continue
		}
		d := addrWords(QueryAddress{EndpointID: x.EndpointID, Route: x.Route, AWS: x.AWS})
		if x.AWS != nil && x.AWS.NetworkBorderGroup != "" && x.AWS.NetworkBorderGroup != x.AWS.Region {
			d += " (border group " + x.AWS.NetworkBorderGroup + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", x.Addr, x.Path, x.PathEvidence, strings.TrimSpace(d))
	}
	tw.Flush()
	return ew.err
}
