# Guest script (sh): what `integritysetup resize` does to the on-disk volume, per case.
# Each case CASE_i="disk[:datadisk] N1 N2 wipe|recalc|shrink-open|mapping OPEN_ARGS..." runs on its own disk(s):
# a dm-linear "base" of N1 sectors over the disk, format + open + write, then the base is grown/shrunk to N2
# and the volume resized as integritysetup does; the superblock is dumped after each step.
i=0
while :; do
	eval "c=\${CASE_$i:-}"
	[ -n "$c" ] || break
	set -- $c
	disk=$1 n1=$2 n2=$3 how=$4
	shift 4
	args="$*"
	meta=${disk%%:*}
	data=${disk#*:}
	echo "@@case$i $c"
	if [ "$meta" != "$data" ]; then
		dmsetup create base$i --table "0 $n1 linear $data 0"
		integritysetup format -q --batch-mode $args $meta --data-device /dev/mapper/base$i || { echo "format failed"; i=$((i+1)); continue; }
		ODEV="$meta --data-device /dev/mapper/base$i"
	else
		dmsetup create base$i --table "0 $n1 linear $data 0"
		integritysetup format -q --batch-mode $args /dev/mapper/base$i || { echo "format failed"; i=$((i+1)); continue; }
		ODEV="/dev/mapper/base$i"
	fi
	integritysetup open $args $ODEV v$i || { echo "open failed"; i=$((i+1)); continue; }
	sz=$(blockdev --getsz /dev/mapper/v$i)
	echo "size_before $sz"
	dd if=/dev/urandom of=/dev/mapper/v$i bs=4096 count=$((sz / 8)) oflag=direct status=none
	sync
	echo "dump_before"; integritysetup dump $meta 2>/dev/null || integritysetup dump /dev/mapper/base$i
	case $how in
	wipe | recalc | shrink)
		dmsetup suspend base$i; dmsetup reload base$i --table "0 $n2 linear $data 0"; dmsetup resume base$i
		if [ $how = wipe ]; then integritysetup resize --batch-mode --wipe v$i; else integritysetup resize --batch-mode v$i; fi
		echo "resize_rc $?"
		;;
	mapping)
		integritysetup resize --batch-mode v$i --size $n2
		echo "resize_rc $?"
		;;
	shrink-open)
		integritysetup close v$i
		dmsetup suspend base$i; dmsetup reload base$i --table "0 $n2 linear $data 0"; dmsetup resume base$i
		integritysetup open $args $ODEV v$i
		echo "reopen_rc $?"
		;;
	esac
	echo "table_after $(dmsetup table v$i)"
	echo "status_after $(dmsetup status v$i)"
	echo "dump_after_resize"; integritysetup dump $meta 2>/dev/null || integritysetup dump /dev/mapper/base$i
	# let a recalculation finish, then read everything
	k=0
	while [ $k -lt 600 ]; do
		set -- $(dmsetup status v$i) x x x x x x
		[ "$6" = "x" ] && break
		[ "$6" = "-" ] && break
		[ "$6" -ge "$5" ] && break
		k=$((k + 1)); sleep 0.1
	done
	echo "status_settled $(dmsetup status v$i)"
	dd if=/dev/mapper/v$i of=/dev/null bs=65536 iflag=direct status=none; echo "read_rc $?"
	echo "status_read $(dmsetup status v$i)"
	integritysetup close v$i
	dmsetup remove base$i
	echo "dump_closed"; integritysetup dump $meta 2>/dev/null
	i=$((i + 1))
done
echo "@@end"
