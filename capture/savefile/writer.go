package savefile

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/vpce-verify/vpce-verify/capture"
)

// A Writer keeps whole records in memory and writes them to the file at
// least this often, and whenever this many bytes are waiting (or after
// every packet with Options.Flush): a capture killed at any moment leaves
// a file that ends on a record boundary and holds everything up to the
// previous write.
const (
	writerFlushEvery = time.Second
	writerFlushBytes = 1 << 20
)

// DefaultMaxListed is how many closed files a Writer lists by default; the
// earlier ones are counted.
const DefaultMaxListed = 1000

// ErrFileLimit is why a Writer rotating by time (Options.Every) with a
// limit (Options.Files) says the capture is over: as tcpdump -G -W exits
// when the limit is reached.
var ErrFileLimit = errors.New("file limit")

// Options say where packets are saved and when a new file begins, with the
// meanings of tcpdump's -w, -C, -G, -W and -U.
type Options struct {
	// Name is the file (-w): pcapng when it ends in .pcapng, pcap
	// otherwise, gzip-compressed when it ends in .gz (FormatOf). "-"
	// writes pcap to Stdout. With Every it is a strftime pattern
	// (Expand), expanded with each file's start time.
	Name   string
	Stdout io.Writer
	// Size (-C) starts a new file before a packet when the current one
	// is larger than this many bytes (uncompressed); the files are
	// numbered as tcpdump numbers them: Name, Name1, Name2, ... (with
	// Files: Name0 ... NameN-1, the digits padded, then Name0 again).
	Size int64
	// Every (-G) starts a new file at each multiple of this duration
	// after the start, named from Name by Expand with that time.
	Every time.Duration
	// Files (-W): with Size, a ring of this many files per period; with
	// Every alone, the number of files after which Limit is closed.
	Files int
	// Flush writes every packet to the file as it comes (-U); otherwise
	// records wait up to a second or a megabyte.
	Flush bool
	// Location is the time zone of the names (default: time.Local, as
	// tcpdump's localtime).
	Location *time.Location
	// MaxListed caps Files's list (default DefaultMaxListed).
	MaxListed int
	// Meta is what a pcapng file says of itself besides the packets.
	Meta Meta
}

// Meta is what a pcapng file says of itself: its section header's comment,
// shb_os and shb_userappl, and each interface's if_description and
// if_filter (Wireshark's capture file properties and capinfos show them).
// A pcap file has no place for them.
type Meta struct {
	// Comment is the section's comment (opt_comment): what the file is.
	Comment string
	// OS is shb_os, e.g. "Linux 6.1.0-18-amd64 x86_64"; default
	// runtime.GOOS.
	OS string
	// Application is shb_userappl, e.g. "vpce-verify v1.2.0"; default
	// "vpce-verify".
	Application string
	// Descriptions are if_description, by interface index (missing or ""
	// for none).
	Descriptions []string
	// Filter is if_filter of every interface: the capture filter in use.
	Filter string
}

// Check says whether the options can work, before anything is opened.
func (o Options) Check() error {
	switch {
	case o.Name == "":
		return errors.New("no file name")
	case o.Size < 0:
		return fmt.Errorf("file size %d: want 1 or more bytes", o.Size)
	case o.Every < 0:
		return fmt.Errorf("rotation every %v: want a positive duration", o.Every)
	case o.Files < 0:
		return fmt.Errorf("file count %d: want 1 or more", o.Files)
	case o.Files > 0 && o.Size == 0 && o.Every == 0:
		return errors.New("a file count needs a file size or a rotation time")
	case o.Name == Stdout && (o.Size > 0 || o.Every > 0):
		return errors.New("standard output cannot be rotated: name a file")
	}
	if o.Every > 0 {
		if _, err := CheckPattern(o.Name); err != nil {
			return err
		}
	}
	return nil
}

// Writer saves frames to one file, or to a series of files rotated by
// size and time as tcpdump rotates them. Each file is complete once
// closed: header, whole records and, for gzip, the end of the stream. A
// pcapng file keeps each interface's name and link type, and the last
// file gets, at Close, the kernel's counters for the whole capture; a pcap
// file holds one link type. Timestamps keep their nanoseconds. Its
// methods may be called from several goroutines.
type Writer struct {
	o      Options
	ifaces []capture.Interface
	format string
	gzip   bool
	digits int

	mu          sync.Mutex
	seg         *segment
	err         error // the first failure; every later call returns it
	closed      bool
	count       int       // the number of the current file in a -C series
	period      int       // files begun by time (-G), the first included
	periodStart time.Time // the start of the current -G period
	files       []File    // closed files, oldest first
	overwritten uint64    // files listed before and written over since
	notListed   uint64    // files beyond MaxListed
	limit       chan struct{}
	limitHit    bool

	stop chan struct{}
	done chan struct{}
}

// Open creates the first file (or starts writing to Stdout) and writes its
// header: one interface block per interface for pcapng; Frame.Interface
// indexes ifaces. Nothing is created when the options are wrong or a pcap
// file cannot hold the interfaces' link types.
func Open(o Options, ifaces []capture.Interface) (*Writer, error) {
	if err := o.Check(); err != nil {
		return nil, fmt.Errorf("write %s: %w", o.Name, err)
	}
	if len(ifaces) == 0 {
		return nil, fmt.Errorf("write %s: no interface", o.Name)
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.MaxListed <= 0 {
		o.MaxListed = DefaultMaxListed
	}
	w := &Writer{o: o, ifaces: ifaces, limit: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	w.format, w.gzip = FormatOf(o.Name)
	if o.Size > 0 {
		w.digits = countDigits(o.Files)
	}
	now := time.Now()
	w.periodStart, w.period = now, 1
	seg, err := w.openSegment(now)
	if err != nil {
		return nil, err
	}
	w.seg = seg
	go w.background()
	return w, nil
}

// NewWriter writes one file, named path, without rotation.
func NewWriter(path string, ifaces []capture.Interface) (*Writer, error) {
	return Open(Options{Name: path}, ifaces)
}

// fileName is the name of the current file: Name, expanded with the
// period's start when rotating by time, numbered in a -C series.
func (w *Writer) fileName() string {
	name := w.o.Name
	if w.o.Every > 0 {
		name = Expand(name, w.periodStart.In(w.o.Location))
	}
	if w.o.Size > 0 {
		name = numbered(name, w.count, w.digits)
	}
	return name
}

func (w *Writer) openSegment(now time.Time) (*segment, error) {
	var dst io.Writer
	if w.o.Name == Stdout {
		dst = w.o.Stdout
		if dst == nil {
			return nil, fmt.Errorf("write -: no standard output")
		}
	}
	return openSegment(w.fileName(), w.format, w.gzip, w.ifaces, dst, now, w.o.Meta)
}

// background flushes what waits every second and begins the files of
// each -G period.
func (w *Writer) background() {
	defer close(w.done)
	t := time.NewTicker(writerFlushEvery)
	defer t.Stop()
	var rotate <-chan time.Time
	var timer *time.Timer
	if w.o.Every > 0 {
		timer = time.NewTimer(w.o.Every)
		defer timer.Stop()
		rotate = timer.C
	}
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			w.mu.Lock()
			if w.seg != nil && w.seg.dirty && w.err == nil && !w.closed {
				w.err = w.seg.flush()
			}
			w.mu.Unlock()
		case <-rotate:
			w.mu.Lock()
			next := w.rotateByTime()
			w.mu.Unlock()
			if next <= 0 {
				rotate = nil
				continue
			}
			timer.Reset(next)
		}
	}
}

// rotateByTime ends the current -G period: it closes the file and opens
// the next period's, or, when Files files were begun, closes Limit and
// keeps the last file open for the packets still to come until Close. It
// returns how long until the next period ends; 0 when no rotation will
// follow.
func (w *Writer) rotateByTime() time.Duration {
	if w.closed || w.err != nil {
		return 0
	}
	if w.o.Files > 0 && w.o.Size == 0 && w.period >= w.o.Files {
		if !w.limitHit {
			w.limitHit = true
			close(w.limit)
		}
		return 0
	}
	// The periods follow each other from the first one's start, so that
	// a late timer does not shift every later file.
	w.periodStart = w.periodStart.Add(w.o.Every)
	now := time.Now()
	for !w.periodStart.Add(w.o.Every).After(now) {
		w.periodStart = w.periodStart.Add(w.o.Every)
	}
	w.period++
	w.count = 0
	if err := w.rotate(now); err != nil {
		w.err = err
		return 0
	}
	return w.periodStart.Add(w.o.Every).Sub(now)
}

// rotate closes the current file and opens the one fileName now names.
func (w *Writer) rotate(now time.Time) error {
	f := w.seg.close(nil, nil)
	w.seg = nil
	w.list(f)
	if f.Err != nil {
		return f.Err
	}
	seg, err := w.openSegment(now)
	if err != nil {
		return err
	}
	w.seg = seg
	return nil
}

// list adds a closed file to the list: a file of the same name listed
// before was written over, and the oldest beyond MaxListed are counted.
func (w *Writer) list(f File) {
	for i := range w.files {
		if w.files[i].Name == f.Name {
			w.files = append(w.files[:i], w.files[i+1:]...)
			w.overwritten++
			break
		}
	}
	if len(w.files) >= w.o.MaxListed {
		n := len(w.files) - w.o.MaxListed + 1
		w.files = append(w.files[:0], w.files[n:]...)
		w.notListed += uint64(n)
	}
	w.files = append(w.files, f)
}

// Limit is closed once a Writer rotating by time has begun its Files
// files and the last period is over: the capture should stop, as tcpdump
// -G -W exits (the stop's last packets still go to the last file).
func (w *Writer) Limit() <-chan struct{} { return w.limit }

// Write adds one frame, first starting a new file when the current one is
// past Options.Size. Its data is copied before Write returns.
func (w *Writer) Write(f *capture.Frame) error { return w.WriteComment(f, "") }

// WriteComment is Write with a packet comment (opt_comment, what Wireshark
// shows as frame.comment) when comment is not "" and the file is pcapng;
// a pcap file has no place for it.
func (w *Writer) WriteComment(f *capture.Frame, comment string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return fmt.Errorf("write %s: %w", w.o.Name, errWriterClosed)
	}
	if w.o.Size > 0 && w.seg.size() > w.o.Size {
		w.count++
		if w.o.Files > 0 && w.count >= w.o.Files {
			w.count = 0
		}
		if w.err = w.rotate(time.Now()); w.err != nil {
			return w.err
		}
	}
	if err := w.seg.write(f, comment); err != nil {
		if w.seg.ng != nil {
			// pcapgo has written part of a record: the file is no
			// longer whole past this point.
			w.err = err
		}
		return err
	}
	if w.o.Flush || w.seg.buf.Len() >= writerFlushBytes {
		w.err = w.seg.flush()
	}
	return w.err
}

var errWriterClosed = errors.New("writer closed")

// Close writes what is still buffered and closes the current file. With
// stats, one per interface in the order of the writer's interfaces (a live
// capture's kernel counters), a pcapng file also gets an interface
// statistics block per interface, with the packets the kernel received
// (isb_ifrecv) and dropped (isb_ifdrop). A second Close does nothing.
func (w *Writer) Close(stats []capture.Counts) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	w.mu.Unlock()
	close(w.stop)
	<-w.done

	w.mu.Lock()
	defer w.mu.Unlock()
	if w.seg == nil {
		return w.err
	}
	f := w.seg.close(stats, w.err)
	w.seg = nil
	w.list(f)
	return f.Err
}

// Files lists the files written and closed, oldest first (after Close:
// every file), with how many files listed before were written over since
// (the -C -W ring, or a -G name without time) and how many are not listed
// (beyond MaxListed, the oldest).
func (w *Writer) Files() (files []File, overwritten, notListed uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]File(nil), w.files...), w.overwritten, w.notListed
}

// SHA256 returns the hex SHA-256 of the file once Close succeeded, when
// a single file was written; "" otherwise.
func (w *Writer) SHA256() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed || w.seg != nil || len(w.files) != 1 || w.overwritten+w.notListed > 0 {
		return ""
	}
	return w.files[0].SHA256
}
