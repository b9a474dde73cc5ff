package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/crypto/ssh"

	"github.com/vpce-verify/vpce-verify/capture"
	"github.com/vpce-verify/vpce-verify/capture/flow"
	"github.com/vpce-verify/vpce-verify/capture/pcapfile"
	"github.com/vpce-verify/vpce-verify/capture/savefile"
	bundle "github.com/vpce-verify/vpce-verify/evidence"
	"github.com/vpce-verify/vpce-verify/flowlogs"
	"github.com/vpce-verify/vpce-verify/internal/host"
	"github.com/vpce-verify/vpce-verify/report"
)

// evidenceFlags write an evidence bundle (--evidence DIR): the reports,
// the connection log, the packets the verdict rests on, the copies of the
// classification's inputs, SHA256SUMS and its signature.
type evidenceFlags struct {
	dir     string
	all     bool
	signKey string

	signer ssh.Signer
	sel    *bundle.Selector
	spool  *savefile.Writer // a live capture's packets, read again for the selection
	made   bool             // the folder did not exist before
}

func (f *evidenceFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.dir, "evidence", "", "write an evidence bundle to this new folder: report.json, report.txt,\nreport.html, connections.ndjson, evidence.pcapng, SHA256SUMS")
	fs.BoolVar(&f.all, "evidence-all", false, "evidence.pcapng holds every packet, not only those of the S3 connections")
	fs.StringVar(&f.signKey, "sign-key", "", "sign the bundle's SHA256SUMS with this OpenSSH private key (ed25519 or ECDSA)\ninto SHA256SUMS.sig (ssh-keygen -Y verify -n vpce-verify)")
}

// outside checks that the run's other outputs (flag name, then file, in
// pairs) are not in the bundle's folder, before any of them is created.
func (f *evidenceFlags) outside(outputs ...string) error {
	if f.dir == "" {
		return nil
	}
	for i := 0; i+1 < len(outputs); i += 2 {
		if err := bundle.Outside(f.dir, outputs[i], outputs[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// prepare checks the flags and makes the folder, before any packet is
// read: a bundle that cannot be written is known before the work.
func (f *evidenceFlags) prepare(inputs []string, af *analysisFlags) error {
	if f.dir == "" {
		if f.all || f.signKey != "" {
			return fmt.Errorf("--evidence-all and --sign-key need --evidence DIR")
		}
		return nil
	}
	for _, in := range inputs {
		if in == "-" {
			return fmt.Errorf("--evidence: standard input cannot be read twice (once for the verdict, once for the evidence): save it to a file first")
		}
	}
	if f.signKey != "" {
		s, err := bundle.LoadKey(f.signKey)
		if err != nil {
			return err
		}
		f.signer = s
	}
	_, err := os.Stat(f.dir)
	f.made = os.IsNotExist(err)
	if err := bundle.Prepare(f.dir); err != nil {
		return err
	}
	f.sel = bundle.NewSelector(f.all)
	af.bundleLog = filepath.Join(f.dir, bundle.Connections)
	af.onDNS = f.sel.OnDNS
	return nil
}

func (f *evidenceFlags) configure(cfg *report.Config) {
	if f.sel != nil {
		cfg.OnConn = f.sel.OnConn
	}
}

// abandon removes the bundle begun when there is nothing to report on:
// what prepare and the capture put in the folder, and the folder itself
// when it was made for the bundle.
func (f *evidenceFlags) abandon() {
	if f.dir == "" {
		return
	}
	if f.spool != nil {
		f.spool.Close(nil)
	}
	for _, name := range []string{".capture.pcapng", bundle.Connections, bundle.InputsDir} {
		os.RemoveAll(filepath.Join(f.dir, name))
	}
	if f.made {
		os.Remove(f.dir)
	}
}

// openSpool keeps a live capture's packets in the bundle's folder, to be
// read again once the verdict is known.
func (f *evidenceFlags) openSpool(ifaces []capture.Interface) error {
	if f.dir == "" {
		return nil
	}
	w, err := savefile.NewWriter(filepath.Join(f.dir, ".capture.pcapng"), ifaces)
	if err != nil {
		return fmt.Errorf("--evidence: %w", err)
	}
	f.spool = w
	return nil
}

// finish writes the bundle once the report is made: the packets (read
// again from src), the inputs' copies, the packets analysed again, the
// reports, SHA256SUMS and the signature. filter is the live capture's.
func (f *evidenceFlags) finish(e *env, r *report.Report, src capture.Source, ifaces []capture.Interface, cl *classification, filter string) error {
	if f.dir == "" {
		return nil
	}
	spool := ""
	if f.spool != nil {
		if err := f.spool.Close(nil); err != nil {
			return fmt.Errorf("--evidence: %w", err)
		}
		spool = filepath.Join(f.dir, ".capture.pcapng")
		defer os.Remove(spool) // on a failure too
		src = pcapfile.NewMerge([]pcapfile.File{{Name: spool, Open: func() (io.ReadCloser, error) { return os.Open(spool) }}}, 0)
	}
	hostname, _ := os.Hostname()
	o := savefile.Meta{
		Comment: fmt.Sprintf("vpce-verify %s evidence: verdict %s; %s; host %s (%s); command: %s",
			toolVersion(), strings.ToUpper(r.Verdict), r.Reason, hostname, host.OS(), report.ShellQuote(append([]string{"vpce-verify"}, e.args...))),
		OS: host.OS(), Application: "vpce-verify " + toolVersion(), Filter: filter,
	}
	what := "packets of the S3 connections"
	if f.all {
		what = "every packet"
	}
	for _, ifc := range ifaces {
		o.Descriptions = append(o.Descriptions, fmt.Sprintf("%s: %s, kept by vpce-verify as evidence", ifc.Name, what))
	}
	pcap := filepath.Join(f.dir, bundle.Pcapng)
	n, err := f.sel.Write(pcap, src, ifaces, o)
	if err != nil {
		return fmt.Errorf("--evidence: %w", err)
	}
	if spool != "" {
		// Gone before SHA256SUMS is written: evidence.pcapng holds what
		// the verdict rests on.
		if err := os.Remove(spool); err != nil {
			return fmt.Errorf("--evidence: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(f.dir, bundle.IPRanges), cl.ranges.Bytes(), 0o644); err != nil {
		return fmt.Errorf("--evidence: %w", err)
	}
	for i, data := range cl.endpointsData {
		if err := os.WriteFile(filepath.Join(f.dir, bundle.EndpointsFile(i+1)), data, 0o644); err != nil {
			return fmt.Errorf("--evidence: %w", err)
		}
	}
	kept, omitted := f.sel.Counts()
	b := &report.Bundle{Packets: "selected", Connections: kept, ConnectionsOmitted: omitted, PacketsWritten: n}
	if f.all {
		b.Packets = "all"
	}
	again, err := reanalyze(e, f.dir, r.Provenance)
	if err != nil {
		return fmt.Errorf("--evidence: analysing %s again: %w", bundle.Pcapng, err)
	}
	b.Reanalysis = again.Verdict
	if again.Verdict != recordedVerdict(r) {
		b.ReanalysisNote = fmt.Sprintf("the packets kept give %s (%s), the whole capture %s", strings.ToUpper(again.Verdict), again.Reason, strings.ToUpper(recordedVerdict(r)))
	}
	r.Bundle = b
	for _, out := range []struct {
		name  string
		write func(io.Writer) error
	}{{bundle.ReportJSON, r.WriteJSON}, {bundle.ReportText, r.WriteText}, {bundle.ReportHTML, r.WriteHTML}} {
		var buf bytes.Buffer
		if err := out.write(&buf); err != nil {
			return fmt.Errorf("--evidence: %s: %w", out.name, err)
		}
		if err := os.WriteFile(filepath.Join(f.dir, out.name), buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("--evidence: %w", err)
		}
	}
	if err := bundle.WriteSums(f.dir); err != nil {
		return fmt.Errorf("--evidence: %w", err)
	}
	if f.signer != nil {
		if err := bundle.Sign(f.dir, f.signer); err != nil {
			return fmt.Errorf("--evidence: %w", err)
		}
	}
	e.infof("evidence bundle in %s: %d packets of %d S3 connections; analysed again: %s", f.dir, n, kept, strings.ToUpper(again.Verdict))
	return nil
}

// recordedVerdict is the verdict the packets read gave: the partial one
// when an input failed.
func recordedVerdict(r *report.Report) string { return readVerdict(r.Verdict, r.PartialVerdict) }

// readVerdict is the verdict of what was read: partial, when the verdict
// is an error that has one (analyze's and flowlogs's reports alike).
func readVerdict(verdict, partial string) string {
	if verdict == report.Error && partial != "" {
		return partial
	}
	return verdict
}

// bundleClassification loads the classification a bundle's provenance
// records: its settings, with the bundle's copies of the ip-ranges.json
// and of each --endpoints file (files lists them by role, in order).
func bundleClassification(e *env, dir string, endpointIPs, vpcCIDRs []string, policy string, files []report.File) (*classification, error) {
	cf := classifyFlags{endpointIPs: endpointIPs, vpcCIDRs: vpcCIDRs, require: policy,
		ipRanges: filepath.Join(dir, bundle.IPRanges)}
	n := 0
	for _, f := range files {
		if f.Role == report.RoleEndpoints {
			n++
			cf.endpoints = append(cf.endpoints, filepath.Join(dir, bundle.EndpointsFile(n)))
		}
	}
	quiet := *e
	quiet.stderr = io.Discard
	return cf.load(&quiet)
}

// reanalyze analyses the bundle's evidence.pcapng with the settings and
// the inputs' copies the provenance records, as evidence check does.
func reanalyze(e *env, dir string, p *report.Provenance) (*report.Report, error) {
	if p == nil {
		return nil, fmt.Errorf("%s has no provenance: the settings to analyse again with are unknown", bundle.ReportJSON)
	}
	cl, err := bundleClassification(e, dir, p.EndpointIPs, p.VPCCIDRs, p.Policy, p.Files)
	if err != nil {
		return nil, err
	}
	idle, err := time.ParseDuration(p.Analysis.IdleTimeout)
	if err != nil || idle <= 0 {
		return nil, fmt.Errorf("provenance: idle_timeout %q: not a duration", p.Analysis.IdleTimeout)
	}
	af := analysisFlags{idleTimeout: idle, maxConns: p.Analysis.MaxConnections, flowsLimit: report.DefaultLimits.Flows}
	if err := af.check(); err != nil {
		return nil, fmt.Errorf("provenance: %v", err)
	}
	cfg := cl.config()
	af.configure(&cfg)
	b := report.NewBuilder(cfg, nil)
	a := af.analyzer(flow.Options{DNSPorts: p.Analysis.DNSPorts}, b)
	pcap := filepath.Join(dir, bundle.Pcapng)
	m := pcapfile.NewMerge([]pcapfile.File{{Name: pcap, Open: func() (io.ReadCloser, error) { return os.Open(pcap) }}}, 0)
	capture.Run(e.ctx, m, a, capture.RunOptions{})
	inputs, ifaces := m.Inputs(), m.Interfaces()
	a.Finish()
	r := b.Report(evidence(report.Evidence{Inputs: inputs, Interfaces: ifaces}, a))
	for _, in := range inputs {
		if in.Err != nil {
			return r, in.Err
		}
	}
	return r, nil
}

const evidenceSynopsis = `Usage: vpce-verify evidence check DIR [flags]

Checks an evidence bundle (--evidence DIR of analyze, capture, verify or
flowlogs): every file against SHA256SUMS, the signature SHA256SUMS.sig if
there is one (against --allowed-signers, as ssh-keygen -Y verify does),
then analyses the evidence again (evidence.pcapng, or the flow log records
of records.log.gz) with the recorded settings and the inputs' copies, and
says whether it reaches the verdict report.json records. One line per
finding.

Exit codes: 0 everything holds, 1 something was altered or the verdict
differs, 2 error (the bundle could not be read).

Example:
  vpce-verify evidence check out/ --allowed-signers allowed_signers --identity auditor@example.com
`

func cmdEvidence(e *env, args []string) int {
	fs := pflag.NewFlagSet("evidence", pflag.ContinueOnError)
	allowed := fs.String("allowed-signers", "", "an ssh-keygen allowed_signers file: the signature must be by a key it allows")
	identity := fs.String("identity", "", "the signer's identity in --allowed-signers (ssh-keygen -Y verify -I)")
	if code, ok := e.parse(fs, args, evidenceSynopsis); !ok {
		return code
	}
	if fs.NArg() != 2 || fs.Arg(0) != "check" {
		e.errorf("evidence: want: vpce-verify evidence check DIR")
		return exitError
	}
	if *identity != "" && *allowed == "" {
		e.errorf("evidence: --identity needs --allowed-signers")
		return exitError
	}
	dir := fs.Arg(1)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		e.errorf("evidence check: %s: not a folder", dir)
		return exitError
	}
	need := []string{bundle.ReportJSON, bundle.Pcapng}
	if bundleSchema(dir) == flowlogs.Schema {
		need = []string{bundle.ReportJSON, bundle.Records}
	}
	findings, err := bundle.CheckSums(dir, need...)
	if err != nil {
		e.errorf("evidence check: %v", err)
		return exitError
	}
	findings = append(findings, bundle.CheckSignature(dir, *allowed, *identity, e.now()))
	findings = append(findings, checkVerdict(e, dir))
	failed := 0
	for _, f := range findings {
		fmt.Fprintln(e.stdout, f)
		if !f.OK {
			failed++
		}
	}
	if failed > 0 {
		fmt.Fprintf(e.stdout, "the evidence does not hold: %d finding(s) failed\n", failed)
		return exitFail
	}
	fmt.Fprintln(e.stdout, "the evidence holds")
	return exitPass
}

// checkVerdict analyses the bundle's evidence again (evidence.pcapng, or a
// flowlogs bundle's records.log.gz) and compares with the verdict
// report.json records.
func checkVerdict(e *env, dir string) bundle.Finding {
	const what = "verdict"
	data, err := os.ReadFile(filepath.Join(dir, bundle.ReportJSON))
	if err != nil {
		return bundle.Finding{What: what, Text: err.Error()}
	}
	if bundleSchema(dir) == flowlogs.Schema {
		var r flowlogs.Report
		if err := json.Unmarshal(data, &r); err != nil {
			return bundle.Finding{What: what, Text: fmt.Sprintf("%s: %v", bundle.ReportJSON, err)}
		}
		return checkFlowlogsVerdict(e, dir, &r)
	}
	var r report.Report
	if err := json.Unmarshal(data, &r); err != nil {
		return bundle.Finding{What: what, Text: fmt.Sprintf("%s: %v", bundle.ReportJSON, err)}
	}
	if r.Schema != report.Schema {
		return bundle.Finding{What: what, Text: fmt.Sprintf("%s: schema %q, want %s or %s", bundle.ReportJSON, r.Schema, report.Schema, flowlogs.Schema)}
	}
	again, err := reanalyze(e, dir, r.Provenance)
	if err != nil {
		return bundle.Finding{What: what, Text: fmt.Sprintf("%s cannot be analysed again: %v", bundle.Pcapng, err)}
	}
	var reanalysis, note string
	if r.Bundle != nil {
		reanalysis, note = r.Bundle.Reanalysis, r.Bundle.ReanalysisNote
	}
	return compareVerdicts(bundle.Pcapng, again.Verdict, again.Reason, recordedVerdict(&r), reanalysis, note)
}

// bundleSchema is the schema report.json names; "" when it cannot be
// read.
func bundleSchema(dir string) string {
	data, err := os.ReadFile(filepath.Join(dir, bundle.ReportJSON))
	if err != nil {
		return ""
	}
	var head struct{ Schema string }
	json.Unmarshal(data, &head)
	return head.Schema
}

// compareVerdicts is the verdict finding: what the evidence file gives
// analysed again (again, with its reason) against the verdict report.json
// records (its partial verdict when an input failed), and the reanalysis
// the bundle recorded when it was made.
func compareVerdicts(file, again, reason, recorded, reanalysis, note string) bundle.Finding {
	const what = "verdict"
	got, want := strings.ToUpper(again), strings.ToUpper(recorded)
	switch {
	case again == recorded:
		return bundle.Finding{OK: true, What: what, Text: fmt.Sprintf("%s analysed again gives %s, as %s says", file, got, bundle.ReportJSON)}
	case reanalysis == again && severity(again) < severity(recorded):
		// The report is more cautious than the evidence kept, and said so
		// when it was made (a blocking anomaly of the whole capture, say).
		return bundle.Finding{OK: true, What: what, Text: fmt.Sprintf("%s analysed again gives %s; %s says %s, as recorded when it was made: %s",
			file, got, bundle.ReportJSON, want, note)}
	}
	return bundle.Finding{What: what, Text: fmt.Sprintf("%s analysed again gives %s (%s), but %s says %s", file, got, reason, bundle.ReportJSON, want)}
}

// severity orders verdicts: a report may be more severe than the packets
// it keeps, never less.
func severity(v string) int {
	switch v {
	case report.Pass:
		return 0
	case report.Inconclusive:
		return 1
	case report.Fail:
		return 2
	}
	return 3
}
