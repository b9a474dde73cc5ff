package ipranges

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// useCacheDir points the user cache directory at a fresh temporary one.
func useCacheDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", dir)
	t.Setenv("HOME", dir)
	p, err := CachePath()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p, dir) {
		t.Skipf("the cache directory %s is not under $XDG_CACHE_HOME or $HOME on this system", p)
	}
	return p
}

// smallRanges is a valid ip-ranges.json with one S3 prefix.
func smallRanges(syncToken string) []byte {
	return []byte(`{"syncToken":"` + syncToken + `","createDate":"2030-01-02-03-04-05",
"prefixes":[{"ip_prefix":"3.2.69.0/24","region":"ap-south-1","service":"S3","network_border_group":"ap-south-1"}],
"ipv6_prefixes":[]}`)
}

func TestCurrent(t *testing.T) {
	older := readTestdata(t, "testdata/ip-ranges-older.json")
	tests := []struct {
		name   string
		cache  []byte // nil: no cache file
		source string // "embedded" or "cache"
		warn   string
	}{
		{"no cache", nil, "embedded", ""},
		{"cache older than the embedded snapshot", older, "embedded", ""},
		{"cache newer", smallRanges("1893553445"), "cache", ""},
		{"cache as old as the embedded snapshot", smallRanges(Embedded().SyncToken), "embedded", ""},
		{"corrupt cache", older[:len(older)/2], "embedded", "the cached ip-ranges.json is unusable"},
		{"HTML in the cache", []byte("<html>proxy login</html>"), "embedded", "not JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := useCacheDir(t)
			if tc.cache != nil {
				os.MkdirAll(filepath.Dir(path), 0o755)
				if err := os.WriteFile(path, tc.cache, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			r, warn := Current()
			want := "embedded"
			if tc.source == "cache" {
				want = path
			}
			if r.Source != want {
				t.Errorf("source %s, want %s", r.Source, want)
			}
			if tc.warn == "" && warn != "" || tc.warn != "" && (!strings.Contains(warn, tc.warn) || !strings.Contains(warn, path)) {
				t.Errorf("warning %q, want one naming %s and saying %q", warn, path, tc.warn)
			}
		})
	}
}

func TestNewer(t *testing.T) {
	r := func(s string) *Ranges { return &Ranges{SyncToken: s} }
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"1787411825", "1763162320", true}, {"1763162320", "1787411825", false}, {"1787411825", "1787411825", false},
		{"10000000000", "9999999999", true}, {"0999", "1000", false}, {"1000", "0999", true},
	} {
		if got := Newer(r(tc.a), r(tc.b)); got != tc.want {
			t.Errorf("Newer(%s, %s) = %v", tc.a, tc.b, got)
		}
	}
}

func TestUpdate(t *testing.T) {
	embedded := embeddedJSON
	older := readTestdata(t, "testdata/ip-ranges-older.json")
	olderRanges, err := Parse(older, "older")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		body    []byte
		status  int
		current *Ranges
		force   bool
		written bool
		err     string
		errIs   error
	}{
		{"good file, newer than the one in use", embedded, 200, olderRanges, false, true, "", nil},
		{"HTML instead of JSON", []byte("<!DOCTYPE html><html><body>Sign in to the proxy</body></html>"), 200, olderRanges, false, false, "not JSON", nil},
		{"truncated JSON", embedded[:len(embedded)/3], 200, olderRanges, false, false, "ip-ranges: https://", nil},
		{"bad prefix", bytes.Replace(older, []byte(`"3.5.208.0/22"`), []byte(`"3.5.208.0/33"`), 1), 200, nil, false, false, `"3.5.208.0/33"`, nil},
		{"older syncToken refused", older, 200, Embedded(), false, false, "syncToken 1763162320 (created 2025-11-14-23-18-40) is older than 1787411825", ErrNotNewer},
		{"older syncToken with --force", older, 200, Embedded(), true, true, "", nil},
		{"same syncToken: up to date", embedded, 200, Embedded(), false, false, "", nil},
		{"HTTP error", []byte("not found"), 404, olderRanges, false, false, "404 Not Found", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				w.Write(tc.body)
			}))
			defer srv.Close()
			path := filepath.Join(t.TempDir(), "sub", "ip-ranges.json")
			before := []byte("previous contents")
			os.MkdirAll(filepath.Dir(path), 0o755)
			os.WriteFile(path, before, 0o644)

			r, written, err := Update(context.Background(), srv.Client(), srv.URL+"/ip-ranges.json", tc.current, path, tc.force)
			if written != tc.written {
				t.Errorf("written = %v, want %v", written, tc.written)
			}
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("err %v, want one saying %q", err, tc.err)
			}
			if tc.errIs != nil && !errors.Is(err, tc.errIs) {
				t.Errorf("err %v is not %v", err, tc.errIs)
			}
			got, _ := os.ReadFile(path)
			want := before
			if tc.written {
				want = tc.body
				if r == nil || r.SHA256 == "" {
					t.Errorf("no snapshot returned")
				}
			}
			if !bytes.Equal(got, want) {
				t.Errorf("the cache holds %d bytes, want %d", len(got), len(want))
			}
			leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".ip-ranges-*"))
			if len(leftovers) > 0 {
				t.Errorf("temporary files left: %v", leftovers)
			}
		})
	}
}

func TestUpdateVerifiesCertificates(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(embeddedJSON) }))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is the point
	srv.StartTLS()
	defer srv.Close()
	path := filepath.Join(t.TempDir(), "ip-ranges.json")
	// A client that does not trust the test server's certificate.
	_, written, err := Update(context.Background(), &http.Client{}, srv.URL, nil, path, false)
	if err == nil || written || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("written %v, err %v; want a certificate error", written, err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Errorf("a file was written")
	}
	_, _, err = Update(context.Background(), srv.Client(), strings.Replace(srv.URL, "https:", "http:", 1), nil, path, false)
	if err == nil || !strings.Contains(err.Error(), "only https URLs") {
		t.Errorf("plain http: err %v", err)
	}
}

func TestImport(t *testing.T) {
	embedded := embeddedJSON
	older := readTestdata(t, "testdata/ip-ranges-older.json")
	olderRanges, err := Parse(older, "older")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		data    []byte
		current *Ranges
		force   bool
		written bool
		err     string
		errIs   error
	}{
		{"newer than the one in use", embedded, olderRanges, false, true, "", nil},
		{"older refused", older, Embedded(), false, false, "ip-ranges: old.json: syncToken 1763162320 (created 2025-11-14-23-18-40) is older than 1787411825", ErrNotNewer},
		{"older with force", older, Embedded(), true, true, "", nil},
		{"the same: up to date", embedded, Embedded(), false, false, "", nil},
		{"damaged", embedded[:len(embedded)/2], olderRanges, false, false, "ip-ranges: old.json: ", nil},
		{"damaged with force", embedded[:len(embedded)/2], olderRanges, true, false, "ip-ranges: old.json: ", nil},
		{"not JSON", []byte("<html>sign in</html>"), nil, false, false, "not JSON", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "sub", "ip-ranges.json")
			r, written, err := Import(tc.data, "old.json", tc.current, path, tc.force)
			if written != tc.written {
				t.Errorf("written = %v, want %v", written, tc.written)
			}
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("err %v, want one saying %q", err, tc.err)
			}
			if tc.errIs != nil && !errors.Is(err, tc.errIs) {
				t.Errorf("err %v is not %v", err, tc.errIs)
			}
			got, rerr := os.ReadFile(path)
			switch {
			case tc.written && (!bytes.Equal(got, tc.data) || r == nil || r.Source != "old.json"):
				t.Errorf("the cache holds %d bytes (%v), want %d", len(got), rerr, len(tc.data))
			case !tc.written && rerr == nil:
				t.Errorf("a file was written")
			}
		})
	}
}

// A server that cannot be reached is ErrUnreachable, in words that say
// which step failed; nothing here leaves loopback, and no name is looked
// up (the resolver's failure is the dialer's answer).
func TestUpdateUnreachable(t *testing.T) {
	closed := httptest.NewTLSServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close() // its port now refuses connections
	silent := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	silent.StartTLS()
	defer silent.Close()

	noSuchHost := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: "ip-ranges.amazonaws.com", IsNotFound: true}}
		},
	}}
	refusingProxy := &http.Client{Transport: &http.Transport{Proxy: func(*http.Request) (*neturl.URL, error) {
		return neturl.Parse(strings.Replace(closedURL, "https:", "http:", 1))
	}}}
	impatient := silent.Client()
	impatient.Timeout = 100 * time.Millisecond
	tests := []struct {
		name   string
		client *http.Client
		url    string
		err    string
	}{
		{"connection refused", &http.Client{}, closedURL + "/ip-ranges.json", ": cannot connect to " + strings.TrimPrefix(closedURL, "https://") + " (connection refused)"},
		{"name does not resolve", noSuchHost, URL, URL + ": cannot resolve ip-ranges.amazonaws.com (no such host)"},
		{"proxy refuses", refusingProxy, URL, URL + ": cannot connect to the proxy " + strings.TrimPrefix(closedURL, "https://") + " (connection refused)"},
		{"no answer in time", impatient, silent.URL + "/ip-ranges.json", ": no response in time"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ip-ranges.json")
			_, written, err := Update(context.Background(), tc.client, tc.url, nil, path, false)
			if written || !errors.Is(err, ErrUnreachable) || !strings.HasPrefix(err.Error(), "ip-ranges: ") || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("written %v, err %v; want ErrUnreachable saying %q", written, err, tc.err)
			}
		})
	}
	// A certificate the client does not trust is not a network failure.
	_, _, err := Update(context.Background(), &http.Client{}, silent.URL, nil, filepath.Join(t.TempDir(), "x"), false)
	if err == nil || errors.Is(err, ErrUnreachable) {
		t.Errorf("untrusted certificate: %v", err)
	}
}
