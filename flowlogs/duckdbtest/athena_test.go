package duckdbtest

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/vpce-verify/vpce-verify/flowlogs"
	"github.com/vpce-verify/vpce-verify/flowlogs/flowlogstest"
	"github.com/vpce-verify/vpce-verify/resolve"
	"github.com/vpce-verify/vpce-verify/resolve/ipranges"
)

// The Athena query, run in DuckDB, with what only Athena has replaced:
//
//   - contains(k.cidr, CAST(s.server AS IPADDRESS)), Athena's (Trino's)
//     CIDR membership, is vv_contains(k.cidr, s.server), a scalar
//     function of this test written with net/netip;
//   - the text table (Hive's LazySimpleSerDe, fields split at spaces,
//     skip.header.line.count 1) is a view over read_csv of the same file
//     with every column read as text and TRY_CAST to the table's type, as
//     Hive reads "-" in a number column as NULL; the Parquet table is a
//     view over read_parquet (columns by name, as Hive's Parquet SerDe);
//   - the partition column day, which partition projection takes from the
//     folder, is the file's day.
//
// Everything else (the CTEs, CASE, coalesce, nullif, bool_or, the joins
// and the aggregates) runs as printed.
const duckContains = "vv_contains(k.cidr, s.server)"

type containsFunc struct{}

func (containsFunc) Config() duckdb.ScalarFuncConfig {
	v, _ := duckdb.NewTypeInfo(duckdb.TYPE_VARCHAR)
	b, _ := duckdb.NewTypeInfo(duckdb.TYPE_BOOLEAN)
	return duckdb.ScalarFuncConfig{InputTypeInfos: []duckdb.TypeInfo{v, v}, ResultTypeInfo: b}
}

func (containsFunc) Executor() duckdb.ScalarFuncExecutor {
	return duckdb.ScalarFuncExecutor{RowExecutor: func(v []driver.Value) (any, error) {
		p, err := netip.ParsePrefix(v[0].(string))
		if err != nil {
			return nil, err
		}
		a, err := netip.ParseAddr(v[1].(string))
		if err != nil {
			return nil, err // Athena's CAST fails on a non-address as well
		}
		return p.Contains(a.Unmap()), nil
	}}
}

var duckTypes = map[string]string{"int": "INTEGER", "bigint": "BIGINT", "string": "VARCHAR"}

// open gives one DuckDB connection with vv_contains and the table.
func open(t *testing.T, q *flowlogs.Athena, file, day string) *sql.Conn {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := duckdb.RegisterScalarUDF(conn, "vv_contains", containsFunc{}); err != nil {
		t.Fatal(err)
	}
	// Nothing may be fetched: the extensions used are built in.
	for _, s := range []string{"SET autoinstall_known_extensions = false", "SET autoload_known_extensions = false"} {
		if _, err := conn.ExecContext(context.Background(), s); err != nil {
			t.Fatal(err)
		}
	}
	var view string
	if q.Parquet {
		view = fmt.Sprintf("CREATE VIEW %s AS SELECT *, '%s' AS day FROM read_parquet('%s')", q.Table, day, file)
	} else {
		var cols, sel []string
		for _, c := range q.Columns() {
			cols = append(cols, fmt.Sprintf("'%s': 'VARCHAR'", c.Name))
			sel = append(sel, fmt.Sprintf("TRY_CAST(\"%s\" AS %s) AS \"%s\"", c.Name, duckTypes[c.Type], c.Name))
		}
		view = fmt.Sprintf("CREATE VIEW %s AS SELECT %s, '%s' AS day FROM read_csv('%s', delim = ' ', header = false, skip = 1, quote = '', escape = '', auto_detect = false, columns = {%s})",
			q.Table, strings.Join(sel, ", "), day, file, strings.Join(cols, ", "))
	}
	if _, err := conn.ExecContext(context.Background(), view); err != nil {
		t.Fatalf("%v\n%s", err, view)
	}
	return conn
}

// row is one group as the query gives it, and as the local report gives
// it.
type row struct {
	verdict                                                      string
	endpointRecords, endpointBytes, gatewayRecords, gatewayBytes int64
	publicRecords, publicBytes, privateRecords, rejected         int64
	first, last                                                  int64
}

func queryRows(t *testing.T, conn *sql.Conn, query string) map[string]row {
	t.Helper()
	rows, err := conn.QueryContext(context.Background(), query)
	if err != nil {
		t.Fatalf("%v\n%s", err, query)
	}
	defer rows.Close()
	out := map[string]row{}
	for rows.Next() {
		var key string
		var r row
		var first, last sql.NullInt64
		if err := rows.Scan(&key, &r.verdict, &r.endpointRecords, &r.endpointBytes, &r.gatewayRecords, &r.gatewayBytes,
			&r.publicRecords, &r.publicBytes, &r.privateRecords, &r.rejected, &first, &last); err != nil {
			t.Fatal(err)
		}
		r.first, r.last = first.Int64, last.Int64
		out[key] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func localRows(r *flowlogs.Report) map[string]row {
	out := map[string]row{}
	unix := func(s string) int64 {
		if s == "" {
			return 0
		}
		t, _ := time.Parse(time.RFC3339, s)
		return t.Unix()
	}
	for _, g := range r.Groups {
		p := g.S3ByPath
		out[g.Key] = row{g.Verdict,
			int64(p["interface-endpoint"].Records), int64(p["interface-endpoint"].Bytes),
			int64(p["gateway-endpoint"].Records), int64(p["gateway-endpoint"].Bytes),
			int64(p["public-aws"].Records + p["public-non-aws"].Records), int64(p["public-aws"].Bytes + p["public-non-aws"].Bytes),
			int64(p["private-other"].Records), int64(g.RejectedRecords), unix(g.FirstTS), unix(g.LastTS)}
	}
	return out
}

func TestAthenaQueryGivesTheLocalAnswer(t *testing.T) {
	eps := []netip.Addr{netip.MustParseAddr(flowlogstest.EndpointIPv4), netip.MustParseAddr(flowlogstest.EndpointIPv6)}
	ranges := ipranges.Embedded()
	classifier := resolve.NewClassifier(ranges, nil, eps, nil)
	recs := flowlogstest.Records()
	for _, tc := range []struct {
		name         string
		fields       []string // nil: Parquet
		policy       string
		groupBy      flowlogs.GroupBy
		since, until time.Time
	}{
		{name: "custom v5 text", fields: flowlogstest.CustomFormat},
		{name: "custom v5 text, private, by instance", fields: flowlogstest.CustomFormat, policy: flowlogs.PolicyPrivate, groupBy: flowlogs.GroupInstance},
		{name: "default format", fields: flowlogstest.DefaultFormat},
		{name: "every field", fields: flowlogstest.Names, groupBy: flowlogs.GroupVPC},
		{name: "parquet by subnet", groupBy: flowlogs.GroupSubnet},
		{name: "parquet, private", policy: flowlogs.PolicyPrivate},
		{name: "time window", fields: flowlogstest.CustomFormat,
			since: time.Unix(flowlogstest.T0+150, 0), until: time.Unix(flowlogstest.T0+250, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "AWSLogs", "123456789010", "vpcflowlogs", "ap-south-1", "2026", "07", "01")
			os.MkdirAll(dir, 0o755)
			var b bytes.Buffer
			file := filepath.Join(dir, "123456789010_vpcflowlogs_ap-south-1_fl-1234abcd_20260701T1000Z_fe123456.log")
			var err error
			if tc.fields == nil {
				file = strings.TrimSuffix(file, ".log") + ".log.parquet"
				err = flowlogstest.Parquet(&b, recs, 4)
			} else {
				err = flowlogstest.Text(&b, tc.fields, true, recs)
			}
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(file, b.Bytes(), 0o644)

			policy := tc.policy
			if policy == "" {
				policy = flowlogs.PolicyInterfaceEndpoint
			}
			a := flowlogs.NewAnalyzer(flowlogs.Config{Classifier: classifier, Policy: policy, GroupBy: tc.groupBy,
				Since: tc.since, Until: tc.until, EndpointKnown: true})
			in := flowlogs.ReadFile(file, nil, a.Add)
			if !in.Complete {
				t.Fatalf("%+v", in)
			}
			local := localRows(a.Report([]flowlogs.Input{in}, flowlogs.Meta{Ranges: ranges, Now: time.Unix(flowlogstest.T0, 0)}))

			q := &flowlogs.Athena{Table: "vpc_flow_logs", Location: "s3://logs/AWSLogs/123456789010/vpcflowlogs/ap-south-1/",
				Parquet: tc.fields == nil, GroupBy: tc.groupBy, Policy: policy, Since: tc.since, Until: tc.until,
				Known: flowlogs.KnownPrefixes(eps, nil, ranges, classifier)}
			if tc.fields != nil {
				if q.Format, err = flowlogs.ParseFormat(strings.Join(tc.fields, " ")); err != nil {
					t.Fatal(err)
				}
			}
			query := q.Query()
			if strings.Count(query, flowlogs.ContainsCall) != 1 {
				t.Fatalf("the query's Athena-only call is not %q:\n%s", flowlogs.ContainsCall, query)
			}
			query = strings.Replace(query, flowlogs.ContainsCall, duckContains, 1)
			got := queryRows(t, open(t, q, file, "2026/07/01"), query)

			if len(local) == 0 {
				t.Fatal("the local answer has no group: nothing is compared")
			}
			for k, want := range local {
				if got[k] != want {
					t.Errorf("%s: query %+v\n   local %+v", k, got[k], want)
				}
			}
			for k := range got {
				if _, ok := local[k]; !ok {
					t.Errorf("%s: in the query's answer only: %+v", k, got[k])
				}
			}
		})
	}
}
