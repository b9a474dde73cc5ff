package main

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/spf13/pflag"

	"github.com/vpce-verify/vpce-verify/report"
	"github.com/vpce-verify/vpce-verify/resolve"
	"github.com/vpce-verify/vpce-verify/resolve/inventory"
	"github.com/vpce-verify/vpce-verify/resolve/ipranges"
)

// classifyFlags are the flags of every command that classifies addresses:
// what is an endpoint, what is the VPC, which ip-ranges.json.
type classifyFlags struct {
	endpointIPs []string
	endpoints   []string
	vpcCIDRs    []string
	ipRanges    string
	require     string
}

func (c *classifyFlags) register(fs *pflag.FlagSet) {
	fs.StringArrayVar(&c.endpointIPs, "endpoint-ip", nil, "an interface endpoint address, IPv4 or IPv6 (repeatable)")
	fs.StringArrayVar(&c.endpoints, "endpoints", nil, "JSON from aws ec2 describe-vpc-endpoints, describe-network-interfaces,\ndescribe-route-tables or get-managed-prefix-list-entries (repeatable)")
	fs.StringArrayVar(&c.vpcCIDRs, "vpc-cidr", nil, "a CIDR of the VPC, for VPCs outside RFC 1918 (repeatable)")
	fs.StringVar(&c.ipRanges, "ip-ranges", "", "ip-ranges.json to use (default: the newest of the cached and the embedded snapshot)")
	fs.StringVar(&c.require, "require", report.PolicyInterfaceEndpoint, "what passes: interface-endpoint, or private (a gateway endpoint proven by\n--endpoints route tables passes too)")
}

// classification is what the flags loaded.
type classification struct {
	classifier  *resolve.Classifier
	ranges      *ipranges.Ranges
	inventory   *inventory.Inventory
	policy      string
	vpcCIDRs    []netip.Prefix
	endpointIPs []netip.Addr // --endpoint-ip, parsed
	warnings    []string     // for the report: an unusable ip-ranges cache
	now         func() time.Time
	// What the provenance records: the flags as given, and each
	// --endpoints file with the hash of the bytes read (endpointsData).
	endpointIPsGiven, vpcCIDRsGiven []string
	files                           []report.File
	endpointsData                   [][]byte
}

// config is the report's configuration from what the flags loaded; the
// caller's own warnings follow those of the loading.
func (c *classification) config(warnings ...string) report.Config {
	return report.Config{
		Classifier: c.classifier, Ranges: c.ranges, Inventory: c.inventory, EndpointIPs: c.endpointIPs, Policy: c.policy,
		Now: c.now(), Version: toolVersion(), Warnings: append(slices.Clip(c.warnings), warnings...),
	}
}

func (c *classifyFlags) load(e *env) (*classification, error) {
	if c.require != report.PolicyInterfaceEndpoint && c.require != report.PolicyPrivate {
		return nil, fmt.Errorf("--require %q: want interface-endpoint or private", c.require)
	}
	var ips []netip.Addr
	for _, s := range c.endpointIPs {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("--endpoint-ip %q: not an IP address", s)
		}
		if a.Zone() != "" {
			// Captured addresses carry no zone, so this one would never
			// match and the endpoint would silently go unrecognised.
			return nil, fmt.Errorf("--endpoint-ip %q: an endpoint address has no zone; give %s", s, a.WithZone(""))
		}
		ips = append(ips, a.Unmap())
	}
	var cidrs []netip.Prefix
	for _, s := range c.vpcCIDRs {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("--vpc-cidr %q: not a CIDR (like 10.0.0.0/16)", s)
		}
		cidrs = append(cidrs, p.Masked())
	}
	var inv *inventory.Inventory
	var more []*inventory.Inventory
	var files []report.File
	var datas [][]byte
	for _, name := range c.endpoints {
		data, err := readInputFile(name, "the JSON this tool reads")
		if err != nil {
			return nil, fmt.Errorf("--endpoints: %w", err)
		}
		sum := sha256.Sum256(data)
		files = append(files, report.File{Role: report.RoleEndpoints, Name: name, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data))})
		datas = append(datas, data)
		one, err := inventory.Parse(name, data)
		if err != nil {
			return nil, err
		}
		if inv == nil {
			inv = one
		} else {
			more = append(more, one)
		}
	}
	if len(more) > 0 {
		inv.Merge(more...) // once: each Merge links everything again
	}
	// An inventory is the truth: one that proves nothing (another region's
	// output, or endpoints without their addresses) would turn every
	// endpoint address into an unknown private one.
	if err := inv.Check(len(ips) > 0); err != nil {
		return nil, fmt.Errorf("--endpoints %w", err)
	}
	ranges, warning, err := loadRanges(c.ipRanges)
	if err != nil {
		return nil, err
	}
	cl := &classification{
		classifier:  resolve.NewClassifier(ranges, inv, ips, cidrs),
		endpointIPs: ips,
		ranges:      ranges,
		inventory:   inv,
		policy:      c.require,
		vpcCIDRs:    cidrs,
		now:         e.now,

		endpointIPsGiven: slices.Clone(c.endpointIPs),
		vpcCIDRsGiven:    slices.Clone(c.vpcCIDRs),
		files:            files,
		endpointsData:    datas,
	}
	if warning != "" {
		cl.warnings = append(cl.warnings, warning)
	}
	return cl, nil
}

// loadRanges reads the ip-ranges.json named by --ip-ranges, or else takes
// the newest of the cached (ranges update) and the embedded snapshot; a
// cache that cannot be used comes back as a warning.
func loadRanges(file string) (*ipranges.Ranges, string, error) {
	if file == "" {
		r, warning := ipranges.Current()
		return r, warning, nil
	}
	data, err := readInputFile(file, "the JSON this tool reads")
	if err != nil {
		return nil, "", fmt.Errorf("--ip-ranges: %w", err)
	}
	r, err := ipranges.Parse(data, file)
	return r, "", err
}

// maxInputFile bounds what is read of a file named on the command line
// other than a capture (--endpoints, --ip-ranges, ranges diff, --ca-file).
// The largest real ones, an ip-ranges.json or a big account's
// describe-network-interfaces, are a few MB; a wrong name (/dev/zero, a
// multi-GB capture) must be an error, not a process that eats the host's
// memory.
const maxInputFile = 64 << 20

// readInputFile reads a file of at most maxInputFile bytes; what says what
// the file should hold, for the error.
func readInputFile(name, what string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tooBig := fmt.Errorf("%s: more than %d bytes, too large for %s", name, maxInputFile, what)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > maxInputFile {
		return nil, tooBig
	}
	data, err := io.ReadAll(io.LimitReader(f, maxInputFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxInputFile {
		return nil, tooBig
	}
	return data, nil
}

// caPool is the system's CA certificates plus those of caFile (--ca-file),
// for checking a server's certificate.
func caPool(caFile string) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if caFile == "" {
		return pool, nil
	}
	pem, err := readInputFile(caFile, "a PEM file of CA certificates")
	if err != nil {
		return nil, fmt.Errorf("--ca-file: %w", err)
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--ca-file %s: no PEM certificate in it", caFile)
	}
	return pool, nil
}

// outputFlags choose the rendering and where it goes.
type outputFlags struct {
	format string
	out    string
	flows  bool     // text: every S3 connection (--flows)
	file   *os.File // the -o file once open
}

func (o *outputFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&o.format, "format", "text", "output format: text or json (schema vpce-verify/report/v1)")
	fs.StringVarP(&o.out, "output", "o", "", "write the report to this file instead of standard output")
}

func (o *outputFlags) check() error {
	if o.format != "text" && o.format != "json" {
		return fmt.Errorf("--format %q: want text or json", o.format)
	}
	// A report that cannot be written is known before the work, not
	// after a long analysis; the file itself is created only at the end.
	if o.out != "" {
		dir := filepath.Dir(o.out)
		if st, err := os.Stat(dir); err != nil {
			return fmt.Errorf("-o %s: %w", o.out, err)
		} else if !st.IsDir() {
			return fmt.Errorf("-o %s: %s is not a directory", o.out, dir)
		}
		if st, err := os.Stat(o.out); err == nil && st.IsDir() {
			return fmt.Errorf("-o %s: is a directory", o.out)
		}
	}
	return nil
}

// open creates the -o file now: capture opens its outputs before it drops
// privileges.
func (o *outputFlags) open() error {
	if o.out == "" || o.file != nil {
		return nil
	}
	f, err := os.Create(o.out)
	if err != nil {
		return err
	}
	o.file = f
	return nil
}

// write renders the report where the flags say.
func (o *outputFlags) write(e *env, r interface {
	WriteText(io.Writer) error
	WriteJSON(io.Writer) error
}) error {
	if err := o.open(); err != nil {
		return err
	}
	var w io.Writer = e.stdout
	if o.file != nil {
		w = o.file
	}
	var err error
	switch full, ok := r.(interface{ WriteTextFlows(io.Writer) error }); {
	case o.format == "json":
		err = r.WriteJSON(w)
	case o.flows && ok:
		err = full.WriteTextFlows(w)
	default:
		err = r.WriteText(w)
	}
	if o.file != nil {
		if cerr := o.file.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// exitCode maps a verdict to the documented exit code.
func exitCode(verdict string) int {
	switch verdict {
	case report.Pass:
		return exitPass
	case report.Fail:
		return exitFail
	case report.Inconclusive:
		return exitInconclusive
	}
	return exitError
}
