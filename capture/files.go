package capture

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
)

// File is one capture file to read: a pcap or pcapng, plain or gzip.
type File struct {
	Name string // as the user gave it ("-" for standard input)
	R    io.Reader
	// Err, when not nil, is why the file could not be opened: it is
	// reported as the input's error and the other files are read.
	Err error
}

// Input is what reading one file gave.
type Input struct {
	Name      string
	Format    string // "pcap" or "pcapng"; "" when the header did not parse
	Gzip      bool
	SHA256    string // of the whole file as stored (compressed bytes when gzip)
	Size      int64  // bytes in the file
	LinkTypes []string
	Packets   uint64
	Bytes     uint64 // frame lengths on the wire
	// Drops is what the capturing system said it dropped (pcapng interface
	// statistics); DropsKnown is false when the file does not say.
	Drops      uint64
	DropsKnown bool
	// Err is why the file was not read to its end; nil when it was.
	Err error
}

// FileInterface is one capture interface of one of the files read.
type FileInterface struct {
	Input int // index into the inputs
	Interface
}

// checkEvery is how many packets pass between checks of the context.
const checkEvery = 4096

// ReadFiles feeds the packets of files, merged into one capture in time
// order, to a. A file that fails is reported in its Input and the others
// are read on: what was read before the damage is still analysed. Frame
// interface numbers given to a index the returned interface list.
func ReadFiles(ctx context.Context, a *Analyzer, files []File) ([]Input, []FileInterface) {
	type source struct {
		in      *Input
		r       *FileReader
		hash    *fileHash // everything read from the file passes through it; nil when it was not opened
		local   []int     // the reader's interface numbers -> global ones
		frame   Frame
		pending bool // frame holds a packet not yet given to a
		done    bool
	}
	inputs := make([]Input, len(files))
	var ifaces []FileInterface
	srcs := make([]*source, len(files))
	for i, f := range files {
		inputs[i].Name = f.Name
		s := &source{in: &inputs[i]}
		srcs[i] = s
		if f.Err != nil {
			s.in.Err, s.done = f.Err, true
			continue
		}
		s.hash = newFileHash(f.R)
		r, err := NewFileReader(f.Name, s.hash)
		if err != nil {
			s.in.Err = err
			s.done = true
			continue
		}
		s.r = r
		s.in.Format, s.in.Gzip = r.Format(), r.Gzip()
	}
	next := func(i int, s *source) {
		err := s.r.Next(&s.frame)
		if err == nil {
			// New interfaces are looked up only when a frame names one not
			// seen yet: Interfaces copies, and this runs for every packet.
			if s.frame.Interface < len(s.local) {
				s.pending = true
				return
			}
			for _, ifc := range s.r.Interfaces()[len(s.local):] {
				s.local = append(s.local, len(ifaces))
				ifaces = append(ifaces, FileInterface{Input: i, Interface: ifc})
				name := LinkTypeName(ifc.LinkType)
				if !slices.Contains(s.in.LinkTypes, name) {
					s.in.LinkTypes = append(s.in.LinkTypes, name)
				}
			}
			s.pending = true
			return
		}
		s.done = true
		if !errors.Is(err, io.EOF) {
			s.in.Err = err
		}
	}
	for i, s := range srcs {
		if !s.done {
			next(i, s)
		}
	}
	for n := 0; ; n++ {
		if n%checkEvery == 0 && ctx.Err() != nil {
			for _, s := range srcs {
				if !s.done {
					s.in.Err = fmt.Errorf("%s: stopped after %d packets: %w", s.in.Name, s.in.Packets, context.Cause(ctx))
				}
			}
			break
		}
		// The earliest pending frame goes first; ties keep file order.
		best := -1
		for i, s := range srcs {
			if s.pending && (best < 0 || s.frame.TS.Before(srcs[best].frame.TS)) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		s := srcs[best]
		f := &s.frame
		local := f.Interface
		f.Interface = s.local[local]
		s.pending = false
		if err := a.Add(f); err != nil {
			s.in.Err = s.r.fail(s.r.lastNum, s.r.lastOff, fmt.Errorf("interface %d: %w", local, err))
			s.done = true
			continue
		}
		s.in.Packets++
		s.in.Bytes += uint64(max(f.WireLen, len(f.Data)))
		next(best, s)
	}
	for _, s := range srcs {
		if s.r != nil {
			s.in.Drops, s.in.DropsKnown = s.r.Drops()
		}
		// Hash the whole file, also the part after any damage, so the
		// report names exactly the evidence it was given; a file that
		// could not be read to its end has no hash rather than a wrong one.
		if s.hash != nil {
			s.in.SHA256 = s.hash.sum()
			s.in.Size = s.hash.n
		}
	}
	return inputs, ifaces
}

// fileHash counts every byte read through it and hashes it with SHA-256 in
// a goroutine of its own, so that hashing the evidence (the slowest part of
// reading a file) runs beside the analysis instead of before it.
type fileHash struct {
	r    io.Reader
	n    int64
	err  error // the first read error other than EOF
	work chan []byte
	free chan []byte
	done chan []byte // the digest, once work is closed and drained
}

// hashBuffers bounds the chunks in flight between the reader and the
// hashing goroutine.
const hashBuffers = 4

func newFileHash(r io.Reader) *fileHash {
	f := &fileHash{r: r, work: make(chan []byte, hashBuffers), free: make(chan []byte, hashBuffers), done: make(chan []byte, 1)}
	go func() {
		h := sha256.New()
		for b := range f.work {
			h.Write(b)
			f.free <- b
		}
		f.done <- h.Sum(nil)
	}()
	for range hashBuffers {
		f.free <- nil
	}
	return f
}

func (f *fileHash) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if n > 0 {
		b := <-f.free
		f.work <- append(b[:0], p[:n]...)
		f.n += int64(n)
	}
	if err != nil && err != io.EOF && f.err == nil {
		f.err = err
	}
	return n, err
}

// sum reads what is left of the file and returns its digest, or "" when
// reading failed: a digest of part of the file is no evidence's hash.
func (f *fileHash) sum() string {
	if f.err == nil {
		_, _ = io.Copy(io.Discard, f)
	}
	close(f.work)
	d := <-f.done
	if f.err != nil {
		return ""
	}
	return hex.EncodeToString(d)
}
