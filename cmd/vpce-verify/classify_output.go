package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"

	"github.com/vpce-verify/vpce-verify/report"
)

// eachLine calls f with each line of r, without its line end, until f
// returns false. A line longer than maxLine is skipped: f gets its first
// bytes and long set. Memory stays at one buffer whatever r holds.
func eachLine(r io.Reader, f func(n int, line []byte, long bool) bool) error {
	br := bufio.NewReaderSize(r, maxLine+2) // room for "\r\n"
	for n := 1; ; n++ {
		b, err := br.ReadSlice('\n')
		line := bytes.TrimSuffix(bytes.TrimSuffix(b, []byte("\n")), []byte("\r"))
		if long := errors.Is(err, bufio.ErrBufferFull) || len(line) > maxLine; long {
			if !f(n, line[:min(len(line), 32)], true) {
				return nil
			}
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
		} else if len(b) > 0 && !f(n, line, false) {
			return nil
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// textBlock is how many lines of text are aligned together: the columns of
// one block do not wait for the widths of the next.
const textBlock = 1024

// classifyOutput writes classify's items as they come, so that memory does
// not grow with the input: JSON as one list written element by element (the
// same bytes report.Classification.WriteJSON gives for the whole list),
// text in blocks of textBlock lines aligned by
// report.Classification.WriteText, the header printed once.
type classifyOutput struct {
	w      io.Writer
	json   bool
	n      int // items written
	block  report.Classification
	header bool // the text header is out
	buf    bytes.Buffer
	enc    *json.Encoder // JSON into buf, its buffers reused
	err    error         // the first write error; nothing is written after it
}

func (o *classifyOutput) add(c report.Classified) {
	if o.err != nil {
		return
	}
	if !o.json {
		o.block = append(o.block, c)
		if len(o.block) == textBlock {
			o.flushText()
		}
		o.n++
		return
	}
	if o.enc == nil {
		o.enc = json.NewEncoder(&o.buf)
		o.enc.SetIndent("  ", "  ") // the list's indent, as WriteJSON's
	}
	o.buf.Reset()
	o.buf.WriteString(",\n  ")
	if o.n == 0 {
		o.buf.Reset()
		o.buf.WriteString("[\n  ")
	}
	if o.err = o.enc.Encode(c); o.err != nil {
		return
	}
	_, o.err = o.w.Write(bytes.TrimSuffix(o.buf.Bytes(), []byte("\n")))
	o.n++
}

func (o *classifyOutput) flushText() {
	o.buf.Reset()
	if o.err = o.block.WriteText(&o.buf); o.err != nil {
		return
	}
	b := o.buf.Bytes()
	if o.header {
		b = b[bytes.IndexByte(b, '\n')+1:]
	}
	o.header = true
	_, o.err = o.w.Write(b)
	clear(o.block) // let the items go
	o.block = o.block[:0]
}

// close ends the list: the JSON is valid and the header printed even when
// no address came.
func (o *classifyOutput) close() error {
	if o.err != nil {
		return o.err
	}
	switch {
	case o.json && o.n == 0:
		_, o.err = io.WriteString(o.w, "[]\n")
	case o.json:
		_, o.err = io.WriteString(o.w, "\n]\n")
	case len(o.block) > 0 || !o.header:
		o.flushText()
	}
	return o.err
}
