package pcapfile

import (
	"container/heap"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vpce-verify/vpce-verify/capture"
	"github.com/vpce-verify/vpce-verify/capture/tcpdumptext"
)

// File is one capture file to read: a pcap or pcapng, plain or gzip.
type File struct {
	Name string // as the user gave it ("-" for standard input)
	// Open opens the file; ReadFiles closes what it returns as soon as it
	// is done with it, so that a run over thousands of files holds few
	// descriptors. A regular file (what Open returns has a Stat method, as
	// *os.File does, that says so) is opened twice: once to read the time
	// of its first packet, and again when the merge reaches that time; each
	// call must return the file from its start. Anything else (standard
	// input, a pipe, a device, a reader in memory) is opened once and held
	// until it is read. An error from Open is reported as the input's
	// error, and the other files are read.
	Open func() (io.ReadCloser, error)
}

// ErrTooManyOpen means an input was not read because more inputs that
// overlap it in time were open already than ReadFiles holds at once (at
// most 256, and at most half the process's descriptor limit).
var ErrTooManyOpen = errors.New("too many inputs overlap in time")

// filePeekLimit is how far into a regular file ReadFiles looks for the
// first packet's time before it gives up and reads the file from the start
// of the merge.
const filePeekLimit = 1 << 20

// fileOpenLimit is how many inputs a Merge holds open at once by default:
// at most 256, and at most half the descriptors the process may open, so
// that the report and anything else still find one.
func fileOpenLimit() int {
	return max(1, min(256, fileDescriptorLimit()/2))
}

// ReadFiles feeds the packets of files, merged into one capture in time
// order (Merge), to sink, and returns what was read: capture.Run over a
// Merge, for a caller with nothing else to say about the run.
func ReadFiles(ctx context.Context, sink capture.Sink, files []File) ([]capture.Input, []capture.Interface) {
	m := NewMerge(files, 0)
	capture.Run(ctx, m, sink, capture.RunOptions{})
	return m.Inputs(), m.Interfaces()
}

// Merge reads files as one capture in time order: a capture.Source. A file
// that fails is reported in its Input and the others are read on: what was
// read before the damage is still given. Frame interface numbers index
// Interfaces, the distinct interfaces of all the files.
//
// Files are opened only when the merge needs them: rotated captures, whose
// time ranges follow one another, are read one at a time, and only files
// that overlap in time are open together, at most a bounded number of them
// (beyond which an input is not read and its error wraps ErrTooManyOpen).
type Merge struct {
	m       merger
	waiting []*fileSource // regular files not opened yet, by first packet
	last    *fileSource   // gave the frame Next returned last: read on before the next one
	closed  atomic.Bool
	ended   bool
}

// NewMerge prepares the merge of files: it opens each regular file briefly
// to learn when its first packet is, and opens streams (standard input,
// pipes) at once, since they cannot be opened twice. It holds at most
// maxOpen files open at once (0: at most 256, and at most half the
// process's descriptor limit).
func NewMerge(files []File, maxOpen int) *Merge {
	if maxOpen <= 0 {
		maxOpen = fileOpenLimit()
	}
	g := &Merge{m: merger{inputs: make([]capture.Input, len(files)), maxOpen: maxOpen}}
	m := &g.m
	srcs := make([]fileSource, len(files))
	for i, f := range files {
		s := &srcs[i]
		s.idx, s.file, s.in = i, f, &m.inputs[i]
		s.in.Name = f.Name
		if m.peek(s) {
			g.waiting = append(g.waiting, s)
		}
		if s.regular {
			m.size += s.size
		}
	}
	// Regular files are opened in the order of their first packets; the
	// ones whose first packet is unknown (none, damage, too far in) come
	// first, with the zero time, and are read from the start.
	slices.SortFunc(g.waiting, func(x, y *fileSource) int {
		if c := x.first.Compare(y.first); c != 0 {
			return c
		}
		return x.idx - y.idx
	})
	return g
}

// Next gives the earliest pending packet of the files; io.EOF once every
// file is read, ErrClosed after Close.
func (g *Merge) Next(f *capture.Frame) error {
	m := &g.m
	if g.ended {
		return io.EOF
	}
	if s := g.last; s != nil {
		g.last = nil
		if err := m.next(s); err != nil {
			heap.Pop(&m.heap)
			if g.closed.Load() && errors.Is(err, capture.ErrClosed) {
				err = errInterrupted // Close ended a blocked read: a stop, not damage
			}
			m.finish(s, err)
		} else {
			heap.Fix(&m.heap, 0)
		}
	}
	for {
		if g.closed.Load() {
			g.stop()
			return capture.ErrClosed
		}
		// A file joins the merge when its first packet would be the next
		// one given: until then it stays closed.
		for len(g.waiting) > 0 && (len(m.heap) == 0 || m.heap.before(g.waiting[0].first, g.waiting[0].idx, m.heap[0])) {
			m.open(g.waiting[0])
			g.waiting = g.waiting[1:]
		}
		if len(m.heap) == 0 {
			g.ended = true
			return io.EOF
		}
		s := m.heap[0]
		local := s.frame.Interface
		if lt := s.frame.LinkType; !capture.SupportedLinkType(lt) {
			// Such input must not be skipped in silence: the file ends
			// here, at the record that needs the link type.
			heap.Pop(&m.heap)
			m.finish(s, s.r.fail(s.r.lastNum, s.r.lastOff, fmt.Errorf("interface %d: %w %s (supported: %s)",
				local, capture.ErrLinkType, capture.LinkTypeName(lt), capture.SupportedLinkTypes)))
			continue
		}
		*f = s.frame
		f.Interface = s.local[local]
		s.in.Packets++
		s.in.Bytes += uint64(max(f.WireLen, len(f.Data)))
		if s.in.First.IsZero() || f.TS.Before(s.in.First) {
			s.in.First = f.TS
		}
		if f.TS.After(s.in.Last) {
			s.in.Last = f.TS
		}
		g.last = s
		return nil
	}
}

// stop ends the reading of every file still open or waiting: each is
// marked interrupted.
func (g *Merge) stop() {
	m := &g.m
	for _, s := range m.heap {
		m.finish(s, errInterrupted)
	}
	m.heap = m.heap[:0]
	for _, s := range g.waiting {
		s.in.Interrupted = true
	}
	g.waiting, g.last, g.ended = nil, nil, true
}

// errInterrupted stands for a stop in finish.
var errInterrupted = errors.New("interrupted")

// Close stops the merge: a Next blocked on a stream returns, the next Next
// returns ErrClosed, and every file not read to its end is marked
// interrupted. It may be called from any goroutine.
func (g *Merge) Close() error {
	g.closed.Store(true)
	g.m.mu.Lock()
	defer g.m.mu.Unlock()
	for _, sr := range g.m.streams {
		sr.Close()
	}
	return nil
}

// BytesRead says how many bytes of the files have been read, and how many
// the regular files hold together (0 when there is none: standard input
// or pipes only). Any goroutine may ask, while the merge runs.
func (g *Merge) BytesRead() (read, total int64) { return g.m.read.Load(), g.m.size }

// Interfaces lists the distinct interfaces of the files read so far.
func (g *Merge) Interfaces() []capture.Interface { return slices.Clone(g.m.ifaces) }

// Inputs describes the files; final once Next has returned an error.
func (g *Merge) Inputs() []capture.Input { return slices.Clone(g.m.inputs) }

// fileSource is one input during the merge.
type fileSource struct {
	idx  int
	file File
	in   *capture.Input

	first   time.Time // of the first packet, as the peek saw it
	rc      io.ReadCloser
	regular bool  // rc is a regular file: it can be opened again
	size    int64 // of the regular file when opened
	hash    *fileHash
	r       *Reader
	local   []int         // the reader's interface numbers -> global ones
	frame   capture.Frame // the next packet to give to the analyzer
}

// merger is the state of one ReadFiles.
type merger struct {
	read    atomic.Int64    // bytes read from the files so far (compressed, as stored)
	size    int64           // bytes of the regular files together
	mu      sync.Mutex      // guards streams: Close runs in another goroutine
	streams []*streamReader // the streams started, which Close unblocks
	inputs  []capture.Input
	ifaces  []capture.Interface
	heap    sourceHeap // open sources, each with a packet pending
	nopen   int        // sources whose rc is open
	maxOpen int
}

// peek opens s to learn when its first packet is. A regular file is closed
// again and reported true: it waits, closed, for the merge to reach that
// time. Anything else cannot be opened twice, so it is held open, read
// through its hash from its first byte, and joins the merge now.
func (m *merger) peek(s *fileSource) bool {
	if m.nopen >= m.maxOpen {
		s.in.Err = m.tooMany(s)
		return false
	}
	rc, err := s.file.Open()
	if err != nil {
		s.in.Err = err
		return false
	}
	s.regular, s.size = fileRegular(rc)
	if !s.regular {
		m.start(s, rc)
		return false
	}
	defer rc.Close()
	r, err := NewReader(s.file.Name, fileShortReads{rc})
	if err != nil {
		return true // the zero time: read at once, where the error is found again and reported
	}
	defer r.release()
	r.peekLimit = filePeekLimit
	var f capture.Frame
	if r.Next(&f) == nil {
		s.first = f.TS
	}
	return true
}

// open opens a waiting regular file when the merge reaches its first packet.
func (m *merger) open(s *fileSource) {
	if m.nopen >= m.maxOpen {
		s.in.Err = m.tooMany(s)
		return
	}
	rc, err := s.file.Open()
	if err != nil {
		s.in.Err = err
		return
	}
	s.regular, s.size = fileRegular(rc)
	m.start(s, rc)
}

func (m *merger) tooMany(s *fileSource) error {
	return fmt.Errorf("%s: not read: %d inputs that overlap it in time are open, the most read at once: %w", s.in.Name, m.nopen, ErrTooManyOpen)
}

// start reads the header and first packet of s from rc and puts s in the
// merge, or finishes it if it has no packet.
func (m *merger) start(s *fileSource, rc io.ReadCloser) {
	if !s.regular {
		sr := newStreamReader(rc)
		m.mu.Lock()
		m.streams = append(m.streams, sr)
		m.mu.Unlock()
		rc = sr
	}
	s.rc = rc
	m.nopen++
	s.hash = newFileHash(rc, &m.read)
	r, err := NewReader(s.file.Name, s.hash)
	if err != nil {
		m.finish(s, err)
		return
	}
	s.r = r
	s.in.Format, s.in.Gzip = r.Format(), r.Gzip()
	if err := m.next(s); err != nil {
		m.finish(s, err)
		return
	}
	s.in.Note = r.Note()
	heap.Push(&m.heap, s)
}

// next reads the next packet of s into s.frame, taking note of interfaces
// it has not met before.
func (m *merger) next(s *fileSource) error {
	if err := s.r.Next(&s.frame); err != nil {
		return err
	}
	// The reader lists each distinct interface once, so this runs once
	// per interface, not per packet or per block.
	for _, ifc := range s.r.ifaces[len(s.local):] {
		s.local = append(s.local, len(m.ifaces))
		ifc.Input = s.idx
		m.ifaces = append(m.ifaces, ifc)
		name := capture.LinkTypeName(ifc.LinkType)
		if !slices.Contains(s.in.LinkTypes, name) {
			s.in.LinkTypes = append(s.in.LinkTypes, name)
		}
	}
	return nil
}

// finish ends the reading of s: err is io.EOF at its clean end, else why it
// stopped. The file is closed and hashed, its buffers go back to the pool.
func (m *merger) finish(s *fileSource, err error) {
	switch {
	case err == errInterrupted:
		s.in.Interrupted = true
	case !errors.Is(err, io.EOF):
		s.in.Err = err
	}
	if s.r != nil {
		s.in.Drops, s.in.DropsKnown = s.r.Drops()
		s.in.Note = s.r.Note()
		s.r.release()
		s.r = nil
	}
	if s.hash != nil {
		// The digest names exactly the evidence given, so damage in a
		// regular file is hashed past, to the end the file had when it
		// was opened. A stream may never end (cat /dev/zero): it is not
		// read on, and has no digest rather than one of a part; nor has
		// a file whose reading was stopped or failed.
		whole, rest := s.in.Err == nil && !s.in.Interrupted, int64(0)
		if s.regular && (errors.As(s.in.Err, new(*Error)) || errors.As(s.in.Err, new(*tcpdumptext.Error))) {
			whole, rest = true, max(0, s.size-s.hash.n)
		}
		s.in.SHA256 = s.hash.sum(rest, whole)
		s.in.Size = s.hash.n
		s.hash = nil
	}
	if s.rc != nil {
		s.rc.Close()
		s.rc = nil
		m.nopen--
	}
}

// fileShortReads reads at most 64 KiB at a time, so that a peek at a
// file's first packet reads about that much of it, not a buffer's worth
// (1 MiB) of every file.
type fileShortReads struct{ r io.Reader }

func (s fileShortReads) Read(p []byte) (int, error) {
	return s.r.Read(p[:min(len(p), 64<<10)])
}

// fileRegular reports whether rc is a regular file, and its size.
func fileRegular(rc io.ReadCloser) (bool, int64) {
	st, ok := rc.(interface{ Stat() (fs.FileInfo, error) })
	if !ok {
		return false, 0
	}
	fi, err := st.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return false, 0
	}
	return true, fi.Size()
}

// sourceHeap orders the open sources by their pending packet's time, ties
// by file order, so the merge is the same as comparing every source's next
// packet, at O(log open files) per packet.
type sourceHeap []*fileSource

func (h sourceHeap) Len() int { return len(h) }

func (h sourceHeap) Less(i, j int) bool {
	return h.before(h[i].frame.TS, h[i].idx, h[j])
}

// before reports whether a packet at ts of file idx goes before s's.
func (h sourceHeap) before(ts time.Time, idx int, s *fileSource) bool {
	if c := ts.Compare(s.frame.TS); c != 0 {
		return c < 0
	}
	return idx < s.idx
}

func (h sourceHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *sourceHeap) Push(x any)   { *h = append(*h, x.(*fileSource)) }

func (h *sourceHeap) Pop() any {
	old := *h
	s := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return s
}

// fileHash counts every byte read through it and hashes it with SHA-256 in
// a goroutine of its own, so that hashing the evidence (the slowest part of
// reading a file) runs beside the analysis instead of before it. The
// goroutine ends with sum.
type fileHash struct {
	r    io.Reader
	n    int64
	read *atomic.Int64 // the merge's count of bytes read, all files
	err  error         // the first read error other than EOF
	work chan *[]byte  // chunks to hash, taken from hashChunks
	done chan [32]byte // the digest, once work is closed and drained
}

// hashBuffers bounds the chunks in flight between the reader and the
// hashing goroutine of one file.
const hashBuffers = 4

// hashChunks are the copies of what was read that the hashing goroutines
// are given; they go back once hashed, so a file that is open but idle
// holds none.
var hashChunks = sync.Pool{New: func() any { return new([]byte) }}

func newFileHash(r io.Reader, read *atomic.Int64) *fileHash {
	f := &fileHash{r: r, read: read, work: make(chan *[]byte, hashBuffers), done: make(chan [32]byte, 1)}
	go func() {
		h := sha256.New()
		var d [32]byte
		for b := range f.work {
			h.Write(*b)
			hashChunks.Put(b)
		}
		f.done <- [32]byte(h.Sum(d[:0]))
	}()
	return f
}

func (f *fileHash) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if n > 0 {
		b := hashChunks.Get().(*[]byte)
		*b = append((*b)[:0], p[:n]...)
		f.work <- b
		f.n += int64(n)
		f.read.Add(int64(n))
	}
	if err != nil && err != io.EOF && f.err == nil {
		f.err = err
	}
	return n, err
}

// sum reads up to rest more bytes of the file, ends the hashing and returns
// the digest, or "" when reading failed or whole is false: a digest of part
// of the file is no evidence's hash.
func (f *fileHash) sum(rest int64, whole bool) string {
	if rest > 0 && f.err == nil {
		b := hashChunks.Get().(*[]byte)
		buf := slices.Grow((*b)[:0], 256<<10)[:256<<10]
		for rest > 0 {
			n, err := f.Read(buf[:min(int64(len(buf)), rest)])
			rest -= int64(n)
			if err != nil {
				break
			}
		}
		*b = buf
		hashChunks.Put(b)
	}
	close(f.work)
	d := <-f.done
	if f.err != nil || !whole {
		return ""
	}
	return hex.EncodeToString(d[:])
}
