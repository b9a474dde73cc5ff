package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"time"

	"github.com/vpce-verify/vpce-verify/capture/afpacket"
	"github.com/vpce-verify/vpce-verify/capture/bpf"
	"github.com/vpce-verify/vpce-verify/capture/flow"
	"github.com/vpce-verify/vpce-verify/capture/pcapfile"
	"github.com/vpce-verify/vpce-verify/internal/host"

	"github.com/spf13/pflag"

	"github.com/vpce-verify/vpce-verify/capture"
	"github.com/vpce-verify/vpce-verify/report"
)

// liveFlags are the flags of the commands that capture live: capture and
// verify.
type liveFlags struct {
	ifaces   []string
	ports    []uint
	dnsPorts []uint
	vxlan    bool
	geneve   bool
	bpfFile  string
	snapLen  int
	bufferKB int
	promisc  bool
	count    uint64
	duration time.Duration
	write    string
	user     string
	procs    processFlags
}

func (l *liveFlags) register(fs *pflag.FlagSet) {
	fs.StringArrayVarP(&l.ifaces, "interface", "i", nil, "interface to capture on (repeatable); any = every interface that is up;\ndefault: those that route to the --endpoint-ip addresses, else the default route's")
	fs.UintSliceVar(&l.ports, "port", nil, "another TCP port the kernel filter keeps, besides 80 and 443 (repeatable)")
	fs.UintSliceVar(&l.dnsPorts, "dns-port", nil, "another port whose payload is DNS, besides 53: the kernel filter keeps it (UDP and TCP)\nand the analysis reads it (repeatable)")
	// pflag would print "(default [])" for an empty list of uints.
	fs.Lookup("port").DefValue, fs.Lookup("dns-port").DefValue = "", ""
	fs.BoolVar(&l.vxlan, "vxlan", false, "also keep VXLAN (UDP 4789): on a Traffic Mirroring target")
	fs.BoolVar(&l.geneve, "geneve", false, "also keep Geneve (UDP 6081): behind a Gateway Load Balancer")
	fs.StringVar(&l.bpfFile, "bpf-file", "", "kernel filter from the output of tcpdump -ddd -i IFACE 'EXPR' instead of the built-in one\n(name the real interface, not any: that compiles for LINUX_SLL2)")
	fs.IntVarP(&l.snapLen, "snaplen", "s", 262144, "bytes kept of each packet (0: 262144, as tcpdump)")
	fs.IntVarP(&l.bufferKB, "buffer-size", "B", 0, "kernel ring per interface in KiB, as tcpdump -B (default: 64 MiB shared, 4 to 32 MiB each)")
	fs.BoolVar(&l.promisc, "promisc", false, "put the interfaces in promiscuous mode")
	fs.Uint64VarP(&l.count, "count", "c", 0, "stop after this many packets")
	fs.DurationVar(&l.duration, "duration", 0, "stop after this long (e.g. 30s, 10m)")
	fs.StringVarP(&l.write, "write", "w", "", "also write the packets to this file: pcapng (.pcapng) or pcap (.pcap)")
	fs.StringVarP(&l.user, "user", "Z", "", "after opening the sockets and output files, run as this user (as tcpdump -Z)")
	l.procs.register(fs)
}

// servicePorts are the TCP ports a live capture always keeps: HTTPS, and
// plain HTTP, which reaches a public S3 address as well as HTTPS does.
var servicePorts = []uint16{80, 443}

// options builds the capture's options for the interfaces ifaces, keeping
// DNS on the ports of --dns-port and on dnsPorts too (verify adds those of
// the resolvers it asks).
func (l *liveFlags) options(ifaces []string, dnsPorts []uint16) (afpacket.Options, string, error) {
	o := afpacket.Options{Interfaces: ifaces, SnapLen: l.snapLen, Promisc: l.promisc, BufferSize: l.bufferKB << 10}
	if l.snapLen < 0 || l.snapLen > 262144 {
		return o, "", fmt.Errorf("--snaplen %d: want 1 to 262144 (0 for 262144)", l.snapLen)
	}
	if l.bufferKB < 0 || l.bufferKB > 1<<20 {
		return o, "", fmt.Errorf("--buffer-size %d: want 1 to 1048576 KiB", l.bufferKB)
	}
	o.Filter = bpf.Spec{TCPPorts: slices.Clone(servicePorts), DNS: true, VXLAN: l.vxlan, Geneve: l.geneve}
	for _, p := range l.ports {
		if p == 0 || p > 65535 {
			return o, "", fmt.Errorf("--port %d: not a port", p)
		}
		if !slices.Contains(o.Filter.TCPPorts, uint16(p)) {
			o.Filter.TCPPorts = append(o.Filter.TCPPorts, uint16(p))
		}
	}
	for _, p := range l.dnsPorts {
		if p == 0 || p > 65535 {
			return o, "", fmt.Errorf("--dns-port %d: not a port", p)
		}
		dnsPorts = append(dnsPorts, uint16(p))
	}
	for _, p := range dnsPorts {
		if p != 53 && !slices.Contains(o.Filter.DNSPorts, p) {
			o.Filter.DNSPorts = append(o.Filter.DNSPorts, p)
		}
	}
	filter := o.Filter.String()
	if l.bpfFile != "" {
		f, err := os.Open(l.bpfFile)
		if err != nil {
			return o, "", fmt.Errorf("--bpf-file: %w", err)
		}
		defer f.Close()
		if o.Program, err = bpf.ParseTcpdumpDDD(f); err != nil {
			return o, "", fmt.Errorf("--bpf-file %s: %w", l.bpfFile, err)
		}
		filter = "program from " + l.bpfFile
	}
	return o, filter, nil
}

// analyzerOptions are the analysis's options for a capture opened with o:
// DNS is read on every port the filter keeps it on.
func analyzerOptions(o afpacket.Options) flow.Options {
	return flow.Options{DNSPorts: append([]uint16{53}, o.Filter.DNSPorts...)}
}

// defaultRoutes are documentation addresses (RFC 5737, RFC 3849): asking
// the kernel for their routes sends nothing and finds the default routes.
var defaultRoutes = []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")}

// routeInterfaces names the interfaces the kernel would send packets to
// each of dsts through, each once, in order; the addresses it has no route
// for come back in errs.
func routeInterfaces(dsts []netip.Addr) (names []string, errs []error) {
	for _, d := range dsts {
		name, err := host.RouteInterface(d)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return names, errs
}

// open opens the capture and the -w file, and drops privileges when asked.
func (l *liveFlags) open(e *env, opts afpacket.Options, of *outputFlags, af *analysisFlags) (*afpacket.Source, *pcapfile.Writer, bool) {
	src, err := afpacket.Open(opts)
	if err != nil {
		e.errorf("%v", err)
		if errors.Is(err, afpacket.ErrPermission) {
			e.hintf("run as root, or let the binary capture: sudo setcap cap_net_raw+ep %s", executable())
		}
		return nil, nil, false
	}
	var w *pcapfile.Writer
	if l.write != "" {
		if w, err = pcapfile.NewWriter(l.write, src.Interfaces()); err != nil {
			src.Close()
			e.errorf("%v", err)
			return nil, nil, false
		}
	}
	// Not := : a failure here must reach the check below, or the capture
	// would run on as root, or without its -o file.
	err = of.open()
	l.procs.start(e, opts.Interfaces)
	if err == nil {
		err = af.open()
	}
	if err == nil && l.user != "" {
		if err = host.DropPrivileges(l.user); err != nil {
			err = fmt.Errorf("--user: %w", err)
		}
	}
	if err != nil {
		src.Close()
		l.procs.finish()
		if w != nil {
			w.Close(nil)
		}
		e.errorf("%v", err)
		return nil, nil, false
	}
	return src, w, true
}

// run captures until a limit, the duration or a signal, and returns what
// the report needs: the same evidence a file gives, from the same loop.
// The caller finishes the analysis (a.Finish) and completes the evidence
// with its counts.
func (l *liveFlags) run(e *env, ctx context.Context, src *afpacket.Source, w *pcapfile.Writer, a *flow.Analyzer, filter string, stop func() bool) (report.Evidence, capture.RunResult, afpacket.Stats) {
	if l.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, l.duration, context.DeadlineExceeded)
		defer cancel()
	}
	progress := &capture.Progress{Every: 1}
	opt := capture.RunOptions{Count: l.count, Stop: stop, Drain: 2 * afpacket.BlockTimeout, Progress: progress}
	if w != nil {
		opt.Writer = w
	}
	// As tcpdump answers SIGUSR1: packets so far and the kernel's counts.
	stopStatus := e.startStatus(func() string {
		st := src.Stats()
		return fmt.Sprintf("%d packets captured, %d received by filter, %d dropped by kernel", progress.Packets.Load(), st.Received, st.Dropped)
	})
	res := capture.Run(ctx, src, a, opt)
	stopStatus()
	l.procs.finish()
	stats := src.Stats()
	if w != nil {
		if err := w.Close(stats.Interfaces); err != nil && res.Err == nil {
			res.Err = err
		}
	}
	inputs := src.Inputs()
	if res.Err != nil && inputs[0].Err == nil {
		inputs[0].Err = res.Err
	}
	ifaces := src.Interfaces()
	var names []string
	for _, ifc := range ifaces {
		names = append(names, ifc.Name)
	}
	ev := report.Evidence{
		Inputs: inputs, Interfaces: ifaces,
		Capture: &report.Capture{
			Interfaces: names, Filter: filter, SnapLen: ifaces[0].SnapLen,
			Started: res.Started.UTC().Format(time.RFC3339Nano), Stopped: res.Stopped.UTC().Format(time.RFC3339Nano),
			StopReason: res.StopReason, Written: l.write, ProcessAttribution: l.procs.state,
		},
	}
	if w != nil {
		ev.Capture.WrittenSHA256 = w.SHA256()
	}
	return ev, res, stats
}

func executable() string {
	if p, err := os.Executable(); err == nil {
		return p
	}
	return "vpce-verify"
}
