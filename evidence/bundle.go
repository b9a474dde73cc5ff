package evidence

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/vpce-verify/vpce-verify/internal/sshsig"
)

// The files of a bundle.
const (
	ReportJSON  = "report.json"
	ReportText  = "report.txt"
	ReportHTML  = "report.html"
	Connections = "connections.ndjson"
	Pcapng      = "evidence.pcapng"
	// Records is a flowlogs bundle's file of the flow log records its
	// verdict rests on, in place of evidence.pcapng.
	Records   = "records.log.gz"
	Sums      = "SHA256SUMS"
	Signature = "SHA256SUMS.sig"
	// InputsDir holds copies of the files the classification read: the
	// ip-ranges.json in use and each --endpoints file, so that the verdict
	// can be reached again from the bundle alone.
	InputsDir = "inputs"
	IPRanges  = "inputs/ip-ranges.json"
	// Namespace is the SSH signature's namespace (ssh-keygen -Y verify -n).
	Namespace = "vpce-verify"
	// maxSums bounds the SHA256SUMS file read.
	maxSums = 1 << 20
)

// EndpointsFile is the name of the i-th (from 1) --endpoints file's copy.
func EndpointsFile(i int) string { return fmt.Sprintf("inputs/endpoints-%d.json", i) }

// Prepare makes dir (and its inputs folder) for a bundle. An existing
// bundle is not overwritten: dir must be new or empty.
func Prepare(dir string) error {
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return fmt.Errorf("--evidence %s: not empty; an evidence bundle goes to a new folder", dir)
	}
	if err := os.MkdirAll(filepath.Join(dir, InputsDir), 0o755); err != nil {
		return fmt.Errorf("--evidence: %w", err)
	}
	return nil
}

// Outside checks that path, another file the run writes (flag names it:
// "-o"), is not in dir, the bundle's folder: it would change after
// SHA256SUMS was written, or replace one of the bundle's files. "" and
// "-" (standard output) are outside.
func Outside(dir, flag, path string) error {
	if path == "" || path == "-" {
		return nil
	}
	d, derr := filepath.Abs(dir)
	p, perr := filepath.Abs(path)
	if derr != nil || perr != nil {
		return nil // the write itself will say what is wrong
	}
	rel, err := filepath.Rel(d, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return nil
	}
	return fmt.Errorf("%s %s: is in the --evidence folder %s, which holds the bundle's files only", flag, path, dir)
}

// WriteSums writes SHA256SUMS over every file in dir (but SHA256SUMS and
// its signature), in sha256sum -c's format, sorted by name.
func WriteSums(dir string) error {
	names, err := files(dir)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	for _, name := range names {
		sum, err := hashFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s  %s\n", sum, name)
	}
	return os.WriteFile(filepath.Join(dir, Sums), b.Bytes(), 0o644)
}

// files lists the regular files under dir, slash-separated and sorted,
// leaving out SHA256SUMS and its signature.
func files(dir string) ([]string, error) {
	var names []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel != Sums && rel != Signature {
			names = append(names, rel)
		}
		return nil
	})
	slices.Sort(names)
	return names, err
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// LoadKey reads an OpenSSH private key (ed25519, ECDSA or RSA, not
// encrypted) for Sign.
func LoadKey(file string) (ssh.Signer, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("--sign-key: %w", err)
	}
	s, err := ssh.ParsePrivateKey(data)
	var pm *ssh.PassphraseMissingError
	switch {
	case errors.As(err, &pm):
		return nil, fmt.Errorf("--sign-key %s: the key is encrypted; give one without a passphrase, or sign SHA256SUMS yourself: ssh-keygen -Y sign -n %s -f KEY SHA256SUMS", file, Namespace)
	case err != nil:
		return nil, fmt.Errorf("--sign-key %s: %v (want an OpenSSH private key: ssh-keygen -t ed25519)", file, err)
	}
	return s, nil
}

// Sign writes SHA256SUMS.sig: SHA256SUMS signed by s in namespace
// vpce-verify.
func Sign(dir string, s ssh.Signer) error {
	data, err := os.ReadFile(filepath.Join(dir, Sums))
	if err != nil {
		return err
	}
	sig, err := sshsig.Sign(s, Namespace, bytes.NewReader(data))
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, Signature), sig, 0o644)
}

// Finding is one line of what evidence check found. OK false means the
// evidence does not hold as it is.
type Finding struct {
	OK   bool
	What string // a file name, "signature", "verdict"
	Text string
}

func (f Finding) String() string {
	w := "ok"
	if !f.OK {
		w = "FAILED"
	}
	return fmt.Sprintf("%-6s %s: %s", w, f.What, f.Text)
}

// CheckSums checks every line of SHA256SUMS against the files, and says
// which files of dir it does not cover, and which of need it does not
// list (report.json and evidence.pcapng when need is empty; report.json
// and records.log.gz for a flowlogs bundle). The error is for a
// SHA256SUMS that cannot be read at all.
func CheckSums(dir string, need ...string) ([]Finding, error) {
	if len(need) == 0 {
		need = []string{ReportJSON, Pcapng}
	}
	f, err := os.Open(filepath.Join(dir, Sums))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Sums, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSums+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Sums, err)
	}
	if len(data) > maxSums {
		return nil, fmt.Errorf("%s: longer than %d bytes: not a bundle's", Sums, maxSums)
	}
	var out []Finding
	listed := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		sum, name, ok := strings.Cut(line, "  ")
		if !ok {
			sum, name, ok = strings.Cut(line, " *")
		}
		if b, err := hex.DecodeString(sum); !ok || err != nil || len(b) != sha256.Size || name == "" {
			out = append(out, Finding{false, fmt.Sprintf("%s line %d", Sums, n), "not a sha256sum line"})
			continue
		}
		if !fs.ValidPath(name) {
			out = append(out, Finding{false, fmt.Sprintf("%s line %d", Sums, n), fmt.Sprintf("%q is not a path inside the bundle", name)})
			continue
		}
		listed[name] = true
		got, err := hashFile(filepath.Join(dir, filepath.FromSlash(name)))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			out = append(out, Finding{false, name, "missing"})
		case err != nil:
			out = append(out, Finding{false, name, err.Error()})
		case got != strings.ToLower(sum):
			out = append(out, Finding{false, name, fmt.Sprintf("altered: sha256 %s, SHA256SUMS says %s", got, sum)})
		default:
			out = append(out, Finding{true, name, "sha256 matches SHA256SUMS"})
		}
	}
	for _, n := range need {
		if !listed[n] {
			out = append(out, Finding{false, n, "not listed in SHA256SUMS"})
		}
	}
	names, err := files(dir)
	if err != nil {
		return out, err
	}
	for _, n := range names {
		if !listed[n] {
			out = append(out, Finding{false, n, "not covered by SHA256SUMS (added after the bundle was made)"})
		}
	}
	return out, nil
}

// CheckSignature checks SHA256SUMS.sig. With allowed (an allowed_signers
// file), the key must be allowed for identity, or, without an identity,
// for some principal of the file; without it, only that the signature
// matches its own key is checked, and the finding says so.
func CheckSignature(dir, allowed, identity string, now time.Time) Finding {
	armored, err := os.ReadFile(filepath.Join(dir, Signature))
	if errors.Is(err, fs.ErrNotExist) {
		if allowed != "" {
			return Finding{false, Signature, "missing: the bundle is not signed, and --allowed-signers asks for a signature"}
		}
		return Finding{true, Signature, "none: the bundle is not signed (--sign-key); the hashes show only that nothing changed since SHA256SUMS was written"}
	}
	if err != nil {
		return Finding{false, Signature, err.Error()}
	}
	sig, err := sshsig.Parse(armored)
	if err != nil {
		return Finding{false, Signature, err.Error()}
	}
	sums, err := os.ReadFile(filepath.Join(dir, Sums))
	if err != nil {
		return Finding{false, Signature, err.Error()}
	}
	fp := sig.PublicKey.Type() + " " + ssh.FingerprintSHA256(sig.PublicKey)
	if err := sig.Verify(Namespace, bytes.NewReader(sums)); err != nil {
		return Finding{false, Signature, fmt.Sprintf("does not verify SHA256SUMS: %v", err)}
	}
	if allowed == "" {
		return Finding{true, Signature, fmt.Sprintf("signs SHA256SUMS with key %s; whose key that is was not checked (give --allowed-signers)", fp)}
	}
	f, err := os.Open(allowed)
	if err != nil {
		return Finding{false, Signature, fmt.Sprintf("--allowed-signers: %v", err)}
	}
	defer f.Close()
	signers, err := sshsig.ParseAllowedSigners(allowed, f)
	if err != nil {
		return Finding{false, Signature, err.Error()}
	}
	if identity != "" {
		if line, err := sshsig.Allowed(signers, identity, sig.PublicKey, Namespace, now); err != nil {
			return Finding{false, Signature, fmt.Sprintf("good signature by key %s, but %v", fp, err)}
		} else {
			return Finding{true, Signature, fmt.Sprintf("signed by %s (key %s, %s line %d)", identity, fp, allowed, line)}
		}
	}
	for _, a := range signers {
		if !a.CertAuthority && bytes.Equal(a.Key.Marshal(), sig.PublicKey.Marshal()) && !strings.ContainsAny(a.Principals, "*?!") {
			if line, err := sshsig.Allowed(signers, strings.Split(a.Principals, ",")[0], sig.PublicKey, Namespace, now); err == nil {
				return Finding{true, Signature, fmt.Sprintf("signed by %s (key %s, %s line %d)", a.Principals, fp, allowed, line)}
			}
		}
	}
	return Finding{false, Signature, fmt.Sprintf("good signature by key %s, which %s does not allow", fp, allowed)}
}
