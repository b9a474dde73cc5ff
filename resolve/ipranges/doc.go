// Package ipranges owns AWS's ip-ranges.json: the snapshot built into the
// program, the copy `vpce-verify ranges update` downloads and caches, Parse
// with its checks (the published shape exactly, prefixes in the right
// family without host bits, plain names), the index that answers Lookup
// with one longest-prefix match and no allocation, and Compare between two
// snapshots.
//
// Parse reads the JSON with a scanner written here (jsonscan.go) rather than
// encoding/json. The checks after the JSON are the same either way and say
// the same things; what differs, measured on the embedded 2.6 MB file
// against json.Unmarshal into structs of its shape followed by those same
// checks and index (library_bench_test.go), is:
//
//   - time and garbage: 40 ms against 106 ms, 4.4 MiB against 10.5 MiB
//     allocated, 32 000 allocations against 99 000 (medians of 10 runs on
//     2 shared vCPUs, load average about 10; two other series gave 30
//     against 65 ms and 55 against 138; json.Unmarshal alone took 46 ms
//     and 6.2 MiB). A run that needs the ranges parses them once, so this
//     is 35 to 80 ms at the start of that run, on a classify that took
//     0.3 s in all on the same machine.
//   - messages (library_test.go): the scanner's say where, "byte 160:
//     unexpected '"', want ',' or '}'" and "prefixes[17].region: want a
//     string", where encoding/json's say "invalid character '"' after
//     object key:value pair" (the offset is in json.SyntaxError, not the
//     message) and "cannot unmarshal number into Go struct field
//     libraryEntry.prefixes.region of type string" (no index). encoding/json
//     also takes "SyncToken" for "syncToken", where Parse wants the
//     published spelling.
//
// The figures come from
//
//	go test ./resolve/ipranges -run XXX -bench Library -benchmem
package ipranges
