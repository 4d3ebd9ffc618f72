// Whether the kernel holds an image, from sysfs (readable without root): the answer where no listing of the kernel's
// devices has been made. A sysfs tree is laid out here as the kernel lays it out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { heldByKernel } from './attached.js';

test('an image attached to a loop device that dm holds is held (by its dm name); attached and unheld, or not attached, is not', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'is-held-'));
  try {
    const img = path.join(dir, 'vol.img');
    fs.writeFileSync(img, Buffer.alloc(4096));
    const other = path.join(dir, 'other.img');
    fs.writeFileSync(other, Buffer.alloc(4096));
    const sys = path.join(dir, 'sys');
    const put = (p: string, text: string) => {
      fs.mkdirSync(path.dirname(path.join(sys, p)), { recursive: true });
      fs.writeFileSync(path.join(sys, p), text);
    };
    put('block/loop7/loop/backing_file', `${fs.realpathSync(img)}\n`);
    put('block/loop8/loop/backing_file', `${fs.realpathSync(other)}\n`);
    fs.mkdirSync(path.join(sys, 'class/block/loop7/holders/dm-4'), { recursive: true });
    fs.mkdirSync(path.join(sys, 'class/block/loop8/holders'), { recursive: true });
    put('class/block/dm-4/dm/name', 'vault\n');
    assert.equal(heldByKernel([img], sys), '/dev/mapper/vault');
    assert.equal(heldByKernel([null, img], sys), '/dev/mapper/vault', 'a data device or the image: either');
    assert.equal(heldByKernel([other], sys), null, 'attached but nothing stacked on it');
    assert.equal(heldByKernel([path.join(dir, 'missing.img')], sys), null);
    // a holder without a dm name is named by its kernel name
    fs.rmSync(path.join(sys, 'class/block/dm-4/dm'), { recursive: true });
    assert.equal(heldByKernel([img], sys), '/dev/dm-4');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
