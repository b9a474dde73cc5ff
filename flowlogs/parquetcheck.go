package flowlogs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// parquet-go allocates by the lengths a file declares: the footer's, the
// lists and strings in it, and each page's sizes and value counts. Before
// it reads anything, these are checked here against the bytes that are
// really there and against bounds far above what AWS writes (pages of
// about a megabyte, files of at most 75 MB).
const (
	maxPageBytes  = 64 << 20 // a page's uncompressed size
	maxPageValues = 1 << 22  // values in one page
	maxHeader     = 64 << 10 // a page header (its statistics included)
)

var errParquetSize = errors.New("parquet: a size in the file is larger than the file")

// thriftCheck walks one Thrift compact struct and checks that every list,
// map and string length fits in the bytes that follow, so that no decoder
// allocates for elements that are not there. It returns the struct's
// length.
func thriftCheck(b []byte) (int, error) {
	w := thriftWalker{b: b}
	if err := w.structure(0); err != nil {
		return 0, err
	}
	return w.i, nil
}

type thriftWalker struct {
	b    []byte
	i    int
	cost int // what a decoder would allocate for the lists, roughly
}

// maxThriftCost bounds what decoding the metadata may allocate: a list
// element is counted as the size of the largest Go struct parquet-go
// decodes into (a column chunk's, with its statistics), a kilobyte or
// two.
const maxThriftCost = 256 << 20

var errThriftShort = errors.New("parquet: metadata cut short")

func (w *thriftWalker) byte() (byte, error) {
	if w.i >= len(w.b) {
		return 0, errThriftShort
	}
	w.i++
	return w.b[w.i-1], nil
}

func (w *thriftWalker) uvarint() (uint64, error) {
	v, n := binary.Uvarint(w.b[w.i:])
	if n <= 0 {
		return 0, errThriftShort
	}
	w.i += n
	return v, nil
}

func (w *thriftWalker) length() (int, error) {
	v, err := w.uvarint()
	if err != nil {
		return 0, err
	}
	if v > uint64(len(w.b)-w.i) {
		return 0, errParquetSize
	}
	return int(v), nil
}

func (w *thriftWalker) structure(depth int) error {
	if depth > 32 {
		return errors.New("parquet: metadata nested too deep")
	}
	for {
		h, err := w.byte()
		if err != nil {
			return err
		}
		if h == 0 {
			return nil
		}
		if h>>4 == 0 { // a long field id follows
			if _, err := w.uvarint(); err != nil {
				return err
			}
		}
		if t := h & 0xf; t != 1 && t != 2 { // booleans are in the header
			if err := w.value(t, depth); err != nil {
				return err
			}
		}
	}
}

func (w *thriftWalker) value(t byte, depth int) error {
	switch t {
	case 1, 2, 3: // a boolean in a list, i8
		_, err := w.byte()
		return err
	case 4, 5, 6: // i16, i32, i64
		_, err := w.uvarint()
		return err
	case 7: // double
		if len(w.b)-w.i < 8 {
			return errThriftShort
		}
		w.i += 8
		return nil
	case 8: // binary
		n, err := w.length()
		w.i += n
		return err
	case 9, 10: // list, set
		h, err := w.byte()
		if err != nil {
			return err
		}
		n := int(h >> 4)
		if n == 15 {
			if n, err = w.length(); err != nil {
				return err
			}
		}
		if n > len(w.b)-w.i {
			return errParquetSize
		}
		if w.cost += n * 2048; w.cost > maxThriftCost {
			return errParquetSize
		}
		for range n {
			if err := w.value(h&0xf, depth+1); err != nil {
				return err
			}
		}
		return nil
	case 11: // map
		n, err := w.length()
		if err != nil || n == 0 {
			return err
		}
		kv, err := w.byte()
		if err != nil {
			return err
		}
		if w.cost += n * 2048; w.cost > maxThriftCost {
			return errParquetSize
		}
		for range n {
			if err := w.value(kv>>4, depth+1); err != nil {
				return err
			}
			if err := w.value(kv&0xf, depth+1); err != nil {
				return err
			}
		}
		return nil
	case 12:
		return w.structure(depth + 1)
	}
	return fmt.Errorf("parquet: metadata of an unknown type %d", t)
}

// checkParquet checks the footer's length and lists, then every page
// header of every column chunk, before parquet-go opens the file.
func checkParquet(ra io.ReaderAt, size int64) error {
	if size < 12 {
		return errors.New("parquet: too short for a Parquet file")
	}
	var tail [8]byte
	if _, err := ra.ReadAt(tail[:], size-8); err != nil {
		return fmt.Errorf("parquet: %w", err)
	}
	if string(tail[4:]) != "PAR1" {
		return errors.New("parquet: no PAR1 at the end: cut short, or not Parquet")
	}
	n := int64(binary.LittleEndian.Uint32(tail[:4]))
	if n > size-12 || n > maxParquetFooter {
		return fmt.Errorf("parquet: a footer of %d bytes in a file of %d", n, size)
	}
	footer := make([]byte, n)
	if _, err := ra.ReadAt(footer, size-8-n); err != nil {
		return fmt.Errorf("parquet: %w", err)
	}
	if _, err := thriftCheck(footer); err != nil {
		return fmt.Errorf("%w (in the footer)", err)
	}
	var meta format.FileMetaData
	if err := thrift.Unmarshal(&thrift.CompactProtocol{}, footer, &meta); err != nil {
		return fmt.Errorf("parquet: footer: %w", err)
	}
	end := size - 8 - n
	buf := make([]byte, 4<<10) // most page headers are a few dozen bytes
	for g, rg := range meta.RowGroups {
		if rg.NumRows < 0 || rg.NumRows > end {
			return fmt.Errorf("parquet: row group %d: %d rows in a file of %d bytes", g, rg.NumRows, size)
		}
		for c, cc := range rg.Columns {
			if err := checkChunk(ra, &cc.MetaData, end, &buf); err != nil {
				return fmt.Errorf("parquet: row group %d, column %d: %w", g, c, err)
			}
		}
	}
	return nil
}

func checkChunk(ra io.ReaderAt, m *format.ColumnMetaData, end int64, buf *[]byte) error {
	start := m.DataPageOffset
	if m.DictionaryPageOffset > 0 && m.DictionaryPageOffset < start {
		start = m.DictionaryPageOffset
	}
	if start < 4 || m.TotalCompressedSize < 0 || m.TotalCompressedSize > end-start ||
		m.TotalUncompressedSize < 0 || m.TotalUncompressedSize > maxParquetChunk || m.NumValues < 0 {
		return errParquetSize
	}
	for off, stop := start, start+m.TotalCompressedSize; off < stop; {
		b := (*buf)[:min(int64(len(*buf)), stop-off)]
		if _, err := ra.ReadAt(b, off); err != nil && err != io.EOF {
			return err
		}
		hn, err := thriftCheck(b)
		if err == errThriftShort && len(*buf) < maxHeader && int64(len(b)) < stop-off {
			*buf = make([]byte, maxHeader) // a header with long statistics
			continue
		}
		if err != nil {
			return fmt.Errorf("page header at byte %d: %w", off, err)
		}
		var h format.PageHeader
		if err := thrift.Unmarshal(&thrift.CompactProtocol{}, b[:hn], &h); err != nil {
			return fmt.Errorf("page header at byte %d: %w", off, err)
		}
		values := int32(0)
		switch {
		case h.DataPageHeader.Valid:
			values = h.DataPageHeader.V.NumValues
		case h.DataPageHeaderV2.Valid:
			v2 := h.DataPageHeaderV2.V
			values = v2.NumValues
			if v2.NumNulls < 0 || v2.NumNulls > v2.NumValues || v2.DefinitionLevelsByteLength < 0 || v2.RepetitionLevelsByteLength < 0 ||
				int64(v2.DefinitionLevelsByteLength)+int64(v2.RepetitionLevelsByteLength) > int64(h.CompressedPageSize) {
				return fmt.Errorf("page at byte %d: levels larger than the page", off)
			}
		case h.DictionaryPageHeader.Valid:
			values = h.DictionaryPageHeader.V.NumValues
		}
		if h.CompressedPageSize < 0 || int64(h.CompressedPageSize) > stop-off-int64(hn) ||
			h.UncompressedPageSize < 0 || h.UncompressedPageSize > maxPageBytes ||
			values < 0 || values > maxPageValues || int64(values) > m.NumValues && !h.DictionaryPageHeader.Valid {
			return fmt.Errorf("page at byte %d: %d bytes (%d compressed), %d values in a chunk of %d bytes and %d values",
				off, h.UncompressedPageSize, h.CompressedPageSize, values, m.TotalCompressedSize, m.NumValues)
		}
		off += int64(hn) + int64(h.CompressedPageSize)
	}
	return nil
}
