package resolve

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// NSStatus is how one source of an nsswitch.conf(5) line ended a lookup,
// in the C library's terms.
type NSStatus int

// The statuses a source can end with.
const (
	NSSuccess  NSStatus = iota // the source had an answer
	NSNotFound                 // the source was asked and does not know the name
	NSUnavail                  // the source could not be asked (no file, no server)
	NSTryAgain                 // the source is busy or did not answer in time
)

var nsStatusNames = [...]string{"SUCCESS", "NOTFOUND", "UNAVAIL", "TRYAGAIN"}

func (s NSStatus) String() string {
	if s >= 0 && int(s) < len(nsStatusNames) {
		return nsStatusNames[s]
	}
	return fmt.Sprintf("NSStatus(%d)", int(s))
}

// NSSource is one source of an nsswitch.conf line ("files", "dns", ...)
// with the actions written after it.
type NSSource struct {
	Name string
	// ret says, by status, whether the lookup ends after this source.
	ret [len(nsStatusNames)]bool
}

// Returns reports whether a lookup stops after this source ended with
// status s. Without actions only SUCCESS stops it; [NOTFOUND=return] also
// stops it when the source does not know the name, and [!UNAVAIL=return]
// stops it on every status but UNAVAIL.
func (s NSSource) Returns(st NSStatus) bool {
	return st >= 0 && int(st) < len(s.ret) && s.ret[st]
}

func newNSSource(name string) NSSource {
	s := NSSource{Name: name}
	s.ret[NSSuccess] = true
	return s
}

// HostsOrder is the "hosts:" line of nsswitch.conf: which sources answer
// host names for the applications that use the C library, in which order.
type HostsOrder struct {
	Sources []NSSource
	// Line is the line's sources and actions as written, such as
	// "files dns"; with Default, the order assumed.
	Line string
	// File is the nsswitch.conf that was read (or looked for).
	File string
	// Default says that the file, or a hosts line in it, is missing and
	// "files dns" is assumed: the order of Go programs, of musl (Alpine)
	// and of most distributions' shipped nsswitch.conf. The C library's
	// own built-in order for a missing line is "dns [!UNAVAIL=return]
	// files".
	Default bool
	// Warnings are parts of the line that could not be read.
	Warnings []string
}

// DefaultHostsOrder is the order assumed when nsswitch.conf names none.
const DefaultHostsOrder = "files dns"

// String returns where the order comes from and what it is, for people:
// `/etc/nsswitch.conf "hosts: files dns"`.
func (o HostsOrder) String() string {
	if o.Default {
		return fmt.Sprintf("no hosts line in %s, so %q", o.File, "hosts: "+o.Line)
	}
	return fmt.Sprintf("%s %q", o.File, "hosts: "+o.Line)
}

// maxNSSwitch bounds what is read of nsswitch.conf; real ones are a few
// hundred bytes.
const maxNSSwitch = 1 << 20

// ReadHostsOrder reads the hosts line of the nsswitch.conf at path. A file
// that does not exist, or has no hosts line, gives DefaultHostsOrder.
func ReadHostsOrder(path string) (HostsOrder, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return ParseHostsOrder(path, nil), nil
	}
	if err != nil {
		return HostsOrder{}, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxNSSwitch))
	if err != nil {
		return HostsOrder{}, fmt.Errorf("%s: %w", path, err)
	}
	return ParseHostsOrder(path, data), nil
}

// ParseHostsOrder reads the hosts line of nsswitch.conf data read from
// file, as the C library (2.33 and later) does: '#' starts a comment, the
// last hosts line counts, and "[STATUS=ACTION ...]" after a source (status
// and action in any case, "!" negating the status) sets what happens after
// it. "merge" is taken as "continue". What cannot be read is skipped and
// named in Warnings.
func ParseHostsOrder(file string, data []byte) HostsOrder {
	var line string
	lines, lineNo := 0, 0
	for i, l := range bytes.Split(data, []byte("\n")) {
		if j := bytes.IndexByte(l, '#'); j >= 0 {
			l = l[:j]
		}
		s := strings.TrimLeft(string(l), " \t\r\f\v")
		end := strings.IndexAny(s, ": \t\r\f\v")
		if end <= 0 || s[:end] != "hosts" {
			continue
		}
		// The C library skips any run of blanks and colons after the
		// name: the colon is customary, not required.
		line, lineNo = strings.TrimLeft(s[end:], " \t\r\f\v:"), i+1
		lines++
	}
	if lines == 0 {
		o := ParseHostsOrder(file, []byte("hosts: "+DefaultHostsOrder))
		o.Default = true
		return o
	}
	o := HostsOrder{File: file, Line: strings.Join(strings.Fields(line), " ")}
	if lines > 1 {
		o.Warnings = append(o.Warnings, fmt.Sprintf("%s has %d hosts lines; the C library uses the last (line %d)", file, lines, lineNo))
	}
	o.Sources, o.Warnings = parseNSSources(line, fmt.Sprintf("%s:%d", file, lineNo), o.Warnings)
	return o
}

// parseNSSources reads the sources and actions of one line.
func parseNSSources(s, where string, warnings []string) ([]NSSource, []string) {
	var out []NSSource
	for {
		s = strings.TrimLeft(s, " \t\r\f\v")
		if s == "" {
			return out, warnings
		}
		if s[0] != '[' {
			end := strings.IndexAny(s, " \t\r\f\v[")
			if end < 0 {
				end = len(s)
			}
			out = append(out, newNSSource(s[:end]))
			s = s[end:]
			continue
		}
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return out, append(warnings, fmt.Sprintf("%s: %q has no closing ]; the rest of the hosts line is ignored", where, s))
		}
		actions := s[1:end]
		s = s[end+1:]
		if len(out) == 0 {
			warnings = append(warnings, fmt.Sprintf("%s: [%s] before any source; ignored", where, actions))
			continue
		}
		if err := setNSActions(&out[len(out)-1], actions); err != nil {
			warnings = append(warnings, fmt.Sprintf("%s: [%s]: %v; ignored", where, actions, err))
		}
	}
}

// setNSActions applies "STATUS=ACTION ..." (what is inside the brackets)
// to src.
func setNSActions(src *NSSource, actions string) error {
	// Spaces may surround '=': "[ NOTFOUND = return ]" is valid.
	f := strings.Fields(strings.ReplaceAll(actions, "=", " = "))
	next := src.ret
	for len(f) > 0 {
		if len(f) < 3 || f[1] != "=" {
			return fmt.Errorf("want STATUS=ACTION, got %q", strings.Join(f, " "))
		}
		status, action := f[0], f[2]
		f = f[3:]
		neg := strings.HasPrefix(status, "!")
		status = strings.TrimPrefix(status, "!")
		st := -1
		for i, n := range nsStatusNames {
			if strings.EqualFold(n, status) {
				st = i
			}
		}
		if st < 0 {
			return fmt.Errorf("unknown status %q", status)
		}
		var ret bool
		switch {
		case strings.EqualFold(action, "return"):
			ret = true
		case strings.EqualFold(action, "continue"), strings.EqualFold(action, "merge"):
		default:
			return fmt.Errorf("unknown action %q", action)
		}
		for i := range next {
			if (i == st) != neg {
				next[i] = ret
			}
		}
	}
	src.ret = next
	return nil
}
