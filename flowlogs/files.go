package flowlogs

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
)

// Input is one file read, as the report lists it.
type Input struct {
	Name   string `json:"name"`
	Format string `json:"format"` // text, parquet or cloudwatch-json
	Gzip   bool   `json:"gzip"`
	Size   int64  `json:"size"`
	// SHA256 is of the file's bytes as stored; "" when it could not be
	// read to its end.
	SHA256 string `json:"sha256"`
	// Records counts the records read; BadRecords the lines, events or
	// rows that could not be read (each skipped, the rest read).
	Records    uint64 `json:"records"`
	BadRecords uint64 `json:"bad_records"`
	// Complete says the file was read to its end and every record of it
	// could be read.
	Complete bool `json:"complete"`
	// Error says why the file could not be read to its end; null when it
	// was.
	Error *string `json:"error"`
	// Problems are the first bad records, "line 7: ..."; the rest are
	// counted in BadRecords.
	Problems []string `json:"problems"`
}

// Unreadable is the Input of a file or folder that could not be opened or
// walked (an error of Expand): listed, incomplete, with nothing read.
func Unreadable(err error) Input {
	in := Input{Format: "-", Problems: []string{}}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		in.Name, err = pe.Path, pe.Err
	}
	s := err.Error()
	in.Error = &s
	return in
}

// maxProblems is how many bad records of a file are described.
const maxProblems = 10

// ReadFile reads the flow log records of the file at path and hands each to
// emit; format is for text without a header line (nil: the default
// format). The kind of file is told by its content: gzip, Parquet,
// CloudWatch Logs JSON, or text. A bad record is counted and described in
// the Input, and the rest are read; an error that stops the reading is
// its Error.
func ReadFile(path string, format *Format, emit func(*Record)) Input {
	in := Input{Name: path, Format: "text", Problems: []string{}}
	bad := func(where string, err error) {
		in.BadRecords++
		if len(in.Problems) < maxProblems {
			in.Problems = append(in.Problems, where+": "+err.Error())
		}
	}
	count := func(r *Record) {
		in.Records++
		emit(r)
	}
	err := readFile(&in, path, format, count, bad)
	if err != nil {
		s := err.Error()
		in.Error = &s
		in.SHA256 = "" // the hash of part of a file would be taken for the file's
	}
	in.Complete = err == nil && in.BadRecords == 0
	return in
}

func readFile(in *Input, path string, format *Format, emit func(*Record), bad func(string, error)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.IsDir() {
		return errors.New("is a directory")
	}
	in.Size = st.Size()
	var head [4]byte
	n, _ := io.ReadFull(f, head[:])
	if n == 4 && string(head[:]) == "PAR1" && st.Mode().IsRegular() {
		in.Format = "parquet"
		h := sha256.New()
		if _, err := io.Copy(h, io.NewSectionReader(f, 0, st.Size())); err != nil {
			return err
		}
		in.SHA256 = hex.EncodeToString(h.Sum(nil))
		return readParquet(f, st.Size(), emit, bad)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	return readStream(in, f, format, emit, bad)
}

// readStream reads a file that is not Parquet: text or CloudWatch Logs
// JSON, gzip-compressed or not, told by its first bytes. The hash covers
// every byte of it.
func readStream(in *Input, f io.Reader, format *Format, emit func(*Record), bad func(string, error)) error {
	raw := &hashReader{r: f, h: sha256.New()}
	defer func() { in.SHA256 = raw.sum() }()
	br := bufio.NewReaderSize(raw, 64<<10)
	var r io.Reader = br
	if head, _ := br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		in.Gzip = true
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		r = zr
	}
	body := bufio.NewReaderSize(r, 64<<10)
	peek, _ := body.Peek(512)
	var err error
	switch t := bytes.TrimLeft(peek, " \t\r\n"); {
	case bytes.HasPrefix(t, []byte("PAR1")):
		in.Format = "parquet"
		return errors.New("a gzip-compressed Parquet file: decompress it first (gunzip -k), Parquet is read in place")
	case len(t) > 0 && t[0] == '{':
		in.Format = "cloudwatch-json"
		err = readCloudWatch(body, format, emit, bad)
	default:
		err = readText(body, format, emit, bad)
	}
	if err == nil && in.Gzip {
		// Read what the decompressor left: the hash covers the whole file.
		_, err = io.Copy(io.Discard, br)
	}
	if errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) || errors.Is(err, io.ErrUnexpectedEOF) {
		err = fmt.Errorf("gzip: %w (the file is damaged or cut short)", err)
	}
	return err
}

type hashReader struct {
	r io.Reader
	h hash.Hash
}

func (h *hashReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	return n, err
}

func (h *hashReader) sum() string { return hex.EncodeToString(h.h.Sum(nil)) }

// Files are the files to read, found from the paths given.
type Files struct {
	Paths []string
	// Skipped counts the files left out because their S3 delivery folder
	// (YYYY/MM/DD[/HH]) is outside the time window.
	Skipped int
	// Ignored counts files in folders that are not flow logs by their name
	// (not .log, .gz, .parquet, .json or .txt).
	Ignored int
}

// pathMargin widens the time window for skipping folders: a record's start
// can precede the file's time by its aggregation interval (at most 10
// minutes) and the delivery's lag.
const pathMargin = time.Hour

// Expand lists the files to read: a file given is read whatever its name;
// a folder is walked (an S3 delivery's AWSLogs/ACCOUNT/vpcflowlogs/REGION/
// YYYY/MM/DD/ layout, or Hive-style year=YYYY/month=MM/day=DD, with or
// without an hour level), and its files whose folder date is outside
// [since, until] are skipped unread. Zero times leave the window open.
// Files come in path order.
func Expand(args []string, since, until time.Time) (Files, []error) {
	var out Files
	var errs []error
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !st.IsDir() {
			out.Paths = append(out.Paths, a)
			continue
		}
		var found []string
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				errs = append(errs, err)
				return nil
			}
			if d.IsDir() {
				if p != a && strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				if from, to, ok := pathWindow(p, true); ok && outside(from, to, since, until) {
					out.Skipped += countFiles(p)
					return filepath.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() || strings.HasPrefix(d.Name(), ".") {
				return nil
			}
			if !logName(d.Name()) {
				out.Ignored++
				return nil
			}
			found = append(found, p)
			return nil
		})
		if err != nil {
			errs = append(errs, err)
		}
		slices.Sort(found)
		out.Paths = append(out.Paths, found...)
	}
	return out, errs
}

func logName(name string) bool {
	for _, ext := range []string{".log", ".gz", ".parquet", ".json", ".txt"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

func countFiles(dir string) int {
	n := 0
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && logName(d.Name()) {
			n++
		}
		return nil
	})
	return n
}

func outside(from, to, since, until time.Time) bool {
	if !since.IsZero() && !to.Add(pathMargin).After(since) {
		return true
	}
	return !until.IsZero() && from.Add(-pathMargin).After(until)
}

// pathWindow reads the delivery date at the end of a folder path: .../YYYY/
// MM/DD or .../YYYY/MM/DD/HH, or year=YYYY/month=MM/day=DD[/hour=HH]. It
// returns the interval the folder covers, in UTC.
func pathWindow(p string, dir bool) (from, to time.Time, ok bool) {
	parts := strings.Split(filepath.ToSlash(p), "/")
	if !dir && len(parts) > 0 {
		parts = parts[:len(parts)-1]
	}
	num := func(s, key string, digits, lo, hi int) (int, bool) {
		if key != "" {
			v, found := strings.CutPrefix(s, key+"=")
			if !found {
				return 0, false
			}
			s = v
		}
		if len(s) != digits {
			return 0, false
		}
		n, err := strconv.Atoi(s)
		return n, err == nil && n >= lo && n <= hi
	}
	for _, hive := range []bool{false, true} {
		k := func(key string) string {
			if hive {
				return key
			}
			return ""
		}
		n := len(parts)
		for _, hourly := range []bool{true, false} {
			i := n - 3
			if hourly {
				i = n - 4
			}
			if i < 0 {
				continue
			}
			y, ok1 := num(parts[i], k("year"), 4, 1970, 2999)
			m, ok2 := num(parts[i+1], k("month"), 2, 1, 12)
			d, ok3 := num(parts[i+2], k("day"), 2, 1, 31)
			if !ok1 || !ok2 || !ok3 {
				continue
			}
			day := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
			if day.Day() != d {
				continue // February 30
			}
			if hourly {
				h, okh := num(parts[i+3], k("hour"), 2, 0, 23)
				if !okh {
					continue
				}
				from = day.Add(time.Duration(h) * time.Hour)
				return from, from.Add(time.Hour), true
			}
			return day, day.AddDate(0, 0, 1), true
		}
	}
	return time.Time{}, time.Time{}, false
}
