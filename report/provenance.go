package report

import (
	"time"

	"github.com/vpce-verify/vpce-verify/capture"
)

// Provenance says where a report comes from, so that an auditor can tell
// what made it and run it again: the program (version, revision), the
// command line, the host, the capture window, the settings the verdict
// rests on, and the SHA-256 of every file read.
type Provenance struct {
	Tool        Build    `json:"tool"`
	CommandLine []string `json:"command_line"`
	Host        Host     `json:"host"`
	// Window is the capture window: the first and the last packet of all
	// inputs; null when no packet was read.
	Window *Window `json:"capture_window"`
	Policy string  `json:"policy"`
	// EndpointIPs and VPCCIDRs are --endpoint-ip and --vpc-cidr as given.
	EndpointIPs []string `json:"endpoint_ips"`
	VPCCIDRs    []string `json:"vpc_cidrs"`
	// Analysis holds the settings of the analysis that can change what a
	// capture says: the ports read as DNS, the idle timeout, the table
	// bound.
	Analysis Analysis `json:"analysis"`
	// Files lists every file read, with the hash of its bytes: the
	// captures, the ip-ranges.json in use and each --endpoints file.
	Files []File `json:"files"`
}

// Build identifies the program: its version, and the commit it was built
// from when the build recorded one (go build in a git checkout does).
type Build struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	GoVersion string `json:"go_version"`
	// Revision, Time and Modified are vcs.revision, vcs.time and
	// vcs.modified of the build information; "" and null when not known.
	Revision string `json:"vcs_revision"`
	Time     string `json:"vcs_time"`
	Modified *bool  `json:"vcs_modified"`
}

// Host is the machine the report was made on.
type Host struct {
	Hostname string `json:"hostname"`
	OS       string `json:"os"`
	// EC2 is what the instance metadata service said; null when it was
	// not asked or did not answer (IMDS says why).
	EC2 *EC2 `json:"ec2"`
	// IMDS says how asking the metadata service went: "answered", "not
	// asked (--no-imds)", or what failed.
	IMDS string `json:"imds"`
}

// EC2 identifies the EC2 instance a report was made on.
type EC2 struct {
	InstanceID       string `json:"instance_id"`
	AccountID        string `json:"account_id"`
	Region           string `json:"region"`
	AvailabilityZone string `json:"availability_zone"`
	VPCID            string `json:"vpc_id"`
	SubnetID         string `json:"subnet_id"`
}

// Window is when the packets were captured.
type Window struct {
	First    string  `json:"first_packet"`
	Last     string  `json:"last_packet"`
	Duration float64 `json:"duration_s"`
}

// Analysis holds the analysis settings that a re-analysis must use.
type Analysis struct {
	DNSPorts       []uint16 `json:"dns_ports"`
	IdleTimeout    string   `json:"idle_timeout"`
	MaxConnections int      `json:"max_connections"`
}

// File is one file the report rests on.
type File struct {
	// Role is "capture", "ip-ranges" or "endpoints".
	Role   string `json:"role"`
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// Roles of File.
const (
	RoleCapture   = "capture"
	RoleIPRanges  = "ip-ranges"
	RoleEndpoints = "endpoints"
)

// provenance completes the command's provenance with what only the end of
// the analysis knows: the capture window and the captures' hashes.
func (b *Builder) provenance(in *Provenance, inputs []capture.Input) *Provenance {
	if in == nil {
		return nil
	}
	p := *in
	p.Policy = b.cfg.Policy
	for _, l := range []*[]string{&p.CommandLine, &p.EndpointIPs, &p.VPCCIDRs} {
		if *l == nil {
			*l = []string{}
		}
	}
	if p.Analysis.DNSPorts == nil {
		p.Analysis.DNSPorts = []uint16{}
	}
	var first, last time.Time
	files := []File{}
	for _, i := range inputs {
		if !i.First.IsZero() && (first.IsZero() || i.First.Before(first)) {
			first = i.First
		}
		if i.Last.After(last) {
			last = i.Last
		}
		if i.Format != "live" {
			files = append(files, File{Role: RoleCapture, Name: i.Name, SHA256: i.SHA256, Size: i.Size})
		}
	}
	if !first.IsZero() {
		p.Window = &Window{First: ts(first), Last: ts(last), Duration: last.Sub(first).Seconds()}
	}
	if r := b.cfg.Ranges; r != nil {
		files = append(files, File{Role: RoleIPRanges, Name: r.Source, SHA256: r.SHA256, Size: int64(len(r.Bytes()))})
	}
	p.Files = append(files, in.Files...)
	return &p
}
