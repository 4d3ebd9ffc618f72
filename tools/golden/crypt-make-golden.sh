# Guest script (../shared/oracle/run): makes the LUKS2 authenticated golden images with cryptsetup 2.6.1 and the
# kernel's dm-crypt over dm-integrity. Disks /dev/vda.. are the cases in CASES order; /oracle/src is the data
# written, /oracle/vk the volume key (its first key-size bytes are used), PW the passphrase.
# Prints @@ markers the host (make-golden.ts) parses. The last case (journal) crashes the guest on purpose.
set -e
echo -n "$PW" > /tmp/pw
modprobe aegis128 2>/dev/null || true
i=0
for c in $CASES; do
	dev=/dev/vd$(echo abcdefghijklmnop | cut -c$((i + 1)))
	i=$((i + 1))
	eval "args=\$ARGS_$c"
	echo "@@case $c $dev"
	cryptsetup luksFormat --type luks2 --batch-mode --key-file /tmp/pw --volume-key-file /oracle/vk \
		--luks2-metadata-size 16k --luks2-keyslots-size 512k $args $dev >/tmp/f.log 2>&1 || { cat /tmp/f.log; exit 1; }
	cryptsetup open --key-file /tmp/pw $dev c
	echo "@@table"
	dmsetup table c | sed 's/:logon:[^ ]*/:logon:KEY/'
	dmsetup table c_dif
	n=$(blockdev --getsz /dev/mapper/c)
	echo "@@size $n"
	if [ "$c" = journal ]; then
		# the same stack by hand with a 60 s commit time, so committed writes stay in the journal; then crash
		itab=$(dmsetup table c_dif | sed "s/ [0-9]*:[0-9]* / $(echo $dev | sed 's/\//\\\//g') /; s/commit_time:[0-9]*/commit_time:60000/")
		ctab=$(dmsetup table c | sed 's/:[0-9]*:logon:[^ ]*/'"$VKHEX"'/; s/ [0-9]*:[0-9]* / \/dev\/mapper\/j_dif /')
		cryptsetup close c
		dmsetup create j_dif --table "$itab"
		dmsetup create j --table "$ctab"
		echo "@@table_manual"
		dmsetup table j_dif
		dmsetup table j | sed 's/ [0-9a-f]\{32,\} / KEY /'
		dd if=/oracle/src of=/dev/mapper/j bs=4096 count=32 oflag=direct conv=fsync 2>/dev/null
		dd if=/oracle/src of=/dev/mapper/j bs=4096 skip=64 seek=64 count=8 oflag=direct conv=fsync 2>/dev/null
		echo "@@sha $(dd if=/dev/mapper/j bs=4096 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)"
		echo "@@status $(dmsetup status j_dif)"
		dd if=/oracle/src2 of=/dev/mapper/j bs=4096 skip=96 seek=96 count=8 oflag=direct 2>/dev/null
		echo "@@crashing"
		sleep 1
		echo 1 > /proc/sys/kernel/sysrq
		echo b > /proc/sysrq-trigger
		sleep 10
	fi
	dd if=/oracle/src of=/dev/mapper/c bs=4096 count=32 conv=fsync 2>/dev/null
	dd if=/oracle/src of=/dev/mapper/c bs=4096 skip=64 seek=64 count=8 conv=fsync 2>/dev/null
	last=$((n / 8 - 1))
	dd if=/oracle/src of=/dev/mapper/c bs=4096 skip=$last seek=$last count=1 conv=fsync 2>/dev/null
	echo "@@sha $(dd if=/dev/mapper/c bs=4096 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)"
	echo "@@status $(dmsetup status c_dif)"
	cryptsetup close c
	echo "@@dump"
	cryptsetup luksDump $dev
done
echo "@@done"
