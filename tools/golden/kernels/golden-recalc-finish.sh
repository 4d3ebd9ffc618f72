# Guest script: open an image whose superblock says "recalculating", let the
# kernel finish the recalculation, read everything, report, close.
# Environment: DEV, OPEN_ARGS, NAME.
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
# done when the position reaches provided_data_sectors (6.1 keeps the
# "recalculating" flag set afterwards: the status never goes back to "-")
i=0
while :; do
	st=$(dmsetup status $NAME)
	set -- $st
	[ "$6" = "-" ] && break
	[ "$6" -ge "$5" ] && break
	i=$((i + 1))
	[ $i -lt 6000 ] || { echo "recalculation did not finish"; exit 1; }
	sleep 0.05
done
echo "@@status_after_recalc"
dmsetup status $NAME
echo "@@readback_sha256"
dd if=$M bs=65536 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1
echo "@@status_after_read"
dmsetup status $NAME
integritysetup close $NAME
echo "@@dump"
integritysetup dump $DEV
echo "@@end"
