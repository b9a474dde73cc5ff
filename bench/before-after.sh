#!/usr/bin/env bash
# Compares Go benchmarks of two revisions in one run, on the same machine,
# rounds alternating so that a busy neighbour slows both alike.
#
#   bench/before-after.sh                       # 8a6e10f (before the layout move) against HEAD
#   BEFORE=REV AFTER=REV ROUNDS=5 bench/before-after.sh
#
# A benchmark is found by name in each revision, wherever its package now
# lives (the layout move renamed capture to capture/flow, capture/hello and
# capture/pcapfile). Each is run with a fixed iteration count, so besides
# ns/op (wall time, load-sensitive) the CPU time of the whole process per
# op (perf's task-clock, or GNU time's user+system) is comparable: on a
# shared machine it is what waiting for a core does not inflate. (perf's
# instruction counter would be better still; VMs often lack it.)
# Results: $OUT/before-after.tsv and a table on stdout (medians).
set -euo pipefail
cd "$(dirname "$0")/.."
BEFORE=${BEFORE:-8a6e10f}
AFTER=${AFTER:-HEAD}
ROUNDS=${ROUNDS:-5}
OUT=${OUT:-bench/out}
# name:iterations (one iteration = one packet or one call, see each benchmark)
BENCHES=${BENCHES:-"Analyzer/EN10MB:2000000 Analyzer/LINUX_SLL2:2000000 ReadFiles:2000000 ParseClientHello:200000 StreamPrefixAdd:2000000 FileReaderPcap:2000000 FileReaderPcapng:2000000 WriterWrite/pcapng:2000000 Classify:2000000 Lookup:5000000 ParseEmbedded:20"}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
work=$(mktemp -d)
trap 'git worktree remove --force "$work/before" 2>/dev/null; git worktree remove --force "$work/after" 2>/dev/null; rm -rf "$work"' EXIT

if ! command -v perf >/dev/null && ! [ -x /usr/bin/time ]; then
	echo "needs perf or GNU time (/usr/bin/time)" >&2; exit 1
fi

for side in before after; do
	rev=$BEFORE; [ "$side" = after ] && rev=$AFTER
	git worktree add -q --detach "$work/$side" "$rev"
	echo "$side: $(git -C "$work/$side" log -1 --format='%h %s' | cut -c1-80)"
done

# testbin SIDE BENCH: builds (once) the test binary of the package that
# declares Benchmark<top-level name> in SIDE and prints its path; the
# package's folder (where go test runs it, for its testdata) goes to
# $work/dir.$SIDE.
testbin() {
	local side=$1 top=${2%%/*} dir pkg bin
	dir=$(cd "$work/$side" && grep -rl --include='*_test.go' "^func Benchmark$top(" . | sed -n 1p | xargs -r dirname)
	[ -n "$dir" ] || return 1
	pkg=${dir#./}
	echo "$work/$side/$pkg" >"$work/dir.$side"
	bin="$work/bin/$side/${pkg//\//_}.test"
	if [ ! -x "$bin" ]; then
		mkdir -p "$(dirname "$bin")"
		(cd "$work/$side" && go test -c -o "$bin" "./$pkg") >&2
	fi
	echo "$bin"
}

tsv="$OUT/before-after.tsv"
printf 'round\tside\tbench\tns_op\tB_op\tallocs_op\tcpu_ns_op\n' >"$tsv"
for round in $(seq 1 "$ROUNDS"); do
	for spec in $BENCHES; do
		name=${spec%%:*} n=${spec##*:}
		sides="before after"; [ $((round % 2)) = 0 ] && sides="after before"
		for side in $sides; do
			bin=$(testbin "$side" "$name") || { echo "no Benchmark$name in $side" >&2; continue; }
			pattern="^Benchmark${name%%/*}\$"
			[ "$name" != "${name%%/*}" ] && pattern="$pattern/^${name#*/}\$"
			res="$work/res"
			args=(-test.run='^$' -test.bench="$pattern" -test.benchtime="${n}x" -test.benchmem -test.count=1)
			if command -v perf >/dev/null; then
				(cd "$(cat "$work/dir.$side")" && perf stat -x, -e task-clock -o "$work/cpu" "$bin" "${args[@]}") >"$res" 2>&1 || true
				cpu_ms=$(awk -F, '/task-clock/ {print $1; exit}' "$work/cpu")
			else
				(cd "$(cat "$work/dir.$side")" && /usr/bin/time -f '%U %S' -o "$work/cpu" "$bin" "${args[@]}") >"$res" 2>&1 || true
				cpu_ms=$(awk '{print ($1 + $2) * 1000}' "$work/cpu")
			fi
			line=$(grep -E "^Benchmark" "$res" | head -1 || true)
			if [ -z "$line" ]; then
				echo "$side: no result for Benchmark$name:" >&2; cat "$res" >&2; continue
			fi
			ns=$(awk '{for (i=1;i<=NF;i++) if ($i=="ns/op") print $(i-1)}' <<<"$line")
			bop=$(awk '{for (i=1;i<=NF;i++) if ($i=="B/op") print $(i-1)}' <<<"$line")
			aop=$(awk '{for (i=1;i<=NF;i++) if ($i=="allocs/op") print $(i-1)}' <<<"$line")
			cpu=$(awk -v t="$cpu_ms" -v n="$n" 'BEGIN {printf "%.0f", t * 1e6 / n}')
			printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$side" "$name" "$ns" "$bop" "$aop" "$cpu" | tee -a "$tsv"
		done
	done
done

echo
echo "medians of $ROUNDS rounds (CPU ns per op: the whole process, set-up included, over the fixed iteration count)"
python3 - "$tsv" <<'EOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter='\t'))
def med(b, s, k):
    v = [float(r[k]) for r in rows if r['bench'] == b and r['side'] == s and r[k] not in ('', '-')]
    return statistics.median(v) if v else None
print('| benchmark | ns/op before | ns/op after | change | CPU ns/op before | CPU ns/op after | change | B/op before → after | allocs/op before → after |')
print('|---|---|---|---|---|---|---|---|---|')
seen = []
for r in rows:
    if r['bench'] not in seen: seen.append(r['bench'])
def pct(a, b):
    return '%+.0f %%' % ((b - a) / a * 100) if a and b is not None else '-'
def fmt(x):
    return '-' if x is None else ('%.0f' % x if x >= 100 else '%.3g' % x)
for b in seen:
    nb, na = med(b, 'before', 'ns_op'), med(b, 'after', 'ns_op')
    ib, ia = med(b, 'before', 'cpu_ns_op'), med(b, 'after', 'cpu_ns_op')
    print('| %s | %s | %s | %s | %s | %s | %s | %s → %s | %s → %s |' % (b, fmt(nb), fmt(na), pct(nb, na), fmt(ib), fmt(ia), pct(ib, ia),
        fmt(med(b, 'before', 'B_op')), fmt(med(b, 'after', 'B_op')), fmt(med(b, 'before', 'allocs_op')), fmt(med(b, 'after', 'allocs_op'))))
EOF
