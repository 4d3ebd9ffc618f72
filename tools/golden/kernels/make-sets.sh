#!/bin/sh
# Makes the golden sets of the newer kernels with the oracle (as root, from anywhere):
#   tools/golden/kernels/make-sets.sh [backports|sid ...] [-- VARIANT ...]
# backports → testing/data/golden-6.12 (Linux 6.12, integritysetup 2.6.1),
# sid       → testing/data/golden-7.2  (Linux 7.2, integritysetup 2.8.8).
# Same variants and data as ../shared/golden (make_golden.py here is its copy, with the release's
# cache, the guest's own integritysetup version and dump/status recorded from the guest).
set -e
HERE=$(cd "$(dirname "$0")" && pwd)
rels=""
while [ $# -gt 0 ] && [ "$1" != "--" ]; do rels="$rels $1"; shift; done
[ "$1" = "--" ] && shift
for r in ${rels:-backports sid}; do
	case $r in
	backports) out=$HERE/../golden-6.12 ;;
	sid) out=$HERE/../golden-7.2 ;;
	*) echo "unknown release $r" >&2; exit 2 ;;
	esac
	mkdir -p "$out"
	ORACLE_RELEASE=$r python3 "$HERE/make_golden.py" --out "$out" "$@"
done
