package ipranges

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
)

// URL is where AWS publishes ip-ranges.json.
const URL = "https://ip-ranges.amazonaws.com/ip-ranges.json"

// ErrNotNewer is wrapped by Update's and Import's error when the file is
// older than the one in use and force was not given.
var ErrNotNewer = errors.New("not newer than the ip-ranges.json in use")

// ErrUnreachable is matched by Update's error when the server, or the
// proxy, could not be resolved or connected to, or did not answer in time:
// what a host in a private subnet without a NAT gateway gets. The file
// may then be fetched elsewhere and given to Import.
var ErrUnreachable = errors.New("ip-ranges: server unreachable")

// Update downloads ip-ranges.json from url with client (whose transport
// verifies certificates) and keeps it as Import does. It returns what was
// downloaded and whether it was written: a file as new as current is not
// written, and is no error.
func Update(ctx context.Context, client *http.Client, url string, current *Ranges, path string, force bool) (*Ranges, bool, error) {
	data, err := download(ctx, client, url)
	if err != nil {
		return nil, false, fmt.Errorf("ip-ranges: %w", err)
	}
	return Import(data, url, current, path, force)
}

// Import checks data, an ip-ranges.json read from source, with Parse, and
// writes it atomically to path (a temporary file in the same directory,
// renamed over the old one) when its syncToken is newer than current's,
// or whatever it is when force is set. It returns the parsed file and
// whether it was written: a file as new as current is not written, and is
// no error.
func Import(data []byte, source string, current *Ranges, path string, force bool) (*Ranges, bool, error) {
	r, err := Parse(data, source)
	if err != nil {
		return nil, false, err
	}
	if !force && current != nil && !Newer(r, current) {
		if r.SyncToken == current.SyncToken {
			return r, false, nil
		}
		return r, false, fmt.Errorf("ip-ranges: %s: syncToken %s (created %s) is older than %s (created %s) of the %s snapshot: %w; --force writes it anyway",
			source, r.SyncToken, r.CreateDate.Format(CreateDateLayout), current.SyncToken, current.CreateDate.Format(CreateDateLayout), current.Source, ErrNotNewer)
	}
	if err := writeAtomic(path, data); err != nil {
		return r, false, fmt.Errorf("ip-ranges: %w", err)
	}
	return r, true, nil
}

func download(ctx context.Context, client *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	if req.URL.Scheme != "https" {
		return nil, fmt.Errorf("%s: only https URLs: the file decides what is called AWS", url)
	}
	req.Header.Set("User-Agent", "vpce-verify")
	resp, err := client.Do(req)
	if err != nil {
		return nil, unreachable(url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxRangesFile+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: after %d bytes: %w", url, len(data), err)
	}
	if len(data) > maxRangesFile {
		return nil, fmt.Errorf("GET %s: more than %d bytes, too large for an ip-ranges.json", url, maxRangesFile)
	}
	return data, nil
}

// unreachableError is a failure to reach the server: the name did not
// resolve, the connection was refused or timed out, or nothing answered
// in time. It says which in a few words; the rest is in err.
type unreachableError struct {
	msg string
	err error
}

func (e *unreachableError) Error() string        { return e.msg }
func (e *unreachableError) Unwrap() error        { return e.err }
func (e *unreachableError) Is(target error) bool { return target == ErrUnreachable }

// unreachable says why a request to url got no response, when the reason
// is the network's: a name that did not resolve, a connection refused or
// timed out (to the server or to the proxy), or no answer in time. Other
// errors (a certificate, a TLS handshake) are returned as they are.
func unreachable(url string, err error) error {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	var urlErr *neturl.Error
	proxy := ""
	if errors.As(err, &opErr) && opErr.Op == "proxyconnect" {
		// net/http wraps the dial to the proxy, which has the address.
		proxy = "the proxy "
		if inner := opErr; errors.As(opErr.Err, &inner) {
			opErr = inner
		}
	}
	switch {
	case errors.As(err, &dnsErr):
		return &unreachableError{fmt.Sprintf("%s: cannot resolve %s%s (%s)", url, proxy, dnsErr.Name, dnsErr.Err), err}
	case opErr != nil && (opErr.Op == "dial" || opErr.Op == "proxyconnect"):
		addr := "the server"
		if opErr.Addr != nil {
			addr = opErr.Addr.String()
		}
		return &unreachableError{fmt.Sprintf("%s: cannot connect to %s%s (%s)", url, proxy, addr, syscallReason(opErr.Err)), err}
	case errors.As(err, &urlErr) && urlErr.Timeout():
		return &unreachableError{fmt.Sprintf("%s: no response in time (%v)", url, urlErr.Err), err}
	}
	return err
}

// syscallReason is the system's words for a failed connect ("connection
// refused", "network is unreachable", "i/o timeout"), without the
// syscall's name.
func syscallReason(err error) string {
	var se *os.SyscallError
	if errors.As(err, &se) {
		return se.Err.Error()
	}
	return err.Error()
}

// writeAtomic writes data to path so that a reader sees the old file or the
// new one, never a part.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".ip-ranges-*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
