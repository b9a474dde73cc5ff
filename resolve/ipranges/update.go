package ipranges

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
)

// URL is where AWS publishes ip-ranges.json.
const URL = "https://ip-ranges.amazonaws.com/ip-ranges.json"

// ErrNotNewer is wrapped by Update's error when the downloaded file is
// older than the one in use and force was not given.
var ErrNotNewer = errors.New("not newer than the ip-ranges.json in use")

// Update downloads ip-ranges.json from url with client (whose transport
// verifies certificates), checks it with Parse, and writes it
// atomically to path (a temporary file in the same directory, renamed over
// the old one) when its syncToken is newer than current's, or whatever it
// is when force is set. It returns what was downloaded and whether it was
// written: a file as new as current is not written, and is no error.
func Update(ctx context.Context, client *http.Client, url string, current *Ranges, path string, force bool) (*Ranges, bool, error) {
	data, err := download(ctx, client, url)
	if err != nil {
		return nil, false, fmt.Errorf("ip-ranges: %w", err)
	}
	r, err := Parse(data, url)
	if err != nil {
		return nil, false, err
	}
	if !force && current != nil && !Newer(r, current) {
		if r.SyncToken == current.SyncToken {
			return r, false, nil
		}
		return r, false, fmt.Errorf("ip-ranges: %s: syncToken %s (created %s) is older than %s (created %s) of the %s snapshot: %w; --force writes it anyway",
			url, r.SyncToken, r.CreateDate.Format(CreateDateLayout), current.SyncToken, current.CreateDate.Format(CreateDateLayout), current.Source, ErrNotNewer)
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
		return nil, err
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
