# Guest script (ORACLE_RELEASE=sid): can a scsi_debug disk with T10 protection information carry an inline-mode
# (superblock v6) volume, the way a real disk formatted with metadata would? The guest's initramfs has no SCSI
# modules: copy them from the release's kernel package (decompressed) with --file, e.g.
#   M=/var/cache/integrity-oracle-sid/kernel/usr/lib/modules/*/kernel/drivers/scsi
#   for k in scsi_common scsi_mod sd_mod scsi_debug; do xz -dc $M/$k.ko.xz > /tmp/$k.ko; done
#   ORACLE_RELEASE=sid ../shared/oracle/run --file /tmp/scsi_common.ko --file /tmp/scsi_mod.ko \
#     --file /tmp/sd_mod.ko --file /tmp/scsi_debug.ko inline-scsi-debug-probe.sh
# Seen on 7.2.13 + integritysetup 2.8.8: the disks get T10-DIF-TYPE1-CRC / TYPE3-CRC profiles; integritysetup
# refuses them ("does not provide inline integrity data fields") and so does the kernel's table
# ("integrity: Integrity profile not supported": inline mode takes only a profile without checksum).
set -u
cd /oracle
for k in scsi_common scsi_mod sd_mod; do insmod ./$k.ko || echo "insmod $k failed"; done
for opts in "dif=1 dix=1" "dif=0 dix=1" "dif=3 dix=1"; do
  echo "@@scsi_debug $opts"
  insmod ./scsi_debug.ko dev_size_mb=16 $opts || { echo "insmod scsi_debug failed"; continue; }
  sleep 2
  d=$(ls /sys/bus/pseudo/drivers/scsi_debug/adapter0/host*/target*/*/block/ 2>/dev/null | head -1)
  echo "disk=$d"
  [ -n "$d" ] || { rmmod scsi_debug; continue; }
  [ -b /dev/$d ] || mknod /dev/$d b $(cat /sys/block/$d/dev | tr ':' ' ')
  for f in format tag_size protection_interval_bytes; do echo "integrity/$f: $(cat /sys/block/$d/integrity/$f 2>/dev/null)"; done
  integritysetup format --batch-mode --integrity-inline --tag-size 4 /dev/$d; echo "format rc=$?"
  integritysetup open /dev/$d inl; echo "open rc=$?"
  dmesg | grep -i "integrity" | tail -3
  [ -b /dev/mapper/inl ] && { dmsetup table inl; integritysetup close inl; }
  rmmod scsi_debug
done
insmod ./scsi_debug.ko dev_size_mb=16 dif=3 dix=1; sleep 2
d=$(ls /sys/bus/pseudo/drivers/scsi_debug/adapter0/host*/target*/*/block/ | head -1)
[ -b /dev/$d ] || mknod /dev/$d b $(cat /sys/block/$d/dev | tr ':' ' ')
n=$(blockdev --getsz /dev/$d)
dd if=/dev/zero of=/dev/$d bs=4096 count=1 oflag=direct 2>/dev/null
echo "@@dmsetup inline table on the T10 disk"
dmsetup create x --table "0 $((n-8)) integrity /dev/$d 0 4 I 1 internal_hash:crc32c"; echo "dmsetup rc=$?"
dmesg | grep -i "integrity:" | tail -2
echo "@@end"
