#!/bin/sh
# Times vpce-verify flowlogs on a day of generated S3-delivered flow logs
# (gzip text, a custom version 5 format) and prints the rate in megabytes of
# uncompressed records per second and per CPU second, with the peak memory.
#
#   bench/flowlogs/run.sh [MB]        # default 2000 MB of records (about 330 MB of gzip)
#
# The files are written once into $TMPDIR/vpce-flowlogs-bench-MB and read from
# the page cache after the first run: the figure is the tool's, not the disk's.
set -eu
mb=${1:-2000}
cd "$(dirname "$0")/../.."
data=${TMPDIR:-/tmp}/vpce-flowlogs-bench-$mb
bin=${TMPDIR:-/tmp}/vpce-verify-bench
CGO_ENABLED=0 go build -o "$bin" ./cmd/vpce-verify
if [ ! -d "$data" ]; then
	go run bench/flowlogs/gen.go -o "$data" -mb "$mb"
fi
du -sh "$data"
cat "$data"/AWSLogs/*/vpcflowlogs/*/*/*/*/* >/dev/null # into the page cache
# The machine may be shared: the rate per CPU second (user + system) does
# not depend on what else runs, the wall-clock rate does.
for procs in 1 $(nproc); do
	GOMAXPROCS=$procs /usr/bin/time -o "$data.time" -f "%e %U %S %M" \
		"$bin" flowlogs --endpoint-ip 10.0.2.50 --format json -o /dev/null "$data" || true
	read -r wall user sys rss <<EOT
$(tail -n 1 "$data.time")
EOT
	echo "GOMAXPROCS=$procs: $wall s wall ($(echo "$mb / $wall" | bc) MB/s), $user s user + $sys s system ($(echo "$mb / ($user + $sys)" | bc) MB per CPU second), $rss KiB max resident"
done
