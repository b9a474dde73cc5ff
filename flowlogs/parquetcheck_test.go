package flowlogs

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/vpce-verify/vpce-verify/flowlogs/flowlogstest"
)

// A damaged Parquet file costs what its bytes are worth: before the page
// headers were checked, one flipped bit in a page header made parquet-go
// allocate 138 to 556 MB for a 12 kB file. Every 23rd byte is flipped
// here, each read must end, and none may allocate more than 32 MB.
func TestDamagedParquetIsCheap(t *testing.T) {
	if testing.Short() {
		t.Skip("reads a thousand damaged files")
	}
	var b bytes.Buffer
	if err := flowlogstest.Parquet(&b, flowlogstest.Records(), 5); err != nil {
		t.Fatal(err)
	}
	seed := b.Bytes()
	for i := 0; i < len(seed); i += 23 {
		for _, m := range []byte{0xff, 0x80, 0x01} {
			x := bytes.Clone(seed)
			x[i] ^= m
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			readParquet(bytes.NewReader(x), int64(len(x)), func(r *Record) {}, func(string, error) {})
			runtime.ReadMemStats(&after)
			if n := after.TotalAlloc - before.TotalAlloc; n > 32<<20 {
				t.Errorf("byte %d ^ %#x: %d MB allocated to read a %d-byte file", i, m, n>>20, len(seed))
			}
		}
	}
}

func TestThriftCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		ok   bool
	}{
		{"empty struct", []byte{0}, true},
		{"i32 field", []byte{0x15, 0x02, 0}, true},
		{"string fits", []byte{0x18, 0x02, 'a', 'b', 0}, true},
		{"string longer than the bytes", []byte{0x18, 0x7f, 'a', 0}, false},
		{"list of 2^31 structs", []byte{0x19, 0xfc, 0xff, 0xff, 0xff, 0xff, 0x07, 0}, false},
		{"cut short", []byte{0x15}, false},
	} {
		_, err := thriftCheck(tc.b)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}
