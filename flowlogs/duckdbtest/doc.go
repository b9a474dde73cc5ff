// Package duckdbtest checks the query of vpce-verify flowlogs athena in a
// real SQL engine, DuckDB, against the answer of the flowlogs command on
// the same records. It is a module of its own because DuckDB needs cgo,
// and the tool is built without it: nothing in the main module imports
// this one. Run it with (cd flowlogs/duckdbtest && go test ./...); the
// DuckDB library comes prebuilt with the Go module
// github.com/duckdb/duckdb-go-bindings, and the tests download nothing.
package duckdbtest
