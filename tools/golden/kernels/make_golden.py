#!/usr/bin/env python3
"""Regenerate the golden dm-integrity images with the oracle.

    python3 oracle/scripts/make_golden.py [--out DIR] [VARIANT ...]

(from the shared/ folder; default DIR is golden/ beside oracle/).  Each
variant boots the oracle guest (oracle/run) one or more times; the real
kernel formats and writes every image.  The manifest (DIR/manifest.json) is
updated entry by entry, so variants can be regenerated one at a time.
Needs root (qemu disks) and python3; nothing outside the standard library.
"""
import argparse
import datetime
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
# the shared oracle (../shared/oracle beside the project, or $INTEGRITY_SHARED/oracle)
SHARED = os.environ.get("INTEGRITY_SHARED") or os.path.join(HERE, "..", "..", "..", "..", "shared")  # project/../shared
ORACLE = os.path.join(SHARED, "oracle")
RUN = os.path.join(ORACLE, "run")
sys.path.insert(0, os.path.join(ORACLE, "scripts"))
import igtool  # noqa: E402
RELEASE = os.environ.get("ORACLE_RELEASE", "bookworm")
CACHES = {"bookworm": "/var/cache/integrity-oracle", "backports": "/var/cache/integrity-oracle-backports",
          "sid": "/var/cache/integrity-oracle-sid"}

MiB = 1 << 20
SECTOR = 512
KEY_HMAC = bytes(range(0x00, 0x20))          # internal hash key (d)
KEY_JMAC = bytes(range(0x40, 0x60))          # journal MAC key (h)
KEY_JCRYPT = bytes(range(0x80, 0xa0))        # journal encryption key (h)


def log(*a):
    print("[make_golden]", *a, file=sys.stderr, flush=True)


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def parse_sections(text):
    secs, cur = {}, None
    for line in text.splitlines():
        if line.startswith("@@"):
            cur = line[2:].strip()
            secs[cur] = []
        elif cur is not None:
            secs[cur].append(line)
    return {k: "\n".join(v).strip("\n") for k, v in secs.items()}


def guest(script, disks, env=None, files=(), ok=(0,), timeout=900):
    cmd = [RUN, "--timeout", str(timeout)]
    for d in disks:
        cmd += ["--disk", d]
    for k, v in (env or {}).items():
        cmd += ["--env", "%s=%s" % (k, v)]
    for f in files:
        cmd += ["--file", f]
    cmd.append(os.path.join(HERE, script))
    log("guest:", script, " ".join("%s=%s" % kv for kv in (env or {}).items()))
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode not in ok:
        sys.stderr.write(p.stdout + p.stderr)
        raise SystemExit("guest script %s exited %d" % (script, p.returncode))
    secs = parse_sections(p.stdout)
    if "guest_version" in secs and CTX is not None:
        CTX.tools = secs["guest_version"].splitlines()[0].strip()
    return p.returncode, secs, p.stdout


CTX = None


def host_dump(image):
    p = subprocess.run(["integritysetup", "dump", image], capture_output=True, text=True)
    # first line names the (temporary) host path: keep the rest
    lines = p.stdout.splitlines()
    if lines and lines[0].startswith("Info for integrity device"):
        lines[0] = "Info for integrity device %s." % os.path.basename(image)
    return "\n".join(lines)


def compress(src, dst):
    with open(src, "rb") as f, open(dst, "wb") as raw:
        # mtime=0 and no file name: reproducible .gz bytes
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as g:
            shutil.copyfileobj(f, g, 1 << 20)
    return os.path.getsize(dst)


def writes_list(text):
    return [{"start_sector": a, "sectors": b} for a, b in igtool.parse_writes(text)]


def changed_ranges(a, b, unit=4096):
    """4 KiB-granular byte ranges where files a and b differ."""
    out = []
    with open(a, "rb") as fa, open(b, "rb") as fb:
        off = 0
        while True:
            x, y = fa.read(unit), fb.read(unit)
            if not x and not y:
                break
            if x != y:
                if out and out[-1][1] == off:
                    out[-1][1] = off + unit
                else:
                    out.append([off, off + unit])
            off += unit
    return out


class Ctx:
    def __init__(self, out, tmp):
        self.out = out
        self.tmp = tmp
        cfg = {}
        with open(os.path.join(os.environ.get("ORACLE_CACHE", CACHES[RELEASE]), "config")) as f:
            for line in f:
                if "=" in line:
                    k, v = line.strip().split("=", 1)
                    cfg[k] = v.strip("'")
        deb = "?"
        try:
            with open(os.path.join(os.path.dirname(cfg["KERNEL"]), "..", ".unpacked")) as f:
                deb = f.read().strip()
        except (KeyError, OSError):
            pass
        self.kernel = "%s (Debian package %s)" % (cfg.get("KERNEL_VERSION", "?"), deb)
        # the guest's integritysetup (sid brings its own 2.8; the others use the host's), set from
        # the first guest report (section guest_version)
        self.tools = sh(["integritysetup", "--version"]).strip()
        self.release = RELEASE

    def path(self, name):
        return os.path.join(self.tmp, name)

    def keyfile(self, name, key):
        p = self.path(name)
        with open(p, "wb") as f:
            f.write(key)
        return p

    def finish(self, entry, images):
        """images: list of (role, raw path, fixture file name, guest device)"""
        files = []
        for role, raw, fname, dev in images:
            size = compress(raw, os.path.join(self.out, fname))
            files.append({"file": fname, "role": role, "guest_device": dev,
                          "raw_size": os.path.getsize(raw),
                          "raw_sha256": sha256_file(raw),
                          "compressed_size": size})
        entry = dict(entry)
        entry["files"] = files
        entry["kernel"] = self.kernel
        entry["userspace"] = self.tools
        entry["release"] = self.release
        entry["generated"] = datetime.date.today().isoformat()
        return entry


DEFAULT_WRITES = "0:2048 8192:128 -8:8"


def standard(ctx, name, tag, desc, size=16 * MiB, fmt="", opn="", writes=DEFAULT_WRITES,
             keys=None, files=(), alg="crc32c", hash_key=b"", data_size=None):
    """Format + write in one boot, reopen a copy in a second boot."""
    img = ctx.path(name + ".img")
    disks, env = [img], {}
    with open(img, "wb") as f:
        f.truncate(size)
    data_img = None
    if data_size:
        data_img = ctx.path(name + "-data.img")
        with open(data_img, "wb") as f:
            f.truncate(data_size)
        disks.append(data_img)
    src = ctx.path(name + "-src.img")
    igtool.write_pattern(tag, (data_size or size) // SECTOR, src)
    disks.append(src)
    srcdev = "/dev/vd" + "abc"[len(disks) - 1]
    env.update({"DEV": "/dev/vda", "SRC": srcdev, "FORMAT_ARGS": fmt, "OPEN_ARGS": opn,
                "WRITES": writes})
    _, s, _ = guest("golden-write.sh", disks, env, files)
    provided, lss = (int(x) for x in s["size"].split())
    resolved = s["writes"]
    exp_path = ctx.path(name + "-expected.bin")
    expected = igtool.write_pattern(tag, provided, exp_path, igtool.parse_writes(resolved))
    os.unlink(exp_path)
    os.unlink(src)
    if expected != s["readback_sha256"]:
        raise SystemExit("%s: read-back sha256 %s != expected %s" % (name, s["readback_sha256"], expected))

    # second boot on copies: does a fresh open see the same data?
    copies = []
    for d in [img] + ([data_img] if data_img else []):
        c = d + ".copy"
        shutil.copyfile(d, c)
        copies.append(c)
    _, v, _ = guest("golden-verify.sh", copies, {"DEV": "/dev/vda", "OPEN_ARGS": opn}, files)
    reopen = {"provided_data_sha256": v["readback_sha256"],
              "dmsetup_status_after_open": v["status_after_open"],
              "dmsetup_status_after_read": v["status_after_read"],
              "same_data": v["readback_sha256"] == expected,
              "bytes_changed_by_open_close": [
                  {"file": os.path.basename(d), "ranges": changed_ranges(d, c)}
                  for d, c in zip([img] + ([data_img] if data_img else []), copies)]}
    for c in copies:
        os.unlink(c)
    if not reopen["same_data"]:
        raise SystemExit("%s: data differs after reopen" % name)

    tags = igtool.verify_tags(img, alg, hash_key, data_img) if alg else None
    if tags and tags["mismatching_blocks"]:
        raise SystemExit("%s: host tag check found mismatches: %r" % (name, tags))
    sb = igtool.read_sb(img)
    entry = {
        "name": name, "description": desc,
        "format_command": " ".join(s["format_cmd"].split()),
        "open_command": " ".join(s["open_cmd"].split()),
        "keys_hex": keys or {},
        "dm_table": s["table"],
        "provided_data_sectors": provided, "logical_sector_size": lss,
        "data_rule": {"name": "pattern-v1", "tag": tag},
        "writes": writes_list(resolved),
        "unwritten_sectors_read_as": "zeros (format wiped the device)" if "--no-wipe" not in fmt else "whatever was on disk",
        "provided_data_sha256": s["readback_sha256"],
        "dmsetup_status_after_open": s["status_after_open"],
        "dmsetup_status_after_write": s["status_after_write"],
        "dmsetup_status_after_read": s["status_after_read"],
        "integritysetup_status": s["integritysetup_status"],
        "integritysetup_dump": host_dump(img),
        "integritysetup_dump_guest": v.get("guest_dump"),
        "integritysetup_status_guest": v.get("guest_status"),
        "superblock": sb,
        "geometry": igtool.geometry(sb, data_img is not None),
        "host_tag_check": tags,
        "reopen": reopen,
    }
    images = [("device" if not data_img else "metadata device", img, name + ".img.gz", "/dev/vda")]
    if data_img:
        images.append(("data device", data_img, name + "-data.img.gz", "/dev/vdb"))
    return ctx.finish(entry, images), img, data_img


def v_a(ctx):
    e, _, _ = standard(ctx, "a-default", "a",
                       "integritysetup defaults: crc32c, 4-byte tags, journal, 512-byte sectors. "
                       "32 MiB so that the provided data spans two interleave areas; one write "
                       "crosses the area boundary at provided sector 32768.",
                       size=32 * MiB, writes="0:2048 8192:128 32704:128 -8:8")
    return [e]


def v_b(ctx):
    e, _, _ = standard(ctx, "b-sector4096", "b", "--sector-size 4096 (one 4-byte crc32c tag per 4 KiB block)",
                       fmt="--sector-size 4096")
    return [e]


def v_c(ctx):
    e, _, _ = standard(ctx, "c-sha256", "c",
                       "--integrity sha256 (32-byte tags); 8 MiB. The algorithm is not stored on "
                       "disk: it must be given again at open (without it, integritysetup opens "
                       "with crc32c and every read fails)",
                       size=8 * MiB, fmt="--integrity sha256", opn="--integrity sha256", alg="sha256")
    return [e]


def v_d(ctx):
    k = ctx.keyfile("hmac.key", KEY_HMAC)
    args = "--integrity hmac-sha256 --integrity-key-file /oracle/hmac.key --integrity-key-size 32"
    e, _, _ = standard(ctx, "d-hmac-sha256", "d",
                       "--integrity hmac-sha256 with a 32-byte key (32-byte tags). The key is not "
                       "stored on disk; it is given again at open. 8 MiB",
                       size=8 * MiB, fmt=args, opn=args, keys={"integrity_key": KEY_HMAC.hex()}, files=[k],
                       alg="hmac-sha256", hash_key=KEY_HMAC)
    return [e]


def v_e(ctx):
    e, _, _ = standard(ctx, "e-bitmap", "e",
                       "bitmap mode: formatted with defaults, opened (and written) with "
                       "--integrity-bitmap-mode; closed cleanly",
                       opn="--integrity-bitmap-mode")
    return [e]


def v_f(ctx):
    e, _, _ = standard(ctx, "f-separate-metadata", "f",
                       "separate metadata device: superblock, journal and tags on the 4 MiB "
                       "metadata image (/dev/vda), data on the 16 MiB data image (/dev/vdb) "
                       "at the same offsets as the provided data",
                       size=4 * MiB, data_size=16 * MiB,
                       fmt="--data-device /dev/vdb", opn="--data-device /dev/vdb")
    return [e]


def v_g(ctx):
    e, _, _ = standard(ctx, "g-direct", "g",
                       "direct mode (no journal): formatted with defaults, opened and written with "
                       "--integrity-no-journal",
                       opn="--integrity-no-journal")
    return [e]


def v_h(ctx):
    k1 = ctx.keyfile("jmac.key", KEY_JMAC)
    k2 = ctx.keyfile("jcrypt.key", KEY_JCRYPT)
    args = ("--journal-integrity hmac-sha256 --journal-integrity-key-file /oracle/jmac.key "
            "--journal-integrity-key-size 32 --journal-crypt ctr-aes "
            "--journal-crypt-key-file /oracle/jcrypt.key --journal-crypt-key-size 32")
    e, _, _ = standard(ctx, "h-journal-mac-crypt", "h",
                       "crc32c data tags; journal protected by hmac-sha256 (journal_mac) and "
                       "encrypted with ctr(aes) (journal_crypt), 32-byte keys. The superblock "
                       "carries an HMAC (flags have_journal_mac + fix_hmac).",
                       fmt=args, opn=args, files=[k1, k2],
                       keys={"journal_integrity_key": KEY_JMAC.hex(),
                             "journal_crypt_key": KEY_JCRYPT.hex()})
    return [e]


def v_i(ctx):
    name = "i-corrupted"
    e, img, _ = standard(ctx, name, "i",
                         "defaults (like a, 16 MiB), then bytes flipped on the host (not through "
                         "dm) in some data sectors and one tag; see corruption and read_scan")
    sb = igtool.read_sb(img)
    g = igtool.geometry(sb)
    p = sb["provided_data_sectors"]
    plan = [  # (kind, sector, byte within the sector or tag, xor mask)
        ("data", 10, 100, 0x01),
        ("data", 2047, 0, 0xff),
        ("data", 4000, 511, 0x80),
        ("data", 4001, 511, 0x80),
        ("data", 20000, 7, 0x01),     # never written: zeros from the format wipe
        ("data", p - 1, 256, 0x55),   # last provided sector
        ("tag", 3000, 0, 0x01),       # data intact, its crc32c tag damaged
    ]
    corr = []
    with open(img, "r+b") as f:
        for kind, s, byte, mask in plan:
            loc = igtool.locate(sb, g, s)
            off = (loc["data_byte"] if kind == "data" else loc["tag_byte"]) + byte
            f.seek(off)
            old = f.read(1)[0]
            f.seek(off)
            f.write(bytes([old ^ mask]))
            corr.append({"kind": kind, "sector": s, "byte_in_" + ("sector" if kind == "data" else "tag"): byte,
                         "image_byte_offset": off, "old": "%02x" % old, "new": "%02x" % (old ^ mask)})
    tags = igtool.verify_tags(img, "crc32c")
    expect_bad = sorted({c["sector"] for c in corr})
    if tags["first_mismatching_sectors"] != expect_bad:
        raise SystemExit("host tag check disagrees with the corruption plan: %r" % tags)
    copy = img + ".copy"
    shutil.copyfile(img, copy)
    _, s, _ = guest("golden-scan.sh", [copy], {"DEV": "/dev/vda"})
    os.unlink(copy)
    bad = [int(x) for x in s["bad_sectors"].split()]
    # pass 1 output: GNU dd zeroes its buffer before each read (noerror,sync),
    # but a failed O_DIRECT read still leaves in the buffer the data the
    # device returned, so the output is the raw on-disk data everywhere
    # (corrupted bytes included).  Check that on the host.
    failed_blocks = sorted({x // 8 for x in expect_bad})
    h = hashlib.sha256()
    with open(img, "rb") as f:
        for x in range(p):
            f.seek(igtool.locate(sb, g, x)["data_byte"])
            h.update(f.read(SECTOR))
    if p % 8:
        h.update(bytes((8 - p % 8) * SECTOR))
    e = dict(e)
    e["corruption"] = corr
    e["host_tag_check_after_corruption"] = tags
    e["read_scan"] = {
        "method": "golden-scan.sh on a copy: pass 1 = one dd over the whole device, bs=4096 "
                  "iflag=direct conv=noerror,sync; pass 2 = 64 KiB reads, then 4 KiB reads inside "
                  "failing 64 KiB chunks, then 512-byte reads inside failing 4 KiB blocks",
        "eio_sectors": bad,
        "eio_sectors_match_corruption": bad == expect_bad,
        "pass1_dd_exit": int(s["pass1_exit"]),
        "pass1_dd_stderr": s["pass1_stderr"],
        "pass1_output_sha256": s["pass1_sha256"],
        "pass1_output_sha256_raw_on_disk_view": h.hexdigest(),
        "pass1_output_note": "failed O_DIRECT reads return an error but leave the unverified "
                             "on-disk data in the buffer, so pass 1's output equals the raw data "
                             "at the data locations (corruption included), not zeros; do not "
                             "treat that as behaviour to copy",
        "pass1_failed_4k_blocks": failed_blocks,
        "dmsetup_status_after_open": s["status_after_open"],
        "dmsetup_status_after_pass1": s["status_after_pass1"],
        "pass2_failed_reads": s["pass2_failed_reads"],
        "dmsetup_status_after_pass2": s["status_after_pass2"],
        "kernel_messages_counted": s["kernel_messages"].splitlines(),
        "errno_note": "failed O_DIRECT reads return EILSEQ (84, 'Invalid or incomplete multibyte "
                      "or wide character'); buffered (page cache) reads of the same data return EIO",
    }
    # the fixture is the corrupted image: re-compress it over the clean one
    e["files"][0]["raw_sha256"] = sha256_file(img)
    e["files"][0]["compressed_size"] = compress(img, os.path.join(ctx.out, e["files"][0]["file"]))
    e["integritysetup_dump"] = host_dump(img)
    e["host_tag_check_before_corruption"] = e.pop("host_tag_check")
    return [e]


def v_j(ctx):
    name = "j-journal-unreplayed"
    tag = "j"
    size = 16 * MiB
    img = ctx.path(name + ".img")
    with open(img, "wb") as f:
        f.truncate(size)
    src = ctx.path(name + "-src.img")
    igtool.write_pattern(tag, size // SECTOR, src)
    tag2 = "J"      # the lost writes carry different data
    src2 = ctx.path(name + "-src2.img")
    igtool.write_pattern(tag2, size // SECTOR, src2)
    committed = "0:256 4096:64"
    uncommitted = "512:64 4096:8"
    fmt = "--journal-size 4194304"
    opn = "--journal-commit-time 60000"
    rc, s, _ = guest("golden-crash.sh", [img, src, src2],
                     {"DEV": "/dev/vda", "SRC": "/dev/vdb", "SRC2": "/dev/vdc", "FORMAT_ARGS": fmt,
                      "OPEN_ARGS": opn, "COMMITTED": committed, "UNCOMMITTED": uncommitted}, ok=(125,))
    os.unlink(src)
    os.unlink(src2)
    if "crashing" not in s or "still-alive" in s:
        raise SystemExit("crash did not happen as planned: %r" % s)
    provided, lss = (int(x) for x in s["size"].split())
    sb = igtool.read_sb(img)
    g = igtool.geometry(sb)
    jr = igtool.journal_usage(img)
    in_journal = sorted(x["sector"] for x in jr["entries"])
    # what sits at the final place of the committed sectors right now
    final = {}
    with open(img, "rb") as f:
        for s_ in (0, 255, 4096, 4159):
            f.seek(igtool.locate(sb, g, s_)["data_byte"])
            d = f.read(SECTOR)
            final[str(s_)] = ("zeros" if d == bytes(SECTOR) else
                              "pattern" if d == igtool.sector_bytes(tag, s_) else "other")
    tags = igtool.verify_tags(img, "crc32c")
    exp_c = ctx.path("exp")
    expected_committed = igtool.write_pattern(tag, provided, exp_c, igtool.parse_writes(committed))
    # expected if the unflushed writes had survived: committed data, then the
    # tag "J" pattern over the uncommitted ranges
    igtool.write_pattern(tag, provided, exp_c, igtool.parse_writes(committed))
    with open(exp_c, "r+b") as f:
        for a, c in igtool.parse_writes(uncommitted):
            for x in range(a, a + c):
                f.seek(x * SECTOR)
                f.write(igtool.sector_bytes(tag2, x))
    expected_all = sha256_file(exp_c)
    os.unlink(exp_c)
    copy = img + ".copy"
    shutil.copyfile(img, copy)
    _, v, _ = guest("golden-verify.sh", [copy], {"DEV": "/dev/vda", "OPEN_ARGS": opn})
    replayed_final = {}
    with open(copy, "rb") as f:
        for s_ in (0, 255, 4096, 4159):
            f.seek(igtool.locate(sb, g, s_)["data_byte"])
            d = f.read(SECTOR)
            replayed_final[str(s_)] = ("zeros" if d == bytes(SECTOR) else
                                       "pattern" if d == igtool.sector_bytes(tag, s_) else "other")
    changed = changed_ranges(img, copy)
    tags_after = igtool.verify_tags(copy, "crc32c")
    os.unlink(copy)
    entry = {
        "name": name,
        "description": "journal mode with a 4 MiB journal; some writes committed to the journal "
                       "(O_DIRECT + fsync) and then the guest crashed (sysrq b) before the kernel "
                       "copied the journal to the data/tag areas. More O_DIRECT writes without a "
                       "flush (pattern tag J, over sectors 512-575 and 4096-4103) were made just before "
                       "the crash; they never reached the disk. "
                       "Replaying this journal is required to see the committed data.",
        "format_command": " ".join(s["format_cmd"].split()),
        "open_command": " ".join(s["open_cmd"].split()),
        "dm_table": s["table"],
        "provided_data_sectors": provided, "logical_sector_size": lss,
        "data_rule": {"name": "pattern-v1", "tag": tag},
        "writes_committed": writes_list(committed),
        "writes_uncommitted_lost": writes_list(uncommitted),
        "writes_uncommitted_data_rule": {"name": "pattern-v1", "tag": tag2},
        "dmsetup_status_after_committed": s["status_after_committed"],
        "dmsetup_status_after_uncommitted": s["status_after_uncommitted"],
        "integritysetup_dump": host_dump(img),
        "superblock": sb, "geometry": g,
        "journal_on_disk": {
            "entries_in_use": jr["entries_in_use"],
            "distinct_sectors_in_use": len(set(in_journal)),
            "min_sector": min(in_journal) if in_journal else None,
            "max_sector": max(in_journal) if in_journal else None,
            "note": "entries whose sector_hi is not 0xffffffff (unused) / 0xfffffffe (in progress), "
                    "counted over all sections without checking commit ids",
        },
        "final_location_content_before_replay": final,
        "host_tag_check_before_replay": tags,
        "expected_sha256_committed_only": expected_committed,
        "expected_sha256_if_uncommitted_had_survived": expected_all,
        "integritysetup_dump_guest": v.get("guest_dump"),
        "after_replay": {
            "how": "a copy was opened in a fresh boot with the same open options (the kernel replays "
                   "the journal on activation) and read in full",
            "provided_data_sha256": v["readback_sha256"],
            "matches_committed_only": v["readback_sha256"] == expected_committed,
            "dmsetup_status_after_open": v["status_after_open"],
            "dmsetup_status_after_read": v["status_after_read"],
            "final_location_content": replayed_final,
            "bytes_changed_by_replay_and_close": changed,
            "host_tag_check": tags_after,
        },
    }
    return [ctx.finish(entry, [("device", img, name + ".img.gz", "/dev/vda")])]


def v_k(ctx):
    name = "k-recalc-midway"
    tag = "k"
    size = 16 * MiB
    img = ctx.path(name + ".img")
    igtool.write_pattern(tag, size // SECTOR, img)   # "existing data" on the raw disk
    fmt = "--interleave-sectors 2048"
    rc, s, _ = guest("golden-recalc.sh", [img],
                     {"DEV": "/dev/vda", "FORMAT_ARGS": fmt, "DELAY_MS": "200", "STOP_AT": "8192"})
    sb = igtool.read_sb(img)
    g = igtool.geometry(sb)
    p = sb["provided_data_sectors"]
    if not (sb["flags"] & 0x2 and 0 < sb["recalc_sector"] < p):
        raise SystemExit("recalc not caught mid-way: %r" % sb)
    tags = igtool.verify_tags(img, "crc32c", limit=4)
    # provided data = the raw bytes at each data location
    h = hashlib.sha256()
    with open(img, "rb") as f:
        for x in range(p):
            f.seek(igtool.locate(sb, g, x)["data_byte"])
            h.update(f.read(SECTOR))
    provided_sha = h.hexdigest()
    copy = img + ".copy"
    shutil.copyfile(img, copy)
    _, v, _ = guest("golden-recalc-finish.sh", [copy], {"DEV": "/dev/vda"})
    tags_after = igtool.verify_tags(copy, "crc32c", limit=4)
    sb_after = igtool.read_sb(copy)
    os.unlink(copy)
    entry = {
        "name": name,
        "description": "raw image pre-filled with pattern-v1 (tag k, indexed by RAW sector number), "
                       "then integritysetup format --no-wipe, opened with --integrity-recalculate on "
                       "top of a dm-delay device (200 ms read delay) and suspended+removed part way "
                       "through the recalculation. Superblock: flag recalculating, recalc_sector "
                       "between 0 and provided_data_sectors; tags below recalc_sector are valid, the "
                       "rest are leftovers of the old raw data. While recalculating, the kernel "
                       "does not check tags of reads that reach beyond recalc_sector.",
        "format_command": " ".join(s["format_cmd"].split()),
        "open_command": " ".join(s["open_cmd"].split()),
        "dm_table": s["table"],
        "dm_table_note": "the integrity target's device 253:0 is the dm-delay device "
                         "(linear view of /dev/vda with delayed reads): " + s["delay_table"],
        "recalculation_status_trace": s["status_trace"].splitlines(),
        "dmsetup_status_after_suspend": s["status_after_suspend"],
        "integritysetup_dump_after_format": s["dump_after_format"],
        "integritysetup_dump": host_dump(img),
        "superblock": sb, "geometry": g,
        "provided_data_sectors": p, "logical_sector_size": 512,
        "data_rule": {"name": "pattern-v1 over raw sectors", "tag": tag,
                      "note": "raw sector r of the image held pattern(k, r) before format; provided "
                              "sector s is read from its data location (see geometry), so its "
                              "content is pattern(k, r) for r = that location / 512"},
        "provided_data_sha256": provided_sha,
        "host_tag_check": tags,
        "host_tag_check_expected": "exactly the blocks at and above recalc_sector mismatch",
        "host_tag_check_as_expected": (tags["mismatching_blocks"] == p - sb["recalc_sector"] and
                                       tags["first_mismatching_sectors"][:1] == [sb["recalc_sector"]]),
        "integritysetup_dump_guest": v.get("guest_dump"),
        "after_finishing": {
            "how": "a copy opened in a fresh boot (plain open; the superblock flag makes the kernel "
                   "resume recalculating), waited until the position in dmsetup status reached "
                   "provided_data_sectors, read in full. Note: the kernel keeps the recalculating "
                   "flag (and the 'recalculate' table argument) after finishing",
            "provided_data_sha256": v["readback_sha256"],
            "same_data": v["readback_sha256"] == provided_sha,
            "dmsetup_status_after_open": v["status_after_open"],
            "dmsetup_status_after_recalc": v["status_after_recalc"],
            "dmsetup_status_after_read": v["status_after_read"],
            "superblock": sb_after,
            "host_tag_check": tags_after,
        },
    }
    return [ctx.finish(entry, [("device", img, name + ".img.gz", "/dev/vda")])]


VARIANTS = {"a": v_a, "b": v_b, "c": v_c, "d": v_d, "e": v_e, "f": v_f, "g": v_g,
            "h": v_h, "i": v_i, "j": v_j, "k": v_k}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("variants", nargs="*", help="letters a..k (default: all)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    man_path = os.path.join(a.out, "manifest.json")
    manifest = {"images": []}
    if os.path.exists(man_path):
        with open(man_path) as f:
            manifest = json.load(f)
    with tempfile.TemporaryDirectory(prefix="golden-") as tmp:
        global CTX
        ctx = CTX = Ctx(a.out, tmp)
        for v in a.variants or sorted(VARIANTS):
            log("variant", v)
            for entry in VARIANTS[v](ctx):
                manifest["images"] = [x for x in manifest["images"] if x["name"] != entry["name"]]
                manifest["images"].append(entry)
                manifest["images"].sort(key=lambda x: x["name"])
                manifest["format"] = "see README.md beside this file"
                with open(man_path + ".tmp", "w") as f:
                    json.dump(manifest, f, indent=1)
                    f.write("\n")
                os.replace(man_path + ".tmp", man_path)
                log("wrote", entry["name"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
