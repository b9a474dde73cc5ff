package pcapfile

import (
	"io"
	"sync"

	"github.com/vpce-verify/vpce-verify/capture"
)

// streamReader reads a stream (standard input, a pipe, a device) in a
// goroutine of its own, so that Close returns a Read blocked on it at
// once: a capture still being written into a pipe must not keep one
// Ctrl-C from ending the run. The goroutine may stay blocked in the
// stream's read until the process ends; nothing waits for it.
type streamReader struct {
	rc    io.ReadCloser
	data  chan []byte // chunks read, in order
	free  chan []byte // chunks given back
	done  chan struct{}
	once  sync.Once
	err   error  // the stream's error, set before data is closed
	chunk []byte // the chunk being read from, as received
	off   int    // how much of chunk Read has given
}

// streamChunk is how much one read of the stream takes.
const streamChunk = 64 << 10

func newStreamReader(rc io.ReadCloser) *streamReader {
	s := &streamReader{rc: rc, data: make(chan []byte, 1), free: make(chan []byte, 2), done: make(chan struct{})}
	s.free <- make([]byte, streamChunk)
	s.free <- make([]byte, streamChunk)
	go s.pump()
	return s
}

func (s *streamReader) pump() {
	for {
		var b []byte
		select {
		case b = <-s.free:
		case <-s.done:
			return
		}
		n, err := s.rc.Read(b[:streamChunk])
		if n > 0 {
			select {
			case s.data <- b[:n]:
			case <-s.done:
				return
			}
		} else {
			s.free <- b
		}
		if err != nil {
			s.err = err
			close(s.data)
			return
		}
	}
}

func (s *streamReader) Read(p []byte) (int, error) {
	if s.chunk == nil {
		select {
		case b, ok := <-s.data:
			if !ok {
				return 0, s.err
			}
			s.chunk, s.off = b, 0
		case <-s.done:
			return 0, capture.ErrClosed
		}
	}
	n := copy(p, s.chunk[s.off:])
	s.off += n
	if s.off == len(s.chunk) {
		s.free <- s.chunk[:cap(s.chunk)]
		s.chunk = nil
	}
	return n, nil
}

// Close stops the reading: a Read blocked now or later returns
// capture.ErrClosed. It may be called from any goroutine, more than once.
func (s *streamReader) Close() error {
	s.once.Do(func() {
		close(s.done)
		s.rc.Close()
	})
	return nil
}
