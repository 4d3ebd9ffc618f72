# Guest script: opens each corrupted golden image (disks in order, NAMES) and reads every sector through
# /dev/mapper (direct I/O, one encryption sector per read, errors skipped); prints the kernel's AEAD error lines.
set -e
echo -n "$PW" > /tmp/pw
dmesg -c >/dev/null
i=0
for c in $NAMES; do
	dev=/dev/vd$(echo abcdefghijklmnop | cut -c$((i + 1)))
	i=$((i + 1))
	eval "bs=\$BS_$i"
	cryptsetup open --key-file /tmp/pw $dev x
	echo "@@case $c"
	dd if=/dev/mapper/x of=/dev/null bs=$bs iflag=direct conv=noerror 2>&1 | grep -v records || true
	cryptsetup close x
	dmesg -c | grep -o 'INTEGRITY AEAD ERROR, sector [0-9]*' || true
done
echo "@@done"
