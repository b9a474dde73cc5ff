package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/pflag"

	"github.com/vpce-verify/vpce-verify/resolve/ipranges"
)

func rangesUpdate(e *env, args []string) int {
	flags := pflag.NewFlagSet("ranges update", pflag.ContinueOnError)
	url := flags.String("url", ipranges.URL, "where to download ip-ranges.json from (https only)")
	caFile := flags.String("ca-file", "", "PEM certificates to trust besides the system's (e.g. a TLS-inspecting proxy's CA)")
	force := flags.Bool("force", false, "keep the download even when it is not newer than the snapshot in use")
	timeout := flags.Duration("timeout", time.Minute, "how long the download may take")
	if code, ok := e.parse(flags, args, rangesSynopsis); !ok {
		return code
	}
	if flags.NArg() > 0 {
		e.errorf("ranges update: unexpected argument %q", flags.Arg(0))
		return exitError
	}
	if *timeout <= 0 {
		// http.Client takes zero (and less) as no limit: a stalled server
		// would hold the command forever.
		e.errorf("ranges update: --timeout %v: want a positive duration", *timeout)
		return exitError
	}
	client, err := httpClient(*caFile, *timeout)
	if err != nil {
		e.errorf("ranges update: %v", err)
		return exitError
	}
	path, err := ipranges.CachePath()
	if err != nil {
		e.errorf("%v", err)
		return exitError
	}
	current, warning := ipranges.Current()
	if warning != "" {
		e.warnf("%s", warning)
	}
	r, written, err := ipranges.Update(e.ctx, client, *url, current, path, *force)
	if err != nil {
		e.errorf("%v", err)
		if errors.Is(err, ipranges.ErrUnreachable) {
			unreachableHints(e, *url)
		}
		return exitError
	}
	printKept(e, *url, path, r, current, written)
	return exitPass
}

// rangesImport keeps an ip-ranges.json fetched elsewhere (a host in a
// private subnet has no route to ip-ranges.amazonaws.com) exactly as
// update keeps a download: checked, newer than the snapshot in use unless
// --force, written atomically to the cache.
func rangesImport(e *env, args []string) int {
	flags := pflag.NewFlagSet("ranges import", pflag.ContinueOnError)
	force := flags.Bool("force", false, "keep the file even when it is not newer than the snapshot in use")
	if code, ok := e.parse(flags, args, rangesSynopsis); !ok {
		return code
	}
	if flags.NArg() != 1 {
		e.errorf("ranges import: want one FILE, an ip-ranges.json; got %d arguments", flags.NArg())
		e.hintf("curl -o ip-ranges.json %s where the internet is reachable, copy it here, then: vpce-verify ranges import ip-ranges.json", ipranges.URL)
		return exitError
	}
	name := flags.Arg(0)
	var data []byte
	var err error
	if name == "-" {
		data, err = readAllLimited(e.stdin, "standard input", "an ip-ranges.json")
	} else {
		data, err = readInputFile(name, "an ip-ranges.json")
	}
	if err != nil {
		e.errorf("ranges import: %v", err)
		return exitError
	}
	path, err := ipranges.CachePath()
	if err != nil {
		e.errorf("%v", err)
		return exitError
	}
	current, warning := ipranges.Current()
	if warning != "" {
		e.warnf("%s", warning)
	}
	r, written, err := ipranges.Import(data, name, current, path, *force)
	if err != nil {
		e.errorf("%v", err)
		return exitError
	}
	printKept(e, name, path, r, current, written)
	return exitPass
}

// unreachableHints say what to do when the download could not reach the
// server: most often a host in a private subnet, with no route to the
// internet.
func unreachableHints(e *env, rawURL string) {
	if proxy := proxyFor(rawURL); proxy != nil {
		e.hintf("the download went through the proxy %s (HTTPS_PROXY): check that it runs and lets this host through", proxy.Redacted())
	} else {
		e.hintf("a host in a private subnet has no route to the internet; go through a proxy: HTTPS_PROXY=http://PROXY:PORT vpce-verify ranges update")
	}
	e.hintf("or download %s where the internet is reachable, copy it here, and run: vpce-verify ranges import ip-ranges.json", rawURL)
}

// printKept says what became of an ip-ranges.json got from source: kept
// in path, or already the one in use.
func printKept(e *env, source, path string, r, current *ipranges.Ranges, written bool) {
	if !written {
		fmt.Fprintf(e.stdout, "up to date: %s has syncToken %s (createDate %s), as the snapshot in use (%s)\n",
			source, r.SyncToken, r.CreateDate.Format(ipranges.CreateDateLayout), current.Source)
		return
	}
	fmt.Fprintf(e.stdout, "updated %s\n  syncToken %s, createDate %s, %d IPv4 and %d IPv6 entries, sha256 %s\n  was syncToken %s, createDate %s (%s)\n",
		path, r.SyncToken, r.CreateDate.Format(ipranges.CreateDateLayout), r.IPv4Entries, r.IPv6Entries, r.SHA256,
		current.SyncToken, current.CreateDate.Format(ipranges.CreateDateLayout), current.Source)
}

// httpClient verifies certificates against the system's roots and those of
// caFile. It goes through the proxy HTTPS_PROXY names, unless NO_PROXY
// excludes the host (http.ProxyFromEnvironment).
func httpClient(caFile string, timeout time.Duration) (*http.Client, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = http.ProxyFromEnvironment
	if caFile != "" {
		pool, err := caPool(caFile)
		if err != nil {
			return nil, err
		}
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Timeout: timeout, Transport: t}, nil
}

// proxyFor is the proxy a request to rawURL goes through, or nil.
func proxyFor(rawURL string) *url.URL {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil
	}
	p, err := http.ProxyFromEnvironment(&http.Request{URL: u})
	if err != nil {
		return nil
	}
	return p
}
