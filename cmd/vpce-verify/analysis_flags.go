package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/vpce-verify/vpce-verify/capture/flow"
	"github.com/vpce-verify/vpce-verify/report"
)

// analysisFlags are the flags of the commands that analyse packets
// (analyze, capture, verify): what the report lists, the connection log,
// and the bounds of the analysis's state.
type analysisFlags struct {
	connLog     string
	flows       bool
	flowsLimit  int
	idleTimeout time.Duration
	maxConns    int

	file *os.File // the --conn-log file once open
	log  *report.ConnLog
	// bundleLog, when not "", is the evidence bundle's connections.ndjson:
	// the same lines as --conn-log, to a second file.
	bundleLog  string
	bundleFile *os.File
	// onDNS, when not nil, is told of each DNS transaction after the
	// report (the evidence bundle's selection).
	onDNS func(*flow.DNSTransaction)
}

func (a *analysisFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&a.connLog, "conn-log", "", "also write one JSON line per connection to this file, as it ends\n(Zeek conn.log field names, and the judgment: s3, path, aws_service...)")
	fs.BoolVar(&a.flows, "flows", false, "text report: list every S3 connection, not only where they went")
	fs.IntVar(&a.flowsLimit, "flows-limit", report.DefaultLimits.Flows, "JSON report: list at most this many connections (the rest are counted)")
	fs.DurationVar(&a.idleTimeout, "idle-timeout", 5*time.Minute, "a connection with no packet for this long (capture time) is finished (Zeek's tcp_inactivity_timeout)")
	fs.IntVar(&a.maxConns, "max-connections", flow.DefaultMaxFlows, "connections tracked at once; past it the least recently active is finished early (counted)")
}

func (a *analysisFlags) check() error {
	switch {
	case a.flowsLimit < 1:
		return fmt.Errorf("--flows-limit %d: want 1 or more", a.flowsLimit)
	case a.idleTimeout <= 0:
		return fmt.Errorf("--idle-timeout %v: want a positive duration such as 5m", a.idleTimeout)
	case a.maxConns < 1:
		return fmt.Errorf("--max-connections %d: want 1 or more", a.maxConns)
	}
	return nil
}

// open creates the --conn-log file: before the inputs are read, and
// before capture drops privileges.
func (a *analysisFlags) open() error {
	if a.log != nil {
		return nil
	}
	var ws []io.Writer
	if a.connLog != "" {
		f, err := os.Create(a.connLog)
		if err != nil {
			return fmt.Errorf("--conn-log: %w", err)
		}
		a.file = f
		ws = append(ws, f)
	}
	if a.bundleLog != "" {
		f, err := os.Create(a.bundleLog)
		if err != nil {
			if a.file != nil {
				a.file.Close()
			}
			return fmt.Errorf("--evidence: %w", err)
		}
		a.bundleFile = f
		ws = append(ws, f)
	}
	if len(ws) > 0 {
		a.log = report.NewConnLog(io.MultiWriter(ws...))
	}
	return nil
}

// configure puts what the flags say into the report's configuration.
func (a *analysisFlags) configure(cfg *report.Config) {
	cfg.ConnLog = a.log
	cfg.Limits.Flows = a.flowsLimit
}

// analyzer makes the analysis that feeds b: connections and DNS
// transactions go to the report as they finish, so that what is kept does
// not grow with the capture.
func (a *analysisFlags) analyzer(opts flow.Options, b *report.Builder) *flow.Analyzer {
	opts.IdleTimeout, opts.MaxFlows = a.idleTimeout, a.maxConns
	opts.OnFlow, opts.OnDNS = b.AddFlow, b.AddDNS
	if on := a.onDNS; on != nil {
		opts.OnDNS = func(tx *flow.DNSTransaction) {
			b.AddDNS(tx)
			on(tx)
		}
	}
	return flow.NewAnalyzer(opts)
}

// evidence completes ev with what the analysis counted, once it is
// finished.
func evidence(ev report.Evidence, a *flow.Analyzer) report.Evidence {
	ev.Stats, ev.Anomalies = a.Stats(), a.Anomalies()
	return ev
}

// close writes the rest of the connection log and closes it.
func (a *analysisFlags) close() error {
	if a.log == nil {
		return nil
	}
	name := "--conn-log " + a.connLog
	if a.file == nil {
		name = "--evidence " + a.bundleLog
	}
	err := a.log.Flush()
	for _, f := range []*os.File{a.file, a.bundleFile} {
		if f != nil {
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
	}
	a.log = nil
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
