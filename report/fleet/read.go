package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

// ReportName is the file a folder walk picks: the report of an evidence
// bundle (--evidence DIR), however deep (the S3 layout Run Command and the
// SSM document write is PREFIX/COMMAND-ID/INSTANCE-ID/...).
const ReportName = "report.json"

// MaxReportBytes is the largest file read as a report. A report's lists are
// capped (report.DefaultLimits), so a real one is a few megabytes; what is
// larger is not read whole into memory, and counts as unreadable.
const MaxReportBytes = 64 << 20

// reportSchema is the only report schema this version reads.
const reportSchema = "vpce-verify/report/v1"

// Find calls f with each report under paths, in order: a file named on the
// command line is read whatever its name; a folder is walked for files
// named report.json, in lexical order. A path that cannot be read or
// walked is given with its error. It stops when ctx is done, and says so.
func Find(ctx context.Context, paths []string, f func(path string, err error)) (interrupted bool) {
	for _, p := range paths {
		if ctx.Err() != nil {
			return true
		}
		st, err := os.Stat(p)
		if err != nil {
			f(p, bare(err))
			continue
		}
		if !st.IsDir() {
			f(p, nil)
			continue
		}
		found := false
		werr := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err != nil {
				// A folder that cannot be listed may hold reports:
				// it is named, never skipped in silence.
				f(path, fmt.Errorf("cannot be listed: %w", bare(err)))
				found = true
				if d != nil && d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			// A link named report.json is followed (a folder behind
			// one is not walked).
			if !d.IsDir() && d.Name() == ReportName {
				found = true
				f(path, nil)
			}
			return nil
		})
		if errors.Is(werr, context.Canceled) || errors.Is(werr, context.DeadlineExceeded) {
			return true
		}
		if !found {
			f(p, fmt.Errorf("no %s under this folder", ReportName))
		}
	}
	return ctx.Err() != nil
}

// bare drops the path an *fs.PathError repeats: the caller names the file.
func bare(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// reportDoc is what a merge reads of a report.json (schema
// vpce-verify/report/v1): the rest is skipped.
type reportDoc struct {
	Schema *string `json:"schema"`
	Tool   struct {
		Version string `json:"version"`
	} `json:"tool"`
	Verdict           *string     `json:"verdict"`
	PartialVerdict    string      `json:"partial_verdict"`
	Reason            string      `json:"reason"`
	GeneratedAt       string      `json:"generated_at"`
	Violations        []violation `json:"violations"`
	ViolationsOmitted int         `json:"violations_omitted"`
	// Capture is set in the reports of live captures (capture, verify):
	// only then is the provenance's host the one whose traffic it is.
	Capture *struct {
		Started string `json:"started"`
	} `json:"capture"`
	Provenance *struct {
		Host struct {
			Hostname string `json:"hostname"`
			EC2      *struct {
				InstanceID string `json:"instance_id"`
				AccountID  string `json:"account_id"`
				Region     string `json:"region"`
				VPCID      string `json:"vpc_id"`
			} `json:"ec2"`
		} `json:"host"`
		Window *struct {
			First string `json:"first_packet"`
			Last  string `json:"last_packet"`
		} `json:"capture_window"`
	} `json:"provenance"`
}

type violation struct {
	Client  string    `json:"client"`
	Server  string    `json:"server"`
	FirstTS string    `json:"first_ts"`
	Bytes   [2]uint64 `json:"bytes"`
	SNI     string    `json:"sni"`
	S3Name  string    `json:"s3_name"`
	Path    string    `json:"path"`
	AWS     *struct {
		Region string `json:"region"`
		Prefix string `json:"prefix"`
	} `json:"aws"`
}

// Read reads one report file into a run. A file that cannot be read, is
// not JSON, is not a vpce-verify report or is damaged gives a run with
// Error set (one line: what was wrong, with the byte offset when known),
// which counts as inconclusive.
func Read(path string, topN int) Run {
	var buf []byte
	return read(path, topN, &buf)
}

// read is Read with a buffer reused from one report to the next.
func read(path string, topN int, buf *[]byte) Run {
	r := Run{File: path, Verdict: Inconclusive}
	b, err := readLimited(path, buf)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	if err := parse(b, topN, &r); err != nil {
		r = Run{File: path, Verdict: Inconclusive, Error: err.Error()}
	}
	return r
}

// readLimited reads a whole file of at most MaxReportBytes into *buf,
// grown as needed (a buffer larger than 1 MiB is not kept for the next).
func readLimited(path string, buf *[]byte) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, bare(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, bare(err)
	}
	if !st.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	if st.Size() > MaxReportBytes {
		return nil, fmt.Errorf("%d bytes: larger than a report can be (%d MiB); not read", st.Size(), MaxReportBytes>>20)
	}
	// The size is a hint (the file may change as it is read): one byte
	// more than it tells a file that grew.
	want := int(st.Size()) + 512
	b := *buf
	if cap(b) < want {
		b = make([]byte, 0, want)
	}
	b = b[:0]
	for {
		if len(b) == cap(b) {
			if len(b) > MaxReportBytes {
				return nil, fmt.Errorf("larger than a report can be (%d MiB); not read", MaxReportBytes>>20)
			}
			b = append(b, 0)[:len(b)]
		}
		n, err := f.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, bare(err)
		}
	}
	if len(b) > MaxReportBytes {
		return nil, fmt.Errorf("larger than a report can be (%d MiB); not read", MaxReportBytes>>20)
	}
	if cap(b) <= 1<<20 {
		*buf = b
	}
	return b, nil
}

// parse checks and summarises a report.
func parse(b []byte, topN int, r *Run) error {
	if len(strings.TrimSpace(string(b[:min(len(b), 512)]))) == 0 {
		return errors.New("empty file")
	}
	var rep reportDoc
	if err := json.Unmarshal(b, &rep); err != nil {
		return jsonError(err, len(b))
	}
	switch {
	case rep.Schema == nil:
		return errors.New("not a vpce-verify report: no \"schema\" field")
	case *rep.Schema != reportSchema:
		return fmt.Errorf("schema %q: not a report this version reads (%s)", *rep.Schema, reportSchema)
	case rep.Verdict == nil:
		return errors.New("damaged report: no \"verdict\" field")
	}
	v := *rep.Verdict
	if v != Pass && v != Fail && v != Inconclusive && v != Error {
		return fmt.Errorf("damaged report: verdict %q is not pass, fail, inconclusive or error", v)
	}
	if rep.ViolationsOmitted < 0 {
		return fmt.Errorf("damaged report: violations_omitted %d", rep.ViolationsOmitted)
	}
	r.Verdict, r.PartialVerdict, r.Reason = v, rep.PartialVerdict, rep.Reason
	r.GeneratedAt, r.ToolVersion = rep.GeneratedAt, rep.Tool.Version
	r.Violations = len(rep.Violations) + rep.ViolationsOmitted
	// Fail safe: a listed leak is a leak, whatever the verdict says.
	switch {
	case r.Violations > 0 && v != Fail:
		r.Note = fmt.Sprintf("the report says %s but lists %d violations: counted as fail", v, r.Violations)
		r.Verdict = Fail
	case v == Error && rep.PartialVerdict == Fail:
		r.Note = "the report's partial verdict is fail: counted as fail"
		r.Verdict = Fail
	}
	if p := rep.Provenance; p != nil {
		// The host of a live capture's report is the host whose traffic
		// it is. analyze's is where the files were read, which says
		// nothing of where they were captured (ten hosts' captures read
		// on one laptop are not one host): its report names the host.
		if rep.Capture != nil {
			r.hostname = p.Host.Hostname
			if e := p.Host.EC2; e != nil {
				r.instanceID, r.account, r.region, r.vpc = e.InstanceID, e.AccountID, e.Region, e.VPCID
			}
		} else {
			r.AnalysedOn = p.Host.Hostname
			if e := p.Host.EC2; e != nil && e.InstanceID != "" {
				r.AnalysedOn = e.InstanceID
			}
		}
		if w := p.Window; w != nil {
			r.CaptureFirst, r.CaptureLast = w.First, w.Last
		}
	}
	r.Time = r.CaptureFirst
	if r.Time == "" {
		r.Time = r.GeneratedAt
	}
	r.when = parseTime(r.Time)
	top := make([]Violation, 0, min(len(rep.Violations), topN))
	for _, x := range rep.Violations {
		t := Violation{Client: x.Client, Server: x.Server, FirstTS: x.FirstTS, Bytes: x.Bytes[0] + x.Bytes[1],
			Name: x.S3Name, Path: x.Path}
		if t.Name == "" {
			t.Name = x.SNI
		}
		if x.AWS != nil {
			t.Region, t.Prefix = x.AWS.Region, x.AWS.Prefix
		}
		top = topViolations(top, []Violation{t}, topN)
	}
	r.top = top
	return nil
}

// jsonError says where the JSON went wrong, in one line.
func jsonError(err error, size int) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se) && se.Offset >= int64(size):
		return fmt.Errorf("not a whole JSON document: it ends at byte %d (truncated?)", size)
	case errors.As(err, &se):
		// Offset counts the bytes read, the wrong one included.
		return fmt.Errorf("not JSON at byte offset %d: %v", se.Offset-1, se)
	case errors.As(err, &te) && te.Field == "":
		return fmt.Errorf("not a vpce-verify report: the JSON is a %s, not an object", te.Value)
	case errors.As(err, &te):
		return fmt.Errorf("damaged report before byte offset %d: %s is a JSON %s, want %s", te.Offset, te.Field, te.Value, te.Type)
	}
	return fmt.Errorf("not JSON: %v", err)
}

// Options of Merge.
type Options struct {
	Limits Limits
	// Workers read reports at once; 0: one per CPU (GOMAXPROCS), at most 8.
	Workers int
	Tool    Tool
	Now     func() time.Time
	// Unreadable, when set, is told of each report that could not be
	// read, as it is found.
	Unreadable func(Run)
}

// Merge finds the reports under paths, reads them (a few at once) and
// merges them.
func Merge(ctx context.Context, paths []string, o Options) *Fleet {
	lim := o.Limits.orDefault()
	workers := o.Workers
	if workers <= 0 {
		workers = min(runtime.GOMAXPROCS(0), 8)
	}
	// Reports are read a few at once, and merged in the order they were
	// found: the output (and which hosts a cap leaves out) does not
	// depend on which worker finished first. At most maxInFlight reports
	// are between being found and being merged, so what waits behind a
	// slow one is bounded.
	type job struct {
		seq  int
		path string
		err  error
	}
	type done struct {
		seq int
		run Run
	}
	const maxInFlight = 256
	slots := make(chan struct{}, maxInFlight)
	jobs := make(chan job, 64)
	runs := make(chan done, 64)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for j := range jobs {
				if j.err != nil {
					runs <- done{j.seq, Run{File: j.path, Verdict: Inconclusive, Error: j.err.Error(), notReport: true}}
					continue
				}
				runs <- done{j.seq, read(j.path, lim.TopViolations, &buf)}
			}
		}()
	}
	var interrupted bool
	go func() {
		seq := 0
		interrupted = Find(ctx, paths, func(p string, err error) {
			slots <- struct{}{}
			jobs <- job{seq, p, err}
			seq++
		})
		close(jobs)
		wg.Wait()
		close(runs)
	}()
	m := NewMerger(lim)
	waiting := map[int]Run{}
	next := 0
	for d := range runs {
		waiting[d.seq] = d.run
		for {
			r, ok := waiting[next]
			if !ok {
				break
			}
			delete(waiting, next)
			next++
			<-slots
			if r.Error != "" && o.Unreadable != nil {
				o.Unreadable(r)
			}
			m.Add(r)
		}
	}
	// runs is closed after Find returned: interrupted is set.
	if interrupted {
		m.Interrupted()
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	return m.Fleet(o.Tool, now())
}
