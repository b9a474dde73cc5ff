package flowlogs

import (
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/parquet-go/parquet-go"
)

// Bounds on what a Parquet file's own metadata may ask for, checked before
// parquet-go allocates by it. AWS delivers files of at most 75 MB.
const (
	maxParquetFooter = 64 << 20
	maxParquetChunk  = 1 << 30 // uncompressed bytes of one column chunk
)

// readParquet reads a Parquet flow log file: the S3 delivery's Parquet
// option writes one column per field, named as Athena names them
// (account_id, pkt_dstaddr), INT_32 or INT_64 for numbers and STRING for
// the rest. Columns are found by name, hyphenated or not; any subset and
// order works, and a column of another physical type than documented is
// converted (a number written as a string is parsed).
func readParquet(ra io.ReaderAt, size int64, emit func(*Record), bad func(where string, err error)) (err error) {
	defer func() {
		// parquet-go is a large decoder of outside bytes: whatever it
		// does with a damaged file, the command goes on with the others.
		if p := recover(); p != nil {
			err = fmt.Errorf("damaged Parquet file (the decoder failed: %v)", p)
		}
	}()
	if err := checkParquet(ra, size); err != nil {
		return err
	}
	f, err := parquet.OpenFile(ra, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true), parquet.ReadBufferSize(64<<10))
	if err != nil {
		return fmt.Errorf("parquet: %w", err)
	}
	for i, rg := range f.Metadata().RowGroups {
		for _, c := range rg.Columns {
			if m := c.MetaData; m.TotalCompressedSize < 0 || m.TotalCompressedSize > size || m.TotalUncompressedSize < 0 || m.TotalUncompressedSize > maxParquetChunk {
				return fmt.Errorf("parquet: row group %d: a column chunk of %d bytes (%d compressed) in a file of %d", i, m.TotalUncompressedSize, m.TotalCompressedSize, size)
			}
		}
	}
	cols := f.Schema().Columns()
	fields := make([]Field, len(cols))
	names := make([]string, len(cols))
	known := 0
	for i, path := range cols {
		if len(path) != 1 {
			continue // flow logs are flat
		}
		names[i] = path[0]
		if x, ok := fieldByName(path[0]); ok {
			fields[i] = x
			known++
		}
	}
	if known == 0 {
		return errors.New("parquet: no column is a flow log field (account_id, srcaddr, ...)")
	}
	var rec Record
	var num []byte
	buf := make([]parquet.Row, 128)
	row := 0
	for _, rg := range f.RowGroups() {
		rows := rg.Rows()
		for {
			n, rerr := rows.ReadRows(buf)
			for _, values := range buf[:n] {
				row++
				rec.reset()
				num = num[:0]
				var ferr error
				for _, v := range values {
					c := v.Column()
					if c < 0 || c >= len(fields) || fields[c] == FieldOther || v.IsNull() {
						continue
					}
					var b []byte
					switch v.Kind() {
					case parquet.Int32:
						n := len(num)
						num = strconv.AppendInt(num, int64(v.Int32()), 10)
						b = num[n:len(num):len(num)]
					case parquet.Int64:
						n := len(num)
						num = strconv.AppendInt(num, v.Int64(), 10)
						b = num[n:len(num):len(num)]
					case parquet.ByteArray, parquet.FixedLenByteArray:
						b = v.ByteArray()
					default:
						ferr = fmt.Errorf("column %s: a %s value", names[c], v.Kind())
					}
					if ferr == nil && b != nil {
						// A number's text is appended to the row's
						// number buffer, never over another's: set
						// keeps the bytes of a string field, and a
						// column of IDs may be written as numbers.
						ferr = rec.set(fields[c], names[c], b)
					}
					if ferr != nil {
						break
					}
				}
				if ferr != nil {
					bad(fmt.Sprintf("row %d", row), ferr)
					continue
				}
				emit(&rec)
			}
			if rerr == io.EOF {
				break
			}
			if rerr != nil {
				rows.Close()
				return fmt.Errorf("parquet: row %d: %w", row+1, rerr)
			}
		}
		rows.Close()
	}
	return nil
}
