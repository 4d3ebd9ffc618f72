# Guest script: open a (possibly corrupted) dm-integrity image and find out
# which 512-byte sectors of the provided data fail to read.
#   pass 1: one dd over the whole device, 4 KiB O_DIRECT reads,
#           conv=noerror,sync (failed blocks come out as zeros)
#   pass 2: locate failures: 64 KiB reads; inside failing ones 4 KiB reads;
#           inside failing ones 512-byte reads (each an O_DIRECT dd)
# dmsetup status (mismatch counter) is printed after each pass.
# Environment: DEV (default /dev/vda), OPEN_ARGS, NAME (default golden).
DEV=${DEV:-/dev/vda}
NAME=${NAME:-golden}
M=/dev/mapper/$NAME
echo "@@guest_version"
integritysetup --version
uname -r
integritysetup open $OPEN_ARGS $DEV $NAME || exit 1
sz=$(blockdev --getsz $M)
echo "@@table"
dmsetup table $NAME
echo "@@status_after_open"
dmsetup status $NAME

dd if=$M of=/tmp/pass1 bs=4096 iflag=direct conv=noerror,sync 2>/tmp/pass1.err
echo "@@pass1_exit"
echo $?
echo "@@pass1_stderr"
cat /tmp/pass1.err
echo "@@pass1_sha256"
sha256sum /tmp/pass1 | cut -d' ' -f1
rm -f /tmp/pass1
echo "@@status_after_pass1"
dmsetup status $NAME

rd() { dd if=$M of=/dev/null bs=$1 skip=$2 count=1 iflag=direct 2>/dev/null; }
f64=0 f4=0 f512=0
: >/tmp/bad
c=0
nchunks=$(( (sz + 127) / 128 ))
while [ $c -lt $nchunks ]; do
	if ! rd 65536 $c; then
		f64=$((f64 + 1))
		b=$((c * 16))
		e=$((b + 16))
		while [ $b -lt $e ] && [ $((b * 8)) -lt "$sz" ]; do
			if ! rd 4096 $b; then
				f4=$((f4 + 1))
				s=$((b * 8))
				while [ $s -lt $((b * 8 + 8)) ] && [ $s -lt "$sz" ]; do
					if ! rd 512 $s; then
						f512=$((f512 + 1))
						echo $s >>/tmp/bad
					fi
					s=$((s + 1))
				done
			fi
			b=$((b + 1))
		done
	fi
	c=$((c + 1))
done
echo "@@pass2_failed_reads"
echo "64k=$f64 4k=$f4 512=$f512"
echo "@@bad_sectors"
cat /tmp/bad
echo "@@status_after_pass2"
dmsetup status $NAME
echo "@@kernel_messages"
dmesg | grep -i 'integrity' | sed 's/^\[[ 0-9.]*\] //' | sort | uniq -c
integritysetup close $NAME
echo "@@end"
