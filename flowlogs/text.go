package flowlogs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// parseLine reads one text record of format f into r.
func parseLine(f *Format, line []byte, r *Record) error {
	r.reset()
	rest := line
	for i, x := range f.Fields {
		var w []byte
		w, rest = nextWord(rest)
		if len(w) == 0 {
			return fieldCount(f, line)
		}
		if err := r.set(x, f.Names[i], w); err != nil {
			if cerr := fieldCount(f, line); cerr != nil {
				return cerr // a line of the wrong shape says so, not its first odd field
			}
			return err
		}
	}
	if w, _ := nextWord(rest); len(w) != 0 {
		return fieldCount(f, line)
	}
	return nil
}

// fieldCount says how the line's number of fields differs from the
// format's; nil when it does not.
func fieldCount(f *Format, line []byte) error {
	n := 0
	for rest := line; ; n++ {
		var w []byte
		if w, rest = nextWord(rest); len(w) == 0 {
			break
		}
	}
	if n == len(f.Fields) {
		return nil
	}
	if f.Default {
		return fmt.Errorf("%d fields, the default format has 14 (a custom format needs its header line, or --log-format)", n)
	}
	return fmt.Errorf("%d fields, the header line names %d", n, len(f.Fields))
}

// maxLine bounds a text line: a record of every field is a few hundred
// bytes. A longer line is an error, skipped up to its end.
const maxLine = 16 << 10

var errLongLine = fmt.Errorf("a line longer than %d bytes", maxLine)

// lineReader reads lines without allocating per line; a line longer than
// maxLine is reported once and skipped.
type lineReader struct {
	br   *bufio.Reader
	line int
}

func (l *lineReader) next() ([]byte, error) {
	l.line++
	b, err := l.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = l.br.ReadSlice('\n')
		}
		if err == nil || err == io.EOF {
			return nil, errLongLine
		}
		return nil, err
	}
	if err == io.EOF && len(b) > 0 {
		err = nil // a last line without a newline
	}
	if len(b) > maxLine+2 { // the reader's buffer may be larger than maxLine
		return nil, errLongLine
	}
	b = bytes.TrimRight(b, "\r\n")
	return b, err
}

// readText reads text records: a header line sets the format of the lines
// that follow (files concatenated with cat have several); lines before any
// header are in the default format, or in format when it is given.
func readText(r io.Reader, format *Format, emit func(*Record), bad func(where string, err error)) error {
	if format == nil {
		format = DefaultFormat()
	}
	lr := lineReader{br: bufio.NewReaderSize(r, maxLine)}
	var rec Record
	for {
		b, err := lr.next()
		if err == errLongLine {
			bad(fmt.Sprintf("line %d", lr.line), err)
			continue
		}
		if err != nil {
			if err == io.EOF {
				return nil
			}
			return fmt.Errorf("line %d: %w", lr.line, err)
		}
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		if b[0] >= 'a' && b[0] <= 'z' && isHeader(b) {
			f, err := ParseFormat(string(b))
			if err != nil {
				bad(fmt.Sprintf("line %d", lr.line), fmt.Errorf("header line: %w", err))
				continue
			}
			format = f
			continue
		}
		if err := parseLine(format, b, &rec); err != nil {
			bad(fmt.Sprintf("line %d", lr.line), err)
			continue
		}
		emit(&rec)
	}
}
