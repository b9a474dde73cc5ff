package main

import (
	"crypto/tls"
	"fmt"
	"net/http"
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
		return exitError
	}
	if !written {
		fmt.Fprintf(e.stdout, "up to date: %s has syncToken %s (createDate %s), as the snapshot in use (%s)\n",
			*url, r.SyncToken, r.CreateDate.Format(ipranges.CreateDateLayout), current.Source)
		return exitPass
	}
	fmt.Fprintf(e.stdout, "updated %s\n  syncToken %s, createDate %s, %d IPv4 and %d IPv6 entries, sha256 %s\n  was syncToken %s, createDate %s (%s)\n",
		path, r.SyncToken, r.CreateDate.Format(ipranges.CreateDateLayout), r.IPv4Entries, r.IPv6Entries, r.SHA256,
		current.SyncToken, current.CreateDate.Format(ipranges.CreateDateLayout), current.Source)
	return exitPass
}

// httpClient verifies certificates against the system's roots and those of
// caFile; it honours HTTPS_PROXY.
func httpClient(caFile string, timeout time.Duration) (*http.Client, error) {
	c := &http.Client{Timeout: timeout}
	if caFile == "" {
		return c, nil
	}
	pool, err := caPool(caFile)
	if err != nil {
		return nil, err
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	c.Transport = t
	return c, nil
}
