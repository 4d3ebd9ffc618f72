# Guest script: format a dm-integrity device, open it, copy pattern data into
# it, read everything back, report, close.  Used by make_golden.py.
# Environment (all optional except SRC):
#   DEV          device to format/open (default /dev/vda)
#   SRC          disk holding the data pattern: sector s of SRC is pattern(s)
#   FORMAT_ARGS  extra `integritysetup format` options
#   OPEN_ARGS    extra `integritysetup open` options
#   WRITES       "start:count ..." in 512-byte sectors of the dm device
#                (multiples of 8; a negative start counts from the end)
#   NAME         dm name (default golden)
# Output: sections, each starting with a line "@@<section>".
set -e
DEV=${DEV:-/dev/vda}
NAME=${NAME:-golden}
M=/dev/mapper/$NAME
echo "@@guest_version"
integritysetup --version
uname -r

echo "@@format_cmd"
echo "integritysetup format --batch-mode $FORMAT_ARGS $DEV"
if ! integritysetup format --batch-mode $FORMAT_ARGS $DEV >/tmp/format.log 2>&1; then
	cat /tmp/format.log
	exit 1
fi
echo "@@format_output"
cat /tmp/format.log
echo "@@open_cmd"
echo "integritysetup open $OPEN_ARGS $DEV $NAME"
integritysetup open $OPEN_ARGS $DEV $NAME
echo "@@table"
dmsetup table $NAME
echo "@@status_after_open"
dmsetup status $NAME
sz=$(blockdev --getsz $M)
echo "@@size"
echo "$sz $(blockdev --getss $M)"

: >/tmp/writes
for w in $WRITES; do
	s=${w%:*}
	c=${w#*:}
	if [ "$s" -lt 0 ]; then s=$(( (sz / 8) * 8 + s )); fi
	dd if=$SRC of=$M bs=4096 skip=$((s / 8)) seek=$((s / 8)) count=$((c / 8)) oflag=direct 2>/dev/null
	echo "$s:$c" >>/tmp/writes
done
sync
echo "@@writes"
cat /tmp/writes
echo "@@status_after_write"
dmsetup status $NAME
echo "@@readback_sha256"
dd if=$M bs=65536 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1
echo "@@status_after_read"
dmsetup status $NAME
echo "@@integritysetup_status"
integritysetup status $NAME
integritysetup close $NAME
echo "@@end"
