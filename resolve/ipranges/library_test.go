package ipranges

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"testing"
)

// libraryEdit returns the embedded file with the first occurrence of old
// after the nth occurrence of after (n counted from 1; 0: the start)
// replaced by new.
func libraryEdit(t *testing.T, after string, n int, old, new string) []byte {
	t.Helper()
	data := embeddedJSON
	at := 0
	for range n {
		i := bytes.Index(data[at:], []byte(after))
		if i < 0 {
			t.Fatalf("fewer than %d %q", n, after)
		}
		at += i + 1
	}
	i := bytes.Index(data[at:], []byte(old))
	if i < 0 {
		t.Fatalf("no %q after %d %q", old, n, after)
	}
	at += i
	return slices.Concat(data[:at], []byte(new), data[at+len(old):])
}

// libraryParse must read what Parse reads: the benchmark compares equals.
func TestLibraryParseAgrees(t *testing.T) {
	for _, name := range []string{"ip-ranges.json", "testdata/ip-ranges-older.json"} {
		data := readTestdata(t, name)
		ours, err := Parse(data, name)
		if err != nil {
			t.Fatal(err)
		}
		lib, err := libraryParse(data, name)
		if err != nil {
			t.Fatal(err)
		}
		if ours.SyncToken != lib.SyncToken || !ours.CreateDate.Equal(lib.CreateDate) || ours.SHA256 != lib.SHA256 ||
			!slices.Equal(ours.Entries, lib.Entries) || ours.IPv4Prefixes != lib.IPv4Prefixes || ours.IPv6Prefixes != lib.IPv6Prefixes {
			t.Errorf("%s: Parse and encoding/json disagree", name)
		}
	}
}

// TestLibraryErrors states what a user reads from each on a damaged
// ip-ranges.json: the scanner's message says the byte offset or the entry,
// encoding/json's the problem (its offset is in json.SyntaxError.Offset and
// json.UnmarshalTypeError.Offset, not in the message) and, for a wrong
// type, a path of Go type and field names without the entry's index.
// Past the JSON, both run the same checks and say the same.
func TestLibraryErrors(t *testing.T) {
	tests := []struct {
		name      string
		data      []byte
		ours, lib string // whole messages; lib "" for no error
		libOffset int64  // the offset in encoding/json's error value, -1 for none
	}{
		{
			name:      "download cut at 1 MB",
			data:      embeddedJSON[:1_000_000],
			ours:      "ip-ranges: x.json: byte 1000000: unexpected end of input, want ':'",
			lib:       "ip-ranges: x.json: unexpected end of JSON input",
			libOffset: 1_000_000,
		},
		{
			name:      "a comma missing in the first entry",
			data:      libraryEdit(t, `"ip_prefix": "3.4.12.4/32"`, 1, `"eu-west-1",`, `"eu-west-1"`),
			ours:      "ip-ranges: x.json: byte 160: unexpected '\"', want ',' or '}'",
			lib:       "ip-ranges: x.json: invalid character '\"' after object key:value pair",
			libOffset: 161,
		},
		{
			name:      "something after the document",
			data:      slices.Concat(embeddedJSON, []byte("x")),
			ours:      "ip-ranges: x.json: byte 2600669: unexpected 'x', want the end of input",
			lib:       "ip-ranges: x.json: invalid character 'x' after top-level value",
			libOffset: 2600670,
		},
		{
			name:      "syncToken a number",
			data:      libraryEdit(t, "", 0, `"syncToken": "1787411825"`, `"syncToken": 1787411825`),
			ours:      "ip-ranges: x.json: syncToken: want a string",
			lib:       "ip-ranges: x.json: json: cannot unmarshal number into Go struct field libraryDoc.syncToken of type string",
			libOffset: 27,
		},
		{
			name:      "the 18th entry's region a number",
			data:      libraryEdit(t, `"region"`, 17, `"region": "`, `"region": 5, "x": "`),
			ours:      "ip-ranges: x.json: prefixes[17].region: want a string",
			lib:       "ip-ranges: x.json: json: cannot unmarshal number into Go struct field libraryEntry.prefixes.region of type string",
			libOffset: 2710,
		},
		{
			name:      "nested 20 000 deep",
			data:      []byte(`{"x":` + string(bytes.Repeat([]byte("["), 20000))),
			ours:      "ip-ranges: x.json: byte 10005: nesting deeper than 10000",
			lib:       "ip-ranges: x.json: invalid character '[' exceeded max depth",
			libOffset: 10005,
		},
		{
			// The checks after the JSON are shared: the same message.
			name:      "a prefix with host bits",
			data:      libraryEdit(t, "", 0, `"3.4.12.4/32"`, `"3.4.12.4/29"`),
			ours:      `ip-ranges: x.json: prefixes[0].ip_prefix "3.4.12.4/29": host bits set (want 3.4.12.0/29)`,
			lib:       `ip-ranges: x.json: prefixes[0].ip_prefix "3.4.12.4/29": host bits set (want 3.4.12.0/29)`,
			libOffset: -1,
		},
		{
			// encoding/json matches keys without regard to case.
			name:      "SyncToken spelled with a capital",
			data:      libraryEdit(t, "", 0, `"syncToken"`, `"SyncToken"`),
			ours:      "ip-ranges: x.json: no syncToken",
			lib:       "",
			libOffset: -1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.data, "x.json")
			if err == nil || err.Error() != tt.ours {
				t.Errorf("Parse: %v\nwant %s", err, tt.ours)
			}
			_, err = libraryParse(tt.data, "x.json")
			if tt.lib == "" {
				if err != nil {
					t.Errorf("encoding/json: %v, want no error", err)
				}
				return
			}
			if err == nil || err.Error() != tt.lib {
				t.Errorf("encoding/json: %v\nwant %s", err, tt.lib)
			}
			off := int64(-1)
			var syn *json.SyntaxError
			var typ *json.UnmarshalTypeError
			switch {
			case errors.As(err, &syn):
				off = syn.Offset
			case errors.As(err, &typ):
				off = typ.Offset
			}
			if off != tt.libOffset {
				t.Errorf("encoding/json: offset %d in the error value, want %d", off, tt.libOffset)
			}
		})
	}
}
