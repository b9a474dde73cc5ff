#!/bin/sh
# Builds the release: static binaries (CGO_ENABLED=0, no libpcap, no libc)
# for linux/amd64 and linux/arm64 (Graviton), the completion scripts and
# the manual page, a tar.gz per platform, and SHA256SUMS over all of it.
#
#   scripts/release.sh [VERSION] [OUTDIR]
#
# VERSION defaults to `git describe --tags --always --dirty`; OUTDIR to
# dist/VERSION. Check the download with: cd OUTDIR && sha256sum -c SHA256SUMS
# PLATFORMS (default "linux/amd64 linux/arm64") chooses others.
set -eu

cd "$(dirname "$0")/.."
version=${1:-$(git describe --tags --always --dirty 2>/dev/null || echo devel)}
out=${2:-dist/$version}
platforms=${PLATFORMS:-linux/amd64 linux/arm64}

case $version in
*[!A-Za-z0-9._+-]*) echo "release.sh: version $version: letters, digits and . _ + - only" >&2; exit 2 ;;
esac
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# -trimpath and a fixed version: the same source gives the same bytes.
ldflags="-s -w -X main.version=$version"
# -buildvcs=auto: the VCS revision in the binary (vpce-verify version) when
# built from a git checkout, whatever GOFLAGS says.
build="go build -trimpath -buildvcs=auto"

# The completions and the manual come from a binary for this machine:
# they are the same for every platform.
CGO_ENABLED=0 $build -ldflags "$ldflags" -o "$work/host" ./cmd/vpce-verify
mkdir -p "$work/share"
"$work/host" completion bash > "$work/share/vpce-verify.bash"
"$work/host" completion zsh > "$work/share/_vpce-verify"
"$work/host" completion fish > "$work/share/vpce-verify.fish"
"$work/host" man > "$work/share/vpce-verify.1"

for p in $platforms; do
	goos=${p%/*}
	goarch=${p#*/}
	name=vpce-verify-$version-$goos-$goarch
	echo "building $name" >&2
	CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch $build -ldflags "$ldflags" -o "$out/$name" ./cmd/vpce-verify
	dir=$work/$name
	mkdir -p "$dir"
	cp "$out/$name" "$dir/vpce-verify"
	cp "$work/share/"* README.md "$dir/"
	[ -f LICENSE ] && cp LICENSE "$dir/"
	# Sorted names, fixed owner and time: reproducible archives.
	tar -C "$work" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf - "$name" | gzip -n > "$out/$name.tar.gz"
done
cp "$work/share/"* "$out/"

cd "$out"
rm -f SHA256SUMS
# The glob is sorted (LC_ALL=C: by bytes), and the names are ours.
LC_ALL=C
export LC_ALL
sha256sum -- * > SHA256SUMS.tmp
mv SHA256SUMS.tmp SHA256SUMS
echo "release $version in $out:" >&2
cat SHA256SUMS >&2
