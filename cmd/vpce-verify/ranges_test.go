package main

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vpce-verify/vpce-verify/internal/testenv"
	"github.com/vpce-verify/vpce-verify/resolve/ipranges"
)

// withCache gives the test its own user cache directory, holding data as
// the cached ip-ranges.json unless data is nil, and returns the file's path.
func withCache(t *testing.T, data []byte) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", dir)
	t.Setenv("HOME", dir)
	path, err := ipranges.CachePath()
	if err != nil || !strings.HasPrefix(path, dir) {
		t.Skipf("cache path %s (%v) is not under the test's directory", path, err)
	}
	if data != nil {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// newerRanges is a valid ip-ranges.json published after the embedded one.
var newerRanges = []byte(`{"syncToken":"1893553445","createDate":"2030-01-02-03-04-05",
"prefixes":[{"ip_prefix":"52.219.64.0/22","region":"ap-south-1","service":"S3","network_border_group":"ap-south-1"},
{"ip_prefix":"52.219.64.0/22","region":"ap-south-1","service":"AMAZON","network_border_group":"ap-south-1"}],
"ipv6_prefixes":[{"ipv6_prefix":"2406:da60:a000::/40","region":"ap-south-1","service":"S3","network_border_group":"ap-south-1"}]}`)

func olderPath(t *testing.T) string {
	return filepath.Join(testenv.RepoRoot(t), "resolve", "ipranges", "testdata", "ip-ranges-older.json")
}

func TestRangesInfo(t *testing.T) {
	type info struct {
		Schema   string `json:"schema"`
		InUse    string `json:"in_use"`
		Snapshot struct {
			Source     string `json:"source"`
			SyncToken  string `json:"sync_token"`
			CreateDate string `json:"create_date"`
			SHA256     string `json:"sha256"`
			AgeDays    int    `json:"age_days"`
			IPv4       struct{ Entries, Prefixes int }
			IPv6       struct{ Entries, Prefixes int }
		} `json:"snapshot"`
		Cache struct {
			Path, State string
		} `json:"cache"`
		Warnings []string `json:"warnings"`
	}
	tests := []struct {
		name       string
		cache      []byte
		args       []string
		inUse      string
		source     string // "" for the cache path
		syncToken  string
		v4, v6     [2]int // entries, prefixes
		cacheState string
		warn       string
	}{
		{"embedded", nil, nil, "embedded", "embedded", "1787411825", [2]int{10668, 7905}, [2]int{6160, 3108}, "absent", "is 91 days old"},
		{"older cache is not used", nil, []string{}, "embedded", "embedded", "1787411825", [2]int{10668, 7905}, [2]int{6160, 3108}, "not-used", ""},
		{"newer cache", newerRanges, nil, "cache", "", "1893553445", [2]int{2, 1}, [2]int{1, 1}, "in-use", ""},
		{"corrupt cache", []byte(`{"syncToken":"1893553445","createDate":`), nil, "embedded", "embedded", "1787411825", [2]int{10668, 7905}, [2]int{6160, 3108}, "unusable", "the cached ip-ranges.json is unusable"},
		{"--ip-ranges", nil, []string{"--ip-ranges", "OLDER"}, "file", "OLDER", "1763162320", [2]int{9463, 7142}, [2]int{4452, 2302}, "absent", "is 372 days old"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cache := tc.cache
			if tc.args != nil && len(tc.args) == 0 {
				cache, _ = os.ReadFile(olderPath(t))
			}
			path := withCache(t, cache)
			args := []string{"ranges", "info", "--format", "json"}
			for _, a := range tc.args {
				args = append(args, strings.Replace(a, "OLDER", olderPath(t), 1))
			}
			res := runCmd(t, nil, args...)
			var r info
			if err := json.Unmarshal([]byte(res.stdout), &r); err != nil || res.code != exitPass {
				t.Fatalf("exit %d, %v; stdout %s stderr %s", res.code, err, res.stdout, res.stderr)
			}
			source := strings.Replace(tc.source, "OLDER", olderPath(t), 1)
			if source == "" {
				source = path
			}
			s := r.Snapshot
			if r.Schema != "vpce-verify/ranges-info/v1" || r.InUse != tc.inUse || s.Source != source || s.SyncToken != tc.syncToken ||
				[2]int{s.IPv4.Entries, s.IPv4.Prefixes} != tc.v4 || [2]int{s.IPv6.Entries, s.IPv6.Prefixes} != tc.v6 ||
				r.Cache.Path != path || r.Cache.State != tc.cacheState || len(s.SHA256) != 64 {
				t.Errorf("got %+v", r)
			}
			if w := strings.Join(r.Warnings, "\n"); tc.warn != "" && !strings.Contains(w, tc.warn) {
				t.Errorf("warnings %q do not say %q", w, tc.warn)
			}
			// The text's first line says which file is in use and why.
			text := runCmd(t, nil, append([]string{"ranges", "info"}, args[4:]...)...).stdout
			if tc.inUse != "embedded" {
				want := map[string]string{"cache": source + " (cached by ranges update or import)", "file": source + " (--ip-ranges)"}[tc.inUse]
				if first, _, _ := strings.Cut(text, "\n"); first != "ip-ranges.json in use: "+want {
					t.Errorf("text starts %q, want it to name %s", first, want)
				}
			} else if !strings.HasPrefix(text, "ip-ranges.json in use: the snapshot embedded in this binary\n") {
				t.Errorf("text starts %q, want the embedded snapshot named", text)
			}
		})
	}
}

// tlsServer serves body over HTTPS and writes its certificate to a PEM
// file for --ca-file.
func tlsServer(t *testing.T, body []byte) (url, caFile string) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, pemBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	return srv.URL + "/ip-ranges.json", caFile
}

func TestRangesUpdate(t *testing.T) {
	older, err := os.ReadFile(olderPath(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cache   []byte
		body    []byte
		force   bool
		code    int
		written bool
		out     string // on stdout for success, stderr otherwise
	}{
		{"good file", nil, newerRanges, false, exitPass, true, "syncToken 1893553445, createDate 2030-01-02-03-04-05, 2 IPv4 and 1 IPv6 entries"},
		{"HTML instead of JSON", nil, []byte("<html><body>Please sign in</body></html>"), false, exitError, false, "not JSON"},
		{"truncated JSON", nil, newerRanges[:100], false, exitError, false, "ip-ranges: https://127.0.0.1"},
		{"older syncToken", nil, older, false, exitError, false, "syncToken 1763162320 (created 2025-11-14-23-18-40) is older than 1787411825 (created 2026-08-22-15-17-05) of the embedded snapshot"},
		{"older syncToken, --force", nil, older, true, exitPass, true, "syncToken 1763162320"},
		{"same as the cache", newerRanges, newerRanges, false, exitPass, false, "up to date"},
		{"corrupt cache is replaced", []byte("{"), newerRanges, false, exitPass, true, "updated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := withCache(t, tc.cache)
			url, ca := tlsServer(t, tc.body)
			args := []string{"ranges", "update", "--url", url, "--ca-file", ca}
			if tc.force {
				args = append(args, "--force")
			}
			res := runCmd(t, nil, args...)
			out := res.stdout
			if tc.code != exitPass {
				out = res.stderr
			}
			if res.code != tc.code || !strings.Contains(out, tc.out) {
				t.Errorf("exit %d, want %d; stdout %q stderr %q; want %q", res.code, tc.code, res.stdout, res.stderr, tc.out)
			}
			got, _ := os.ReadFile(path)
			want := tc.cache
			if tc.written {
				want = tc.body
			}
			if !bytes.Equal(got, want) {
				t.Errorf("the cache holds %d bytes, want %d", len(got), len(want))
			}
		})
	}

	// Without --ca-file the test server's certificate is not trusted.
	withCache(t, nil)
	url, _ := tlsServer(t, newerRanges)
	if res := runCmd(t, nil, "ranges", "update", "--url", url); res.code != exitError || !strings.Contains(res.stderr, "certificate") {
		t.Errorf("untrusted certificate: exit %d, stderr %q", res.code, res.stderr)
	}
	if res := runCmd(t, nil, "ranges", "update", "--ca-file", olderPath(t)); res.code != exitError || !strings.Contains(res.stderr, "no PEM certificate") {
		t.Errorf("bad --ca-file: exit %d, stderr %q", res.code, res.stderr)
	}
}

// After an update, the other commands use the cached file; a corrupt
// cache is a warning and the embedded snapshot is used.
func TestCacheUsedByOtherCommands(t *testing.T) {
	path := withCache(t, newerRanges)
	r := decodeReport(t, runCmd(t, nil, "analyze", "--format", "json", "--endpoint-ip", "10.0.2.50", td(t, "s3-public.pcap")).stdout)
	var full map[string]any
	res := runCmd(t, nil, "analyze", "--format", "json", td(t, "s3-public.pcap"))
	json.Unmarshal([]byte(res.stdout), &full)
	if src := full["ip_ranges"].(map[string]any)["source"]; src != path || r.Verdict != "fail" {
		t.Errorf("analyze: ip_ranges.source %v, verdict %s; want %s, fail", src, r.Verdict, path)
	}
	// 3.2.69.1 is S3 in the embedded snapshot but absent from the cached one.
	if out := decodeClassified(t, runCmd(t, nil, "classify", "--format", "json", "3.2.69.1")); out[0].Path != "public-non-aws" {
		t.Errorf("classify with the cache: %+v", out[0])
	}

	withCache(t, []byte("<html>captive portal</html>"))
	res = runCmd(t, nil, "analyze", "--format", "json", td(t, "s3-public.pcap"))
	json.Unmarshal([]byte(res.stdout), &full)
	r = decodeReport(t, res.stdout)
	if full["ip_ranges"].(map[string]any)["source"] != "embedded" || !strings.Contains(strings.Join(r.Warnings, "\n"), "the cached ip-ranges.json is unusable, so the embedded snapshot (2026-08-22) is used") {
		t.Errorf("corrupt cache: source %v, warnings %q", full["ip_ranges"].(map[string]any)["source"], r.Warnings)
	}
	res = runCmd(t, nil, "classify", "3.2.69.1")
	if res.code != exitPass || !strings.Contains(res.stderr, "vpce-verify: warning: the cached ip-ranges.json is unusable") || !strings.Contains(res.stdout, "public-aws") {
		t.Errorf("classify, corrupt cache: exit %d, stdout %q, stderr %q", res.code, res.stdout, res.stderr)
	}
}

func TestRangesDiff(t *testing.T) {
	older := olderPath(t)
	type diff struct {
		Schema string `json:"schema"`
		Old    struct {
			SyncToken string `json:"sync_token"`
		} `json:"old"`
		New     struct{ Source string }                    `json:"new"`
		Added   []struct{ Prefix, Service, Region string } `json:"added"`
		Removed []struct{ Prefix string }                  `json:"removed"`
	}
	tests := []struct {
		name           string
		args           []string
		added, removed int
		v4Added        int
	}{
		{"S3", []string{"--service", "S3"}, 266, 6, 82},
		{"S3 in ap-south-1", []string{"--service", "s3", "--region", "ap-south-1"}, 4, 0, 1},
		{"everything", nil, 1386 + 1822, 181 + 114, 1386},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := runCmd(t, nil, append(append([]string{"ranges", "diff", "--format", "json"}, tc.args...), older, "embedded")...)
			var d diff
			if err := json.Unmarshal([]byte(res.stdout), &d); err != nil || res.code != exitPass {
				t.Fatalf("exit %d, %v; stderr %s", res.code, err, res.stderr)
			}
			v4 := 0
			for _, a := range d.Added {
				if !strings.Contains(a.Prefix, ":") {
					v4++
				}
			}
			if d.Schema != "vpce-verify/ranges-diff/v1" || d.Old.SyncToken != "1763162320" || d.New.Source != "embedded" ||
				len(d.Added) != tc.added || len(d.Removed) != tc.removed || v4 != tc.v4Added {
				t.Errorf("schema %s old %s new %s: +%d (IPv4 %d) -%d; want +%d (IPv4 %d) -%d",
					d.Schema, d.Old.SyncToken, d.New.Source, len(d.Added), v4, len(d.Removed), tc.added, tc.v4Added, tc.removed)
			}
		})
	}
	res := runCmd(t, nil, "ranges", "diff", "--service", "S3", "--region", "ap-south-1", older, "embedded")
	for _, want := range []string{"only service S3, region ap-south-1", "added 4 (IPv4 1, IPv6 3), removed 0 (IPv4 0, IPv6 0)", "+ 3.2.69.0/24          S3  ap-south-1  ap-south-1\n", "+ 2600:f0f0:6105::/48"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("text does not say %q:\n%s", want, res.stdout)
		}
	}
}

func TestRangesErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"syncToken":"1","createDate":"2026-01-01-00-00-00","prefixes":[{"ip_prefix":"10.0.0.0/33","region":"x","service":"S3"}],"ipv6_prefixes":[]}`), 0o644)
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"no subcommand", []string{"ranges"}, "ranges: no subcommand"},
		{"unknown subcommand", []string{"ranges", "refresh"}, `unknown subcommand "refresh"`},
		{"diff with one file", []string{"ranges", "diff", bad}, "want two files, OLD and NEW; got 1"},
		{"diff of a malformed file", []string{"ranges", "diff", bad, "embedded"}, `bad.json: prefixes[0].ip_prefix "10.0.0.0/33"`},
		{"missing file", []string{"ranges", "diff", filepath.Join(dir, "nope.json"), "embedded"}, "nope.json: no such file"},
		{"diff of a device that never ends", []string{"ranges", "diff", "/dev/zero", "embedded"}, "/dev/zero: more than 67108864 bytes"},
		{"info of a malformed file", []string{"ranges", "info", "--ip-ranges", bad}, `prefixes[0].ip_prefix "10.0.0.0/33"`},
		{"update over plain http", []string{"ranges", "update", "--url", "http://127.0.0.1:1/ip-ranges.json"}, "only https URLs"},
		{"update without a time limit", []string{"ranges", "update", "--timeout", "0", "--url", "https://127.0.0.1:1/ip-ranges.json"}, "--timeout 0s: want a positive duration"},
		{"a CA file that never ends", []string{"ranges", "update", "--ca-file", "/dev/zero", "--url", "https://127.0.0.1:1/ip-ranges.json"}, "/dev/zero: more than 67108864 bytes, too large for a PEM file of CA certificates"},
		{"update with a negative time limit", []string{"ranges", "update", "--timeout", "-1s", "--url", "https://127.0.0.1:1/ip-ranges.json"}, "--timeout -1s: want a positive duration"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			withCache(t, nil)
			res := runCmd(t, nil, tc.args...)
			if res.code != exitError || !strings.Contains(res.stderr, tc.stderr) || strings.Contains(res.stderr, "panic") {
				t.Errorf("exit %d, stderr %q; want %d and %q", res.code, res.stderr, exitError, tc.stderr)
			}
		})
	}
}
