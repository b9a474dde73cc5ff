package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/spf13/pflag"
	"golang.org/x/crypto/ssh"

	bundle "github.com/vpce-verify/vpce-verify/evidence"
	"github.com/vpce-verify/vpce-verify/flowlogs"
	"github.com/vpce-verify/vpce-verify/internal/host"
	"github.com/vpce-verify/vpce-verify/report"
)

// flowlogEvidence writes a flowlogs evidence bundle (--evidence DIR): the
// reports, the S3 and SKIPDATA records the verdict rests on
// (records.log.gz), the copies of the classification's inputs, SHA256SUMS
// and its signature.
type flowlogEvidence struct {
	dir     string
	signKey string

	signer ssh.Signer
	made   bool // the folder did not exist before
}

func (f *flowlogEvidence) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.dir, "evidence", "", "write an evidence bundle to this new folder: report.json, report.txt,\nthe S3 and SKIPDATA records the verdict rests on (records.log.gz), SHA256SUMS")
	fs.StringVar(&f.signKey, "sign-key", "", "sign the bundle's SHA256SUMS with this OpenSSH private key (ed25519 or ECDSA)\ninto SHA256SUMS.sig (ssh-keygen -Y verify -n vpce-verify)")
}

// prepare checks the flags and makes the folder, before any record is
// read: a bundle that cannot be written is known before the work.
// out is -o's file: not in the bundle, whose files SHA256SUMS covers.
func (f *flowlogEvidence) prepare(inputs []string, out string) error {
	if f.dir == "" {
		if f.signKey != "" {
			return fmt.Errorf("--sign-key needs --evidence DIR")
		}
		return nil
	}
	if slices.Contains(inputs, "-") {
		return fmt.Errorf("--evidence: standard input cannot be kept as evidence: save it to a file first")
	}
	if err := bundle.Outside(f.dir, "-o", out); err != nil {
		return err
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
	return bundle.Prepare(f.dir)
}

// config asks the analysis to keep the records.
func (f *flowlogEvidence) config(cfg *flowlogs.Config) {
	if f.dir != "" {
		lim := flowlogs.DefaultKeep
		cfg.Keep = &lim
	}
}

// abandon removes what prepare and finish put in the folder, and the
// folder itself when it was made for the bundle: a bundle that could not
// be finished is no evidence.
func (f *flowlogEvidence) abandon() {
	if f.dir == "" {
		return
	}
	for _, name := range []string{bundle.ReportJSON, bundle.ReportText, bundle.Records, bundle.InputsDir, bundle.Sums, bundle.Signature} {
		os.RemoveAll(filepath.Join(f.dir, name))
	}
	if f.made {
		os.Remove(f.dir)
	}
}

// writeBundleFile writes a file of a flowlogs bundle; tests make it fail.
var writeBundleFile = os.WriteFile

// finish writes the bundle once the report is made: the records kept,
// the inputs' copies, the records analysed again, the reports, SHA256SUMS
// and the signature. It sets r.Bundle.
func (f *flowlogEvidence) finish(e *env, r *flowlogs.Report, a *flowlogs.Analyzer, cl *classification) error {
	if f.dir == "" {
		return nil
	}
	if err := writeGzip(filepath.Join(f.dir, bundle.Records), a.WriteKept); err != nil {
		return fmt.Errorf("--evidence: %w", err)
	}
	if err := writeBundleFile(filepath.Join(f.dir, bundle.IPRanges), cl.ranges.Bytes(), 0o644); err != nil {
		return fmt.Errorf("--evidence: %w", err)
	}
	for i, data := range cl.endpointsData {
		if err := writeBundleFile(filepath.Join(f.dir, bundle.EndpointsFile(i+1)), data, 0o644); err != nil {
			return fmt.Errorf("--evidence: %w", err)
		}
	}
	kept, omitted := a.Kept()
	again, err := reanalyzeFlowlogs(e, f.dir, r.Provenance)
	if err != nil {
		return fmt.Errorf("--evidence: analysing %s again: %w", bundle.Records, err)
	}
	b := &flowlogs.Bundle{Records: bundle.Records, RecordsKept: kept, RecordsOmitted: omitted, Limits: flowlogs.DefaultKeep,
		Reanalysis: again.Verdict}
	if again.Verdict != r.Verdict {
		b.ReanalysisNote = fmt.Sprintf("the records kept give %s (%s); the whole logs %s", strings.ToUpper(again.Verdict), again.Reason, strings.ToUpper(r.Verdict))
	}
	r.Bundle = b
	for _, out := range []struct {
		name  string
		write func(io.Writer) error
	}{{bundle.ReportJSON, r.WriteJSON}, {bundle.ReportText, r.WriteText}} {
		var buf bytes.Buffer
		if err := out.write(&buf); err != nil {
			return fmt.Errorf("--evidence: %s: %w", out.name, err)
		}
		if err := writeBundleFile(filepath.Join(f.dir, out.name), buf.Bytes(), 0o644); err != nil {
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
	e.infof("evidence bundle in %s: %d S3 and SKIPDATA records kept, %d not; analysed again: %s", f.dir, kept, omitted, strings.ToUpper(again.Verdict))
	return nil
}

// writeGzip writes a gzip file of what write writes.
func writeGzip(path string, write func(io.Writer) error) error {
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	zw := gzip.NewWriter(fh)
	err = write(zw)
	if cerr := zw.Close(); err == nil {
		err = cerr
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	return err
}

// flowlogsProvenance is what the report records of how it was made: what
// a reanalysis needs besides the records.
func flowlogsProvenance(e *env, cl *classification, cfg flowlogs.Config, ff *flowlogFlags) *flowlogs.Provenance {
	hostname, _ := os.Hostname()
	p := &flowlogs.Provenance{
		Tool:        buildInfo(),
		CommandLine: append([]string{"vpce-verify"}, e.args...),
		Host:        report.Host{Hostname: hostname, OS: host.OS(), IMDS: "not asked (flowlogs reads files)"},
		Policy:      cl.policy,
		EndpointIPs: append([]string{}, cl.endpointIPsGiven...),
		VPCCIDRs:    append([]string{}, cl.vpcCIDRsGiven...),
		GroupBy:     cfg.GroupBy.String(),
		LogFormat:   ff.format,
		Files:       []report.File{},
	}
	if !cfg.Since.IsZero() {
		p.Since = cfg.Since.UTC().Format(time.RFC3339Nano)
	}
	if !cfg.Until.IsZero() {
		p.Until = cfg.Until.UTC().Format(time.RFC3339Nano)
	}
	if rg := cl.ranges; rg != nil {
		p.Files = append(p.Files, report.File{Role: report.RoleIPRanges, Name: rg.Source, SHA256: rg.SHA256, Size: int64(len(rg.Bytes()))})
	}
	p.Files = append(p.Files, cl.files...)
	return p
}

// reanalyzeFlowlogs reads the bundle's records.log.gz with the settings
// and the inputs' copies the provenance records, as evidence check does.
func reanalyzeFlowlogs(e *env, dir string, p *flowlogs.Provenance) (*flowlogs.Report, error) {
	if p == nil {
		return nil, fmt.Errorf("%s has no provenance: the settings to analyse again with are unknown", bundle.ReportJSON)
	}
	cl, err := bundleClassification(e, dir, p.EndpointIPs, p.VPCCIDRs, p.Policy, p.Files)
	if err != nil {
		return nil, err
	}
	var cfg flowlogs.Config
	if cfg.GroupBy, err = flowlogs.ParseGroupBy(p.GroupBy); err != nil {
		return nil, fmt.Errorf("provenance: %v", err)
	}
	for _, w := range []struct {
		s string
		t *time.Time
	}{{p.Since, &cfg.Since}, {p.Until, &cfg.Until}} {
		if w.s == "" {
			continue
		}
		if *w.t, err = time.Parse(time.RFC3339Nano, w.s); err != nil {
			return nil, fmt.Errorf("provenance: time window %q: not RFC 3339", w.s)
		}
	}
	cfg.Classifier, cfg.Policy = cl.classifier, cl.policy
	cfg.EndpointKnown = len(cl.endpointIPs) > 0 || cl.inventory != nil
	path := filepath.Join(dir, bundle.Records)
	// The records carry their header line: --log-format is not needed.
	a, inputs := flowlogs.ReadAll(e.ctx, []string{path}, nil, cfg, 1, nil)
	if len(inputs) != 1 {
		return nil, fmt.Errorf("%s: not read (interrupted)", path)
	}
	r := a.Report(inputs, flowlogs.Meta{Ranges: cl.ranges, Now: e.now(), Version: toolVersion()})
	switch in := inputs[0]; {
	case in.Error != nil:
		return r, fmt.Errorf("%s: %s", bundle.Records, *in.Error)
	case len(in.Problems) > 0:
		return r, fmt.Errorf("%s: %s", bundle.Records, in.Problems[0])
	}
	return r, nil
}

// checkFlowlogsVerdict reads a flowlogs bundle's records again and
// compares with the verdict report.json records.
func checkFlowlogsVerdict(e *env, dir string, r *flowlogs.Report) bundle.Finding {
	again, err := reanalyzeFlowlogs(e, dir, r.Provenance)
	if err != nil {
		return bundle.Finding{What: "verdict", Text: fmt.Sprintf("%s cannot be analysed again: %v", bundle.Records, err)}
	}
	recorded := readVerdict(r.Verdict, r.PartialVerdict)
	var reanalysis, note string
	if r.Bundle != nil {
		reanalysis, note = r.Bundle.Reanalysis, r.Bundle.ReanalysisNote
	}
	return compareVerdicts(bundle.Records, again.Verdict, again.Reason, recorded, reanalysis, note)
}
