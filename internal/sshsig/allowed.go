package sshsig

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// AllowedSigner is one line of an allowed_signers file (ssh-keygen(1),
// ALLOWED SIGNERS): who may sign, with which key, for which namespaces.
type AllowedSigner struct {
	Line       int
	Principals string // comma-separated patterns, as written
	Key        ssh.PublicKey
	// Namespaces is the namespaces="..." option's pattern list; "" for any.
	Namespaces string
	// CertAuthority marks a CA key: it signs certificates, which this
	// package does not read, so it matches no plain signature.
	CertAuthority bool
	ValidAfter    time.Time
	ValidBefore   time.Time
}

// maxLine bounds one line of an allowed_signers file.
const maxLine = 64 << 10

// ParseAllowedSigners reads an allowed_signers file; name is for errors.
func ParseAllowedSigners(name string, r io.Reader) ([]AllowedSigner, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxLine)
	var out []AllowedSigner
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		principals, rest, ok := cutField(line)
		if !ok {
			return nil, fmt.Errorf("%s:%d: a principal and no key", name, n)
		}
		key, _, opts, _, err := ssh.ParseAuthorizedKey([]byte(rest))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", name, n, err)
		}
		a := AllowedSigner{Line: n, Principals: principals, Key: key}
		for _, o := range opts {
			k, v, _ := strings.Cut(o, "=")
			v = strings.Trim(v, `"`)
			switch strings.ToLower(k) {
			case "namespaces":
				a.Namespaces = v
			case "cert-authority":
				a.CertAuthority = true
			case "valid-after", "valid-before":
				t, err := parseValidity(v)
				if err != nil {
					return nil, fmt.Errorf("%s:%d: %s=%q: %v", name, n, k, v, err)
				}
				if strings.EqualFold(k, "valid-after") {
					a.ValidAfter = t
				} else {
					a.ValidBefore = t
				}
			default:
				return nil, fmt.Errorf("%s:%d: unknown option %q", name, n, k)
			}
		}
		out = append(out, a)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// cutField splits off the first field; a quoted one may hold spaces.
func cutField(s string) (string, string, bool) {
	if strings.HasPrefix(s, `"`) {
		if i := strings.Index(s[1:], `"`); i >= 0 {
			return s[1 : i+1], strings.TrimSpace(s[i+2:]), strings.TrimSpace(s[i+2:]) != ""
		}
		return "", "", false
	}
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, "", false
	}
	return s[:i], strings.TrimSpace(s[i:]), true
}

// parseValidity reads ssh-keygen's YYYYMMDD[HHMM[SS]][Z] (UTC with Z,
// else local time).
func parseValidity(s string) (time.Time, error) {
	loc := time.Local
	if strings.HasSuffix(s, "Z") || strings.HasSuffix(s, "z") {
		s, loc = s[:len(s)-1], time.UTC
	}
	for _, layout := range []string{"20060102", "200601021504", "20060102150405"} {
		if len(s) == len(layout) {
			return time.ParseInLocation(layout, s, loc)
		}
	}
	return time.Time{}, fmt.Errorf("want YYYYMMDD[HHMM[SS]][Z]")
}

// Allowed says whether identity may sign with key in namespace at now,
// as ssh-keygen -Y verify decides it; the line that allows it, or why not.
func Allowed(signers []AllowedSigner, identity string, key ssh.PublicKey, namespace string, now time.Time) (int, error) {
	want := key.Marshal()
	reason := fmt.Sprintf("no line of the allowed signers names %q with the key %s", identity, ssh.FingerprintSHA256(key))
	for _, a := range signers {
		if a.CertAuthority || !bytes.Equal(a.Key.Marshal(), want) || !matchList(identity, a.Principals) {
			continue
		}
		switch {
		case a.Namespaces != "" && !matchList(namespace, a.Namespaces):
			reason = fmt.Sprintf("line %d: namespace %q is not among %q", a.Line, namespace, a.Namespaces)
		case !a.ValidAfter.IsZero() && now.Before(a.ValidAfter):
			reason = fmt.Sprintf("line %d: valid only after %s", a.Line, a.ValidAfter.Format(time.RFC3339))
		case !a.ValidBefore.IsZero() && now.After(a.ValidBefore):
			reason = fmt.Sprintf("line %d: valid only before %s", a.Line, a.ValidBefore.Format(time.RFC3339))
		default:
			return a.Line, nil
		}
	}
	return 0, fmt.Errorf("%s", reason)
}

// matchList matches s against a comma-separated list of patterns (* and
// ?, a leading ! negates), as OpenSSH's match_pattern_list does: a negated
// match wins over any other.
func matchList(s, list string) bool {
	ok := false
	for _, p := range strings.Split(list, ",") {
		neg := strings.HasPrefix(p, "!")
		if neg {
			p = p[1:]
		}
		if match(s, p) {
			if neg {
				return false
			}
			ok = true
		}
	}
	return ok
}

// match is a glob match of * and ?; only the last star is backtracked to,
// so it takes at most len(s)*len(p) steps (identities are short).
func match(s, p string) bool {
	si, pi, star, mark := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			si++
			pi++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
