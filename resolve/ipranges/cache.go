package ipranges

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// CachePath returns where `vpce-verify ranges update` keeps the
// ip-ranges.json it downloaded: vpce-verify/ip-ranges.json in the user's
// cache directory (os.UserCacheDir: $XDG_CACHE_HOME, else ~/.cache, on
// Linux; ~/Library/Caches on macOS).
func CachePath() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("ip-ranges: no cache directory: %w", err)
	}
	return filepath.Join(dir, "vpce-verify", "ip-ranges.json"), nil
}

// maxRangesFile bounds what is read of an ip-ranges.json, from the cache or
// the network: the published file is 2.6 MB (2026) and grows ~30% a year.
const maxRangesFile = 64 << 20

// Current returns the ip-ranges.json to use when none is named: the newer,
// by syncToken, of the cached copy (CachePath) and the embedded snapshot.
// A cached copy that cannot be read or parsed is passed over, with a
// warning, for the embedded snapshot; no cache at all is not worth one.
func Current() (r *Ranges, warning string) {
	if _, err := CachePath(); err != nil {
		return Embedded(), "" // no home directory, so no cache either
	}
	cached, err := Cached()
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return Embedded(), ""
	case err != nil:
		return Embedded(), fmt.Sprintf("the cached ip-ranges.json is unusable, so the embedded snapshot (%s) is used: %v; run vpce-verify ranges update",
			Embedded().CreateDate.Format("2006-01-02"), err)
	case Newer(cached, Embedded()):
		return cached, ""
	}
	return Embedded(), ""
}

// Cached returns the ip-ranges.json that `ranges update` left in the
// cache (CachePath). When there is none, the error wraps fs.ErrNotExist.
func Cached() (*Ranges, error) {
	path, err := CachePath()
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > maxRangesFile {
		return nil, fmt.Errorf("ip-ranges: %s: %d bytes, more than the %d an ip-ranges.json may have", path, st.Size(), maxRangesFile)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(data, path)
}

// Newer reports whether a was published after b: its syncToken, a count of
// seconds, is larger.
func Newer(a, b *Ranges) bool {
	x, y := strings.TrimLeft(a.SyncToken, "0"), strings.TrimLeft(b.SyncToken, "0")
	if len(x) != len(y) {
		return len(x) > len(y)
	}
	return x > y
}
