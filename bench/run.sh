#!/usr/bin/env bash
# bench/run.sh: does analyze read any capture in bounded memory and linear
# time? It builds vpce-verify, writes synthetic captures with bench/gencap,
# and times `vpce-verify analyze` on each against two programs that only
# read the file (tcpdump with a filter, sha256sum), in alternating rounds so
# that a noisy neighbour slows all three alike. See bench/README.md.
#
#   bench/run.sh                 # the documented run (about 14 GB of captures, one at a time)
#   SCALE=0.1 bench/run.sh       # a tenth of every size
#
# Nothing is sent anywhere: the packets exist only in the capture files.
set -euo pipefail

cd "$(dirname "$0")/.."

SCALE=${SCALE:-1}
ROUNDS=${ROUNDS:-3}
TIMEOUT=${TIMEOUT:-600}   # seconds; a command that takes longer is recorded as not finished
OUT=${OUT:-bench/out}     # captures, logs and results (bench/out is in .gitignore)
KEEP=${KEEP:-0}           # 1 keeps the captures (and reuses them on the next run)
SEED=${SEED:-1}
PUBLIC=${PUBLIC:-0.1}
ENDPOINT=${ENDPOINT:-10.0.2.50}
CAPTURES=${CAPTURES:-bulk small small-1m synonly hello-partial}

scaled() { awk -v n="$1" -v s="$SCALE" 'BEGIN { v = int(n * s + 0.5); print (v < 1 ? 1 : v) }'; }
BULK_BYTES=${BULK_BYTES:-$(scaled 1100000000)}
BULK_CONNS=${BULK_CONNS:-100}
SMALL_CONNS=${SMALL_CONNS:-$(scaled 100000)}
LARGE_CONNS=${LARGE_CONNS:-$(scaled 1000000)}
HOSTILE_CONNS=${HOSTILE_CONNS:-$(scaled 1000000)}

# Targets from the issue "Any capture size: bounded memory, linear time".
TARGET_RATIO=1.1 # analyze / max(tcpdump, sha256sum), bulk and small
TARGET_SCALE=12  # time(LARGE_CONNS) / time(SMALL_CONNS), for 10x the connections
TARGET_RSS=150   # MB, every capture

FILTER='tcp[tcpflags]&(tcp-syn|tcp-fin|tcp-rst)!=0 or port 53'

mkdir -p "$OUT"
VPCE=$OUT/vpce-verify
GENCAP=$OUT/gencap
RESULTS=$OUT/results.tsv
LOG=$OUT/run.log

echo "building vpce-verify and gencap" >&2
CGO_ENABLED=0 go build -o "$VPCE" ./cmd/vpce-verify
go build -o "$GENCAP" bench/gencap/main.go

{
	echo "date:     $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	if commit=$(git rev-parse --short HEAD 2>/dev/null); then
		git diff --quiet HEAD -- . || commit+=" (with uncommitted changes)"
	else
		commit="unknown (not a git checkout)"
	fi
	echo "commit:   $commit"
	echo "machine:  $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) memory, load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
	echo "tools:    $(go version | cut -d' ' -f3-), $(tcpdump --version 2>&1 | head -1), $(sha256sum --version | head -1)"
	echo "settings: SCALE=$SCALE ROUNDS=$ROUNDS TIMEOUT=${TIMEOUT}s SEED=$SEED PUBLIC=$PUBLIC"
} | tee "$LOG" >&2
printf 'capture\tround\tcommand\tseconds\tmax_rss_kb\texit\tcpu_seconds\n' >"$RESULTS"

# measure NAME FILE CMD...: one timed run. Sets WALL, RSS (KB) and RC; RC
# 124 means TIMEOUT ran out (137: and SIGTERM did not stop it within 10 s).
# --foreground keeps timeout alive until its child is gone, so that time's
# peak RSS is the child's even when it has to be killed: without it the
# KILL goes to the whole process group, timeout included.
measure() {
	local name=$1 file=$2
	shift 2
	local tf=$OUT/time.out
	RC=0
	/usr/bin/time -f '%e %M %U %S' -o "$tf" timeout --foreground -k 10 "$TIMEOUT" "$@" >/dev/null 2>>"$OUT/$name.stderr" || RC=$?
	local user sys
	read -r WALL RSS user sys < <(tail -1 "$tf")
	# user + system seconds: on a shared machine, what waiting for a core
	# does not inflate (informative; the targets are on wall time)
	CPU=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

declare -A T RSSMAX STATUS VERDICT INFO CONNS SIZE
# bench NAME MODE CONNS [GENCAP FLAGS...]
bench() {
	local name=$1 mode=$2 conns=$3
	shift 3
	local f=$OUT/$name.pcap
	local gen=("$GENCAP" -mode "$mode" -conns "$conns" -seed "$SEED" -public "$PUBLIC" "$@" -out "$f")
	CONNS[$name]=$conns
	if [[ $KEEP == 1 && -f $f && -f $f.gen && $(head -1 "$f.gen") == "${gen[*]}" ]]; then
		echo "$name: reusing $f" >&2
	else
		echo "$name: ${gen[*]}" >&2
		echo "${gen[*]}" >"$f.gen"
		"${gen[@]}" 2>>"$f.gen"
	fi
	INFO[$name]=$(tail -1 "$f.gen")
	SIZE[$name]=$(stat -c %s "$f")
	cat "$f" >/dev/null # into the page cache: every round reads from memory
	local -A times=()
	local r tool
	STATUS[$name.analyze]=ok STATUS[$name.tcpdump]=ok STATUS[$name.sha256]=ok
	RSSMAX[$name]=0
	for ((r = 1; r <= ROUNDS; r++)); do
		for tool in analyze tcpdump sha256; do
			[[ ${STATUS[$name.$tool]} == ok ]] || continue
			case $tool in
			analyze) measure "$name" "$f" "$VPCE" analyze --endpoint-ip "$ENDPOINT" "$f" ;;
			tcpdump) measure "$name" "$f" tcpdump -nn -r "$f" -w /dev/null "$FILTER" ;;
			sha256) measure "$name" "$f" sha256sum "$f" ;;
			esac
			printf '%s\t%d\t%s\t%s\t%s\t%d\t%s\n' "$name" "$r" "$tool" "$WALL" "$RSS" "$RC" "$CPU" >>"$RESULTS"
			echo "$name round $r: $tool ${WALL}s ${RSS}KB exit $RC cpu ${CPU}s" >&2
			if [[ $tool == analyze ]]; then
				((RSS > RSSMAX[$name])) && RSSMAX[$name]=$RSS
				case $RC in
				0) VERDICT[$name]=pass ;;
				1) VERDICT[$name]=fail ;;
				3) VERDICT[$name]=inconclusive ;;
				124 | 137) STATUS[$name.$tool]=dnf ;;
				*) STATUS[$name.$tool]="exit $RC" ;;
				esac
			elif [[ $RC == 124 || $RC == 137 ]]; then
				STATUS[$name.$tool]=dnf
			elif [[ $RC != 0 ]]; then
				STATUS[$name.$tool]="exit $RC"
			fi
			if [[ ${STATUS[$name.$tool]} == ok ]]; then
				times[$tool]+="$WALL "
			else
				echo "$name: $tool ${STATUS[$name.$tool]}, no more rounds of it (stderr: $OUT/$name.stderr)" >&2
			fi
		done
	done
	for tool in analyze tcpdump sha256; do
		if [[ ${STATUS[$name.$tool]} == ok ]]; then
			T[$name.$tool]=$(tr ' ' '\n' <<<"${times[$tool]}" | grep . | median)
		else
			T[$name.$tool]=
		fi
	done
	[[ $KEEP == 1 ]] || rm -f "$f"
}

for c in $CAPTURES; do
	case $c in
	bulk) bench bulk bulk "$BULK_CONNS" -bytes "$BULK_BYTES" ;;
	small) bench small small "$SMALL_CONNS" ;;
	small-1m) bench small-1m small "$LARGE_CONNS" ;;
	synonly) bench synonly synonly "$HOSTILE_CONNS" ;;
	hello-partial) bench hello-partial hello-partial "$HOSTILE_CONNS" ;;
	*) echo "run.sh: error: unknown capture $c in CAPTURES" >&2 && exit 2 ;;
	esac
done

# The table. A command that did not finish shows as ">TIMEOUT s", and every
# target that depends on it fails.
field() { grep -o "$2=[^ ]*" <<<"${INFO[$1]}" | cut -d= -f2; }
secs() {
	local name=$1 tool=$2
	case ${STATUS[$name.$tool]} in
	ok) printf '%.2f' "${T[$name.$tool]}" ;;
	dnf) printf '>%d' "$TIMEOUT" ;;
	*) printf '%s' "${STATUS[$name.$tool]}" ;;
	esac
}
{
	echo
	printf '%-14s %9s %10s %9s | %9s %9s %9s | %-16s | %-17s | %s\n' \
		capture conns packets "file" analyze tcpdump sha256sum "ratio (<=$TARGET_RATIO)" "peak RSS (<=${TARGET_RSS}MB)" verdict
	for c in $CAPTURES; do
		[[ -n ${INFO[$c]:-} ]] || continue
		ratio=- rtarget=
		if [[ ${STATUS[$c.analyze]} == ok && ${STATUS[$c.tcpdump]} == ok && ${STATUS[$c.sha256]} == ok ]]; then
			ratio=$(awk -v a="${T[$c.analyze]}" -v t="${T[$c.tcpdump]}" -v s="${T[$c.sha256]}" 'BEGIN { m = t > s ? t : s; printf "%.2f", (m > 0 ? a / m : 0) }')
			[[ $c == bulk || $c == small ]] && rtarget=$(awk -v r="$ratio" -v t=$TARGET_RATIO 'BEGIN { print (r <= t ? "pass" : "FAIL") }')
		elif [[ $c == bulk || $c == small ]]; then
			rtarget=FAIL
		fi
		rss=$(awk -v k="${RSSMAX[$c]}" 'BEGIN { printf "%.0f", k / 1024 }')
		[[ ${STATUS[$c.analyze]} == dnf ]] && rss=">=$rss"
		rsstarget=$(awk -v k="${RSSMAX[$c]}" -v t=$TARGET_RSS -v s="${STATUS[$c.analyze]}" 'BEGIN { print (k / 1024 <= t && s == "ok" ? "pass" : "FAIL") }')
		printf '%-14s %9s %10s %8.0fM | %9s %9s %9s | %-5s %-10s | %-6s %-10s | %s\n' \
			"$c" "${CONNS[$c]}" "$(field "$c" packets)" "$(awk -v b="${SIZE[$c]}" 'BEGIN { print b / 1e6 }')" \
			"$(secs "$c" analyze)" "$(secs "$c" tcpdump)" "$(secs "$c" sha256)" \
			"$ratio" "$rtarget" "$rss" "$rsstarget" "${VERDICT[$c]:-${STATUS[$c.analyze]}}"
	done
	if [[ -n ${INFO[small]:-} && -n ${INFO[small-1m]:-} ]]; then
		if [[ ${STATUS[small.analyze]} == ok && ${STATUS[small-1m.analyze]} == ok ]]; then
			sr=$(awk -v a="${T[small-1m.analyze]}" -v b="${T[small.analyze]}" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }')
			st=$(awk -v r="$sr" -v t=$TARGET_SCALE 'BEGIN { print (r <= t ? "pass" : "FAIL") }')
		else
			sr="n/a (analyze did not finish)" st=FAIL
		fi
		echo
		echo "scaling: analyze time(small-1m, ${CONNS[small-1m]} conns) / time(small, ${CONNS[small]} conns) = $sr (target <= $TARGET_SCALE for $(awk -v a="${CONNS[small-1m]}" -v b="${CONNS[small]}" 'BEGIN { printf "%g", a / b }')x the connections): $st"
	fi
	echo
	echo "seconds: median of $ROUNDS rounds (wall clock); >$TIMEOUT: did not finish in $TIMEOUT s (stopped, not run again; its RSS is what it had reached)"
	echo "peak RSS: the largest of analyze's rounds; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); raw figures: $RESULTS"
} | tee -a "$LOG"
