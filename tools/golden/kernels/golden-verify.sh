# Guest script: open an existing dm-integrity image (fresh boot), read the
# whole provided data once, report, close.  Used by make_golden.py.
# Environment: DEV (default /dev/vda), OPEN_ARGS, NAME (default golden).
set -e
DEV=${DEV:-/dev/vda}
NAME=${NAME:-golden}
M=/dev/mapper/$NAME
echo "@@guest_version"
integritysetup --version
uname -r
echo "@@guest_dump"
integritysetup dump $DEV || true
integritysetup open $OPEN_ARGS $DEV $NAME
echo "@@guest_status"
integritysetup status $NAME || true
echo "@@table"
dmsetup table $NAME
echo "@@status_after_open"
dmsetup status $NAME
echo "@@readback_sha256"
dd if=$M bs=65536 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1
echo "@@status_after_read"
dmsetup status $NAME
integritysetup close $NAME
echo "@@end"
