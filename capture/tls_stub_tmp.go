package capture

import (
	"errors"
	"io"
)

type ClientHello struct {
	SNI      string
	ALPN     []string
	Versions []uint16
	ECH      bool
}

var (
	ErrNotTLS     = errors.New("not tls")
	ErrIncomplete = errors.New("incomplete")
)

func ParseClientHello(stream []byte) (ClientHello, error) { return ClientHello{}, ErrNotTLS }

type streamPrefix struct {
	start uint32
	b     []byte
	limit int
}

func (s *streamPrefix) reset(start uint32, limit int) { s.start, s.b, s.limit = start, s.b[:0], limit }
func (s *streamPrefix) add(seq uint32, p []byte) {
	if seq == s.start+uint32(len(s.b)) {
		s.b = append(s.b, p...)
	}
}
func (s *streamPrefix) bytes() []byte { return s.b }
func (s *streamPrefix) full() bool    { return len(s.b) >= s.limit }
func (s *streamPrefix) release()      { s.b = nil }

type FileReader struct{}
type FileError struct {
	File   string
	Record int
	Offset int64
	Err    error
}

func (e *FileError) Error() string                               { return "" }
func NewFileReader(name string, r io.Reader) (*FileReader, error) { return nil, nil }
func (r *FileReader) Next(f *Frame) error                        { return io.EOF }
func (r *FileReader) Format() string                             { return "" }
func (r *FileReader) Gzip() bool                                 { return false }
func (r *FileReader) Interfaces() []Interface                    { return nil }
func (r *FileReader) Records() int                               { return 0 }
func (r *FileReader) Drops() (uint64, bool)                      { return 0, false }
