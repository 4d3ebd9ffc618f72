#!/bin/sh
# Captures what dmsetup and the kernel print for every kind of live integrity device, in the oracle guest, as the
# fixtures of engine/live/*.test.ts (one file per release: testing/data/live/<release>.txt). Run from the project root:
#   for r in bookworm backports sid; do d=$(mktemp -d); for i in 1 2 3 4 5 6 7 8 9 10 11; do truncate -s 32M $d/$i.img; done
#     ORACLE_RELEASE=$r ../shared/oracle/run $(for i in 1 2 3 4 5 6 7 8 9 10 11; do echo --disk $d/$i.img; done) \
#       engine/live/capture.sh > testing/data/live/$r.txt; rm -r $d; done
# The keys are test patterns (0011…), never used for anything else: the tests check they are redacted.
sec() { echo "### $1"; }
K1=/tmp/k1; K2=/tmp/k2; K3=/tmp/k3
printf '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff' | xxd -r -p > $K1
printf 'ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100' | xxd -r -p > $K2
printf '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef' | xxd -r -p > $K3
q() { "$@" >/dev/null 2>&1 || echo "FAILED: $*" >&2; }
sec uname; uname -r
sec integritysetup; integritysetup --version
sec targets; dmsetup targets
q integritysetup format -q /dev/vda; q integritysetup open /dev/vda ja
q integritysetup format -q --no-wipe /dev/vdb; q integritysetup open -B --bitmap-sectors-per-bit 8192 --bitmap-flush-time 5000 /dev/vdb bb
q integritysetup format -q --no-wipe --integrity hmac-sha256 --integrity-key-file $K1 --integrity-key-size 32 --journal-integrity hmac-sha256 --journal-integrity-key-file $K2 --journal-integrity-key-size 32 /dev/vdc
q integritysetup open --integrity hmac-sha256 --integrity-key-file $K1 --integrity-key-size 32 --journal-integrity hmac-sha256 --journal-integrity-key-file $K2 --journal-integrity-key-size 32 --allow-discards /dev/vdc hm
q integritysetup format -q --no-wipe --journal-integrity hmac-sha256 --journal-integrity-key-file $K2 --journal-integrity-key-size 32 --journal-crypt ctr-aes --journal-crypt-key-file $K3 --journal-crypt-key-size 32 /dev/vdd
q integritysetup open --journal-integrity hmac-sha256 --journal-integrity-key-file $K2 --journal-integrity-key-size 32 --journal-crypt ctr-aes --journal-crypt-key-file $K3 --journal-crypt-key-size 32 /dev/vdd jc
q integritysetup format -q --no-wipe --sector-size 4096 /dev/vde; q integritysetup open -D /dev/vde dd
q integritysetup format -q --no-wipe /dev/vdf; q integritysetup open -R /dev/vdf rr
q integritysetup format -q --no-wipe --data-device /dev/vdh /dev/vdg; q integritysetup open --data-device /dev/vdh /dev/vdg md
q integritysetup format -q --no-wipe /dev/vdi; q integritysetup open --integrity-recalculate /dev/vdi rc
q integritysetup format -q --no-wipe --integrity hmac-sha256 --integrity-key-file $K1 --integrity-key-size 32 /dev/vdj
q integritysetup open --integrity hmac-sha256 --integrity-key-file $K1 --integrity-key-size 32 --integrity-legacy-recalculate --integrity-recalculate /dev/vdj lg
# the restart table as a control loads it (keys never in an argument: the table travels on stdin)
T=$(dmsetup table rc); N=$(echo "$T" | cut -d' ' -f8)
echo "$T" | sed -E "s/^(([^ ]+ ){6}J) $N /\\1 $((N+1)) reset_recalculate /" | dmsetup reload rc && dmsetup resume rc
echo -n pass | cryptsetup luksFormat -q --type luks2 --integrity hmac-sha256 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 /dev/vdk - >/dev/null 2>&1 || echo "FAILED: luksFormat" >&2
echo -n pass | cryptsetup open /dev/vdk lk - || echo "FAILED: cryptsetup open" >&2
q mkfs.ext4 -q /dev/mapper/ja; mkdir -p /mnt/ja "/mnt/l k"; q mount /dev/mapper/ja /mnt/ja
q mkfs.ext4 -q /dev/mapper/lk; q mount -o ro /dev/mapper/lk "/mnt/l k"
sec table; dmsetup table
sec table-showkeys; dmsetup table --showkeys
sec table-integrity; dmsetup table --target integrity
sec table-crypt; dmsetup table --target crypt
sec status; dmsetup status
sec status-integrity; dmsetup status --target integrity
sec info; dmsetup info -c --noheadings --separator '|' -o name,major,minor,attr,open,segments,events,uuid
q dmsetup suspend bb
sec info-suspended; dmsetup info -c --noheadings --separator '|' -o name,major,minor,attr,open,segments,events,uuid bb
q dmsetup resume bb
sec mountinfo; cat /proc/self/mountinfo
sec sysfs; for d in /sys/class/block/dm-*; do n=${d##*/}; echo "$n dev=$(cat $d/dev) name=$(cat $d/dm/name) holders=$(ls $d/holders | tr '\n' ,) slaves=$(ls $d/slaves | tr '\n' ,) size=$(cat $d/size) link=$(readlink /sys/dev/block/$(cat $d/dev))"; done
umount /mnt/ja "/mnt/l k"
cryptsetup close lk
for n in ja bb hm jc dd rr md rc lg; do integritysetup close $n; done
sec end
