package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/vpce-verify/vpce-verify/capture/afpacket"
	"github.com/vpce-verify/vpce-verify/capture/bpf"
	"github.com/vpce-verify/vpce-verify/capture/flow"
	"github.com/vpce-verify/vpce-verify/capture/savefile"
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
	// spool is the evidence bundle's copy of every packet (--evidence).
	spool    *savefile.Writer
	vxlan    bool
	geneve   bool
	gre      bool
	bpfFile  string
	snapLen  int
	bufferKB int
	promisc  bool
	count    uint64
	duration time.Duration
	write    string
	user     string
	// The savefile's rotation, as tcpdump's -C, -G, -W and -U.
	fileSize  string
	rotateSec int
	fileCount int
	flush     bool
	// Process attribution (--processes).
	procs processFlags

	cmd string // the command's name, for its errors
}

func (l *liveFlags) register(fs *pflag.FlagSet) {
	fs.StringArrayVarP(&l.ifaces, "interface", "i", nil, "interface to capture on (repeatable); any = every interface that is up;\ndefault: those that route to the --endpoint-ip addresses, else the default route's")
	fs.UintSliceVar(&l.ports, "port", nil, "another TCP port the kernel filter keeps, besides 80 and 443 (repeatable)")
	fs.UintSliceVar(&l.dnsPorts, "dns-port", nil, "another port whose payload is DNS, besides 53: the kernel filter keeps it (UDP and TCP)\nand the analysis reads it (repeatable)")
	// pflag would print "(default [])" for an empty list of uints.
	fs.Lookup("port").DefValue, fs.Lookup("dns-port").DefValue = "", ""
	fs.BoolVar(&l.vxlan, "vxlan", false, "also keep VXLAN (UDP 4789; and 8472, Linux's and flannel's): on a Traffic Mirroring target")
	fs.BoolVar(&l.geneve, "geneve", false, "also keep Geneve (UDP 6081): behind a Gateway Load Balancer")
	fs.BoolVar(&l.gre, "gre", false, "also keep GRE (IP protocol 47): on a Transit Gateway Connect peer or an SD-WAN appliance")
	fs.StringVar(&l.bpfFile, "bpf-file", "", "kernel filter from the output of tcpdump -ddd -i IFACE 'EXPR' instead of the built-in one\n(name the real interface, not any: that compiles for LINUX_SLL2)")
	fs.IntVarP(&l.snapLen, "snaplen", "s", 262144, "bytes kept of each packet (0: 262144, as tcpdump)")
	fs.IntVarP(&l.bufferKB, "buffer-size", "B", 0, "kernel ring per interface in KiB, as tcpdump -B (default: 64 MiB shared, 4 to 32 MiB each)")
	fs.BoolVar(&l.promisc, "promisc", false, "put the interfaces in promiscuous mode")
	fs.Uint64VarP(&l.count, "count", "c", 0, "stop after this many packets")
	fs.DurationVar(&l.duration, "duration", 0, "stop after this long (e.g. 30s, 10m)")
	fs.StringVarP(&l.write, "write", "w", "", "also write the packets to `FILE`: pcapng when it ends in .pcapng, pcap otherwise;\n.gz compresses; - writes pcap to standard output (the report then goes to standard error)")
	fs.StringVarP(&l.fileSize, "file-size", "C", "", "with -w, start a new file when the current one is past `SIZE`: millions of bytes,\nor with k, m, g (KiB, MiB, GiB); the files are FILE, FILE1, FILE2... (as tcpdump -C)")
	fs.IntVarP(&l.rotateSec, "rotate-seconds", "G", 0, "with -w, start a new file every `N` seconds; strftime conversions in the name\n(%Y %m %d %H %M %S ...) give each its start time (as tcpdump -G)")
	fs.IntVarP(&l.fileCount, "file-count", "W", 0, "with -C, keep a ring of `N` files (FILE0...); with -G alone, stop after N files (as tcpdump -W)")
	fs.BoolVarP(&l.flush, "flush", "U", false, "write each packet to -w as it comes, not every second (as tcpdump -U): for -w - into a pipe")
	fs.StringVarP(&l.user, "user", "Z", "", "once the sockets are open, run as `USER`, then create the output files as USER (as tcpdump -Z)")
	l.procs.register(fs)
	l.cmd = fs.Name()
}

// parseFileSize reads -C as tcpdump does: a whole number of millions of
// bytes, or of KiB, MiB or GiB with k, m or g.
func parseFileSize(s string) (int64, error) {
	unit := int64(1_000_000)
	num := s
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'k', 'K':
			unit, num = 1<<10, s[:n-1]
		case 'm', 'M':
			unit, num = 1<<20, s[:n-1]
		case 'g', 'G':
			unit, num = 1<<30, s[:n-1]
		}
	}
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil || v < 1 || v > math.MaxInt64/unit {
		return 0, fmt.Errorf("-C %q: want a size in millions of bytes (100), or in KiB, MiB or GiB (512k, 100m, 2g)", s)
	}
	return v * unit, nil
}

// saveOptions are the -w file's options, checked before anything opens.
func (l *liveFlags) saveOptions() (savefile.Options, error) {
	o := savefile.Options{Name: l.write, Flush: l.flush, Files: l.fileCount, Every: time.Duration(l.rotateSec) * time.Second}
	if l.fileSize != "" {
		var err error
		if o.Size, err = parseFileSize(l.fileSize); err != nil {
			return o, err
		}
	}
	switch {
	case l.rotateSec < 0:
		return o, fmt.Errorf("-G %d: want a number of seconds, 1 or more", l.rotateSec)
	case l.fileCount < 0:
		return o, fmt.Errorf("-W %d: want a number of files, 1 or more", l.fileCount)
	case l.write == "" && (o.Size > 0 || o.Every > 0 || o.Files > 0 || o.Flush):
		return o, errors.New("-C, -G, -W and -U say how to write the packets: name the file with -w")
	case o.Files > 0 && o.Size == 0 && o.Every == 0:
		return o, errors.New("-W needs -C (a ring of files) or -G (stop after that many)")
	case l.write == savefile.Stdout && (o.Size > 0 || o.Every > 0):
		return o, errors.New("-w - cannot rotate standard output: name a file for -C or -G")
	}
	if o.Every > 0 {
		if _, err := savefile.CheckPattern(l.write); err != nil {
			return o, fmt.Errorf("-w %w", err)
		}
	}
	return o, nil
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
	if l.duration < 0 {
		return o, "", fmt.Errorf("--duration %v: want a positive duration such as 10m (none: until Ctrl-C)", l.duration)
	}
	if l.bufferKB < 0 || l.bufferKB > 1<<20 {
		return o, "", fmt.Errorf("--buffer-size %d: want 1 to 1048576 KiB", l.bufferKB)
	}
	o.Filter = bpf.Spec{TCPPorts: slices.Clone(servicePorts), DNS: true, VXLAN: l.vxlan, Geneve: l.geneve, GRE: l.gre}
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

// open opens the capture, drops privileges when asked, and opens the -w,
// -o and --conn-log files, as that user then: tcpdump -Z creates its
// savefile after the drop too. Everything that can be checked is checked
// first, so that a wrong -Z or -C leaves no file behind.
func (l *liveFlags) open(e *env, opts afpacket.Options, filter string, of *outputFlags, af *analysisFlags, ef *evidenceFlags) (*afpacket.Source, *savefile.Writer, bool) {
	so, err := l.saveOptions()
	if err != nil {
		e.errorf("%s: %v", l.cmd, err)
		return nil, nil, false
	}
	var u *host.User
	if l.user != "" {
		if u, err = host.LookupUser(l.user); err != nil {
			e.errorf("%s: --user: %v", l.cmd, err)
			return nil, nil, false
		}
	}
	src, err := afpacket.Open(opts)
	if err != nil {
		e.errorf("%v", err)
		if errors.Is(err, afpacket.ErrPermission) {
			e.hintf("run as root, or let the binary capture: sudo setcap cap_net_raw+ep %s", executable())
		}
		return nil, nil, false
	}
	// Before privileges go: the SYN watch is a packet socket.
	l.procs.start(e, opts)
	// Not := : a failure here must reach the check below, or the capture
	// would run on as root, or without its files.
	if u != nil && ef.dir != "" {
		// The bundle's folder was made as root: its files are written
		// as the user.
		if err = host.GiveTree(ef.dir, u); err != nil {
			err = fmt.Errorf("--evidence with --user: %w", err)
		}
	}
	if err == nil && u != nil {
		if err = u.Drop(); err != nil {
			err = fmt.Errorf("--user: %w", err)
		}
	}
	var w *savefile.Writer
	if err == nil && l.write != "" {
		so.Stdout = e.stdout
		so.Meta = liveMeta(e, src.Interfaces(), filter)
		w, err = savefile.Open(so, src.Interfaces())
	}
	if err == nil {
		err = of.open()
	}
	if err == nil {
		err = af.open()
	}
	if err == nil {
		err = ef.openSpool(src.Interfaces())
		l.spool = ef.spool
	}
	if err != nil {
		src.Close()
		l.procs.finish()
		if w != nil {
			w.Close(nil)
		}
		e.errorf("%v", err)
		if u != nil && errors.Is(err, os.ErrPermission) {
			e.hintf("with --user the files are created as %s, as tcpdump -Z creates them: write them where %s may", l.user, l.user)
		}
		return nil, nil, false
	}
	if so.Every > 0 {
		if hasTime, _ := savefile.CheckPattern(l.write); !hasTime {
			e.warnf("-G without a time in the -w name (such as %%Y%%m%%d-%%H%%M%%S): each file writes over the one before, as with tcpdump")
		}
	}
	if l.write == savefile.Stdout && of.out == "" {
		// Standard output carries the packets: the report, like every
		// message, goes to standard error.
		e.stdout = e.stderr
	}
	return src, w, true
}

// liveMeta is what a pcapng file of a live capture says of itself: the
// program and its version, the host's OS, the command line and host in
// the section comment, and each interface's description and the filter.
func liveMeta(e *env, ifaces []capture.Interface, filter string) savefile.Meta {
	hostname, _ := os.Hostname()
	m := savefile.Meta{
		Comment: fmt.Sprintf("captured by vpce-verify %s on %s (%s): %s", toolVersion(), hostname, host.OS(),
			report.ShellQuote(append([]string{"vpce-verify"}, e.args...))),
		OS: host.OS(), Application: "vpce-verify " + toolVersion(), Filter: filter,
	}
	for _, ifc := range ifaces {
		m.Descriptions = append(m.Descriptions, "live capture on "+ifc.Name+" (AF_PACKET) by vpce-verify")
	}
	return m
}

// run captures until a limit, the duration or a signal, and returns what
// the report needs: the same evidence a file gives, from the same loop.
// The caller finishes the analysis (a.Finish) and completes the evidence
// with its counts.
func (l *liveFlags) run(e *env, ctx context.Context, src *afpacket.Source, w *savefile.Writer, a *flow.Analyzer, filter string, stop func() bool) (report.Evidence, capture.RunResult, afpacket.Stats) {
	if l.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, l.duration, context.DeadlineExceeded)
		defer cancel()
	}
	if w != nil {
		// -G with -W: the capture ends with its last file, as tcpdump's.
		var cancel context.CancelCauseFunc
		ctx, cancel = context.WithCancelCause(ctx)
		defer cancel(nil)
		go func() {
			select {
			case <-w.Limit():
				cancel(savefile.ErrFileLimit)
			case <-ctx.Done():
			}
		}()
	}
	progress := &capture.Progress{Every: 1}
	// Only verify stops the capture itself: once its probe's
	// connections were captured.
	opt := capture.RunOptions{Count: l.count, Stop: stop, StopReason: probeDone, Drain: 2 * afpacket.BlockTimeout, Progress: progress}
	switch {
	case w != nil && l.spool != nil:
		opt.Writer = teeWriter{w, l.spool}
	case w != nil:
		opt.Writer = w
	case l.spool != nil:
		opt.Writer = l.spool
	}
	// As tcpdump answers SIGUSR1: packets so far and the kernel's counts.
	stopStatus := e.startStatus(func() string {
		st := src.Stats()
		return fmt.Sprintf("%s captured, %s received by filter, %s dropped by kernel", packetCount(progress.Packets.Load()), packetCount(st.Received), packetCount(st.Dropped))
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
		files, over, notListed := w.Files()
		ev.Capture.FilesOverwritten, ev.Capture.FilesNotListed = over, notListed
		for _, f := range files {
			wf := report.WrittenFile{Name: f.Name, Format: f.Format, Gzip: f.Gzip, Size: f.Size, SHA256: f.SHA256,
				Packets: f.Packets, Started: f.Started.UTC().Format(time.RFC3339Nano)}
			if f.Err != nil {
				msg := f.Err.Error()
				wf.Error = &msg
			}
			ev.Capture.Files = append(ev.Capture.Files, wf)
		}
	}
	return ev, res, stats
}

// teeWriter writes each frame to the -w file and to the evidence
// bundle's spool.
type teeWriter struct{ a, b *savefile.Writer }

func (t teeWriter) Write(f *capture.Frame) error {
	err := t.a.Write(f)
	if e := t.b.Write(f); err == nil {
		err = e
	}
	return err
}

func executable() string {
	if p, err := os.Executable(); err == nil {
		return p
	}
	return "vpce-verify"
}
