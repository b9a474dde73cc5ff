package capture

import "io"

// Temporary stand-in for FileReader (branch h-pcapfile).

type FileReader struct{}
type FileError struct {
	File   string
	Record int
	Offset int64
	Err    error
}

func (e *FileError) Error() string                                { return "" }
func NewFileReader(name string, r io.Reader) (*FileReader, error) { return nil, nil }
func (r *FileReader) Next(f *Frame) error                         { return io.EOF }
func (r *FileReader) Format() string                              { return "" }
func (r *FileReader) Gzip() bool                                  { return false }
func (r *FileReader) Interfaces() []Interface                     { return nil }
func (r *FileReader) Records() int                                { return 0 }
func (r *FileReader) Drops() (uint64, bool)                       { return 0, false }
