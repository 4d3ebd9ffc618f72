# Guest script: leave committed-but-not-yet-written-back entries in the
# dm-integrity journal, then crash the machine (sysrq 'b': immediate reboot,
# no sync, no device-mapper suspend).  `run` then exits 125 by design.
#   COMMITTED   "start:count ..." written with O_DIRECT, each followed by an
#               fsync (a flush: dm-integrity commits its journal)
#   UNCOMMITTED "start:count ..." written with O_DIRECT afterwards, no flush
#               (they stay in the in-memory journal and are lost); their
#               data comes from SRC2 (default SRC)
# Other environment: DEV, SRC, FORMAT_ARGS, OPEN_ARGS, NAME as in
# golden-write.sh.  Keep the writes well under the journal watermark, or the
# kernel starts copying the journal to its final place.
set -e
DEV=${DEV:-/dev/vda}
NAME=${NAME:-golden}
M=/dev/mapper/$NAME
echo "@@guest_version"
integritysetup --version
uname -r
echo "@@format_cmd"
echo "integritysetup format --batch-mode $FORMAT_ARGS $DEV"
integritysetup format --batch-mode $FORMAT_ARGS $DEV >/tmp/format.log 2>&1 || { cat /tmp/format.log; exit 1; }
echo "@@open_cmd"
echo "integritysetup open $OPEN_ARGS $DEV $NAME"
integritysetup open $OPEN_ARGS $DEV $NAME
echo "@@table"
dmsetup table $NAME
echo "@@size"
echo "$(blockdev --getsz $M) $(blockdev --getss $M)"
for w in $COMMITTED; do
	s=${w%:*}
	c=${w#*:}
	dd if=$SRC of=$M bs=4096 skip=$((s / 8)) seek=$((s / 8)) count=$((c / 8)) oflag=direct conv=fsync 2>/dev/null
done
echo "@@status_after_committed"
dmsetup status $NAME
for w in $UNCOMMITTED; do
	s=${w%:*}
	c=${w#*:}
	dd if=${SRC2:-$SRC} of=$M bs=4096 skip=$((s / 8)) seek=$((s / 8)) count=$((c / 8)) oflag=direct 2>/dev/null
done
echo "@@status_after_uncommitted"
dmsetup status $NAME
echo "@@crashing"
sleep 1   # let the serial port drain; the journal commit timer is much longer
echo 1 > /proc/sys/kernel/sysrq
echo b > /proc/sysrq-trigger
sleep 10
echo "@@still-alive"
