package main

import (
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"

	"github.com/spf13/pflag"

	"github.com/vpce-verify/vpce-verify/internal/host"
	"github.com/vpce-verify/vpce-verify/report"
)

// provenanceFlags choose how the report learns which EC2 instance it was
// made on. capture and verify ask the instance metadata service unless
// told not to (--no-imds): they run on the host they judge. analyze asks
// only when told to (--imds): the machine that reads the files is seldom
// the one that captured them, and off EC2 the question would only send a
// packet to 169.254.169.254 and wait for nothing.
type provenanceFlags struct {
	offline  bool // analyze: ask only with --imds or --imds-endpoint
	ask      bool
	unasked  bool // offline, and neither was given
	noIMDS   bool
	endpoint string

	done chan struct{} // closed once the metadata service answered or gave up
	ec2  *host.EC2
	err  error
}

// register adds the flags of a live command (capture, verify).
func (p *provenanceFlags) register(fs *pflag.FlagSet) {
	fs.BoolVar(&p.noIMDS, "no-imds", false, "do not ask the EC2 instance metadata service (IMDSv2) which instance, account,\nVPC and subnet this host is, for the report's provenance")
	fs.StringVar(&p.endpoint, "imds-endpoint", "", "ask the instance metadata service at this URL (default "+host.IMDSEndpoint+")")
}

// registerOffline adds the flags of analyze, which reads files.
func (p *provenanceFlags) registerOffline(fs *pflag.FlagSet) {
	p.offline = true
	fs.BoolVar(&p.ask, "imds", false, "ask the EC2 instance metadata service (IMDSv2) which instance, account, VPC and\nsubnet this host is, for the report's provenance (when the files were captured here)")
	fs.StringVar(&p.endpoint, "imds-endpoint", "", "ask the instance metadata service at this URL (implies --imds)")
}

// start asks the metadata service in the background, while the command
// works: it is given at most host.IMDSTimeout, and finish waits for it.
func (p *provenanceFlags) start(e *env) {
	p.done = make(chan struct{})
	endpoint := p.endpoint
	if endpoint == "" {
		endpoint = e.imds
	}
	if p.offline && !p.ask && p.endpoint == "" {
		p.noIMDS, p.unasked = true, true
	}
	if p.noIMDS || endpoint == "" {
		close(p.done)
		return
	}
	go func() {
		defer close(p.done)
		p.ec2, p.err = host.EC2Identity(context.WithoutCancel(e.ctx), endpoint, host.IMDSTimeout)
	}()
}

// provenance is the report's provenance as the command knows it: the
// report adds the capture window and the captures' hashes.
func (p *provenanceFlags) provenance(e *env, cl *classification, af *analysisFlags, dnsPorts []uint16) *report.Provenance {
	<-p.done
	hostname, _ := os.Hostname()
	pr := &report.Provenance{
		Tool:        buildInfo(),
		CommandLine: append([]string{"vpce-verify"}, e.args...),
		Host:        report.Host{Hostname: hostname, OS: host.OS()},
		EndpointIPs: cl.endpointIPsGiven,
		VPCCIDRs:    cl.vpcCIDRsGiven,
		Analysis: report.Analysis{DNSPorts: dnsPorts, IdleTimeout: af.idleTimeout.String(),
			MaxConnections: af.maxConns},
		Files: cl.files,
	}
	switch {
	case p.ec2 != nil:
		c := p.ec2
		pr.Host.EC2 = &report.EC2{InstanceID: c.InstanceID, AccountID: c.AccountID, Region: c.Region,
			AvailabilityZone: c.AvailabilityZone, VPCID: c.VPCID, SubnetID: c.SubnetID}
		pr.Host.IMDS = "answered"
		if p.err != nil {
			pr.Host.IMDS = "answered in part: " + p.err.Error()
		}
	case p.err != nil:
		pr.Host.IMDS = p.err.Error()
	default:
		pr.Host.IMDS = "not asked (--no-imds, or AWS_EC2_METADATA_DISABLED)"
		if p.unasked {
			pr.Host.IMDS = "not asked (analyze asks with --imds)"
		}
	}
	return pr
}

// buildInfo names the program and the commit it was built from, as the
// Go toolchain recorded them.
func buildInfo() report.Build {
	b := report.Build{Name: "vpce-verify", Version: toolVersion(), GoVersion: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			if m, err := strconv.ParseBool(s.Value); err == nil {
				b.Modified = &m
			}
		}
	}
	return b
}

// dnsPortList is the ports the analysis reads as DNS: 53 when none was
// given, as the analysis does.
func dnsPortList(ports []uint16) []uint16 {
	if len(ports) == 0 {
		return []uint16{53}
	}
	return ports
}
