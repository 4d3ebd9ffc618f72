# Guest script: a device with per-sector metadata, and an inline-mode (superblock v6) volume on it.
# The lower device is dm-integrity with no internal hash (mode D): it carries TAG bytes per sector for the
# layer above it (a blk-integrity profile), as dm-crypt's authenticated modes use it.
set -u
TAG=${TAG:-4}
n=$(blockdev --getsz /dev/vda)
dd if=/dev/zero of=/dev/vda bs=4096 count=1 oflag=direct status=none
echo "@@lower"
dmsetup create lower --table "0 8 integrity /dev/vda 0 $TAG D 0" && dmsetup remove lower
integritysetup dump /dev/vda
pds=$(integritysetup dump /dev/vda | awk '/provided_data_sectors|data size/ {print $NF; exit}' | tr -d '()[]')
pds=$(integritysetup dump /dev/vda | sed -n 's/^provided_data_sectors //p; s/^data size: \([0-9]*\) .*/\1/p')
echo "pds=$pds"
dmsetup create lower --table "0 $pds integrity /dev/vda 0 $TAG D 0" || exit 1
cat /sys/block/$(basename $(readlink -f /dev/mapper/lower))/integrity/tag_size 2>/dev/null
cat /sys/block/$(basename $(readlink -f /dev/mapper/lower))/integrity/format 2>/dev/null
echo "@@format_inline"
integritysetup format --batch-mode --integrity-inline --tag-size $TAG /dev/mapper/lower; echo "rc=$?"
echo "@@dump_inline"
integritysetup dump /dev/mapper/lower
echo "@@open_inline"
integritysetup open --integrity-inline /dev/mapper/lower inl 2>&1 || integritysetup open /dev/mapper/lower inl; echo "rc=$?"
dmsetup table inl; dmsetup status inl
integritysetup status inl
sz=$(blockdev --getsz /dev/mapper/inl)
echo "size $sz"
yes inline-data | head -c 1048576 | dd of=/dev/mapper/inl bs=4096 oflag=direct status=none; echo "write_rc=$?"
dd if=/dev/mapper/inl bs=4096 count=256 iflag=direct status=none | sha256sum
integritysetup close inl
dmsetup remove lower
echo "@@end"
