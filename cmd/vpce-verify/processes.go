package main

import (
	"net/netip"
	"slices"
	"time"

	"github.com/spf13/pflag"

	"github.com/vpce-verify/vpce-verify/capture/afpacket"
	"github.com/vpce-verify/vpce-verify/capture/flow"
	"github.com/vpce-verify/vpce-verify/capture/sockowner"
	"github.com/vpce-verify/vpce-verify/report"
)

// processFlags are the process attribution of a live capture: which
// process owned each connection with an end on this host.
type processFlags struct {
	on     bool
	owners *sockowner.Tracker
	syns   *afpacket.SYNWatch
	state  string // what the report says of it (Capture.ProcessAttribution)
}

func (p *processFlags) register(fs *pflag.FlagSet) {
	fs.BoolVar(&p.on, "processes", true, "name the process, user and systemd unit or container that owns each connection\nwith an end on this host (socket diagnostics and /proc; --processes=false: off)")
}

// start opens the socket diagnostics, before privileges are dropped. A
// host without them still captures; the report says why there are no
// processes.
func (p *processFlags) start(e *env, opts afpacket.Options) {
	if !p.on {
		p.state = "off (--processes=false)"
		return
	}
	t, err := sockowner.New(sockowner.Options{Delay: e.lookupDelay})
	if err != nil {
		p.state = "not available: " + err.Error()
		e.warnf("%v: connections will not name their processes", err)
		return
	}
	p.owners, p.state = t, "socket diagnostics and /proc"
	// The SYNs as they come, for the connections over before the capture's
	// ring hands their packets over (BlockTimeout).
	// Only those the capture keeps: the ports of its filter (all of them
	// for a --bpf-file program).
	var ports []uint16
	if len(opts.Program) == 0 {
		ports = append(slices.Clone(opts.Filter.TCPPorts), 53)
		ports = append(ports, opts.Filter.DNSPorts...)
	}
	p.syns, err = afpacket.WatchSYNs(opts.Interfaces, ports, func(src, dst netip.AddrPort) { t.Observe(src, dst, time.Now()) })
	if err != nil {
		e.warnf("process attribution: %v: connections shorter than %v may show as closed before lookup", err, afpacket.BlockTimeout)
	}
}

// attribute has the analysis ask for each connection's owner as it
// begins, and the report join the answers.
func (p *processFlags) attribute(cfg *report.Config, opts *flow.Options) {
	if p.owners == nil {
		return
	}
	t := p.owners
	cfg.Owners = t
	opts.OnStart = func(f *flow.Flow) {
		if f.Tunnel == nil { // a mirrored packet's ends are other hosts'
			t.Observe(f.Client, f.Server, f.FirstTS)
		}
	}
}

// finish waits for the lookups still queued once the capture stopped,
// before the analysis finishes the connections.
func (p *processFlags) finish() {
	if p.syns != nil {
		p.syns.Close()
	}
	if p.owners != nil {
		p.owners.Close()
	}
}
