// The text `cryptsetup luksDump` prints for a LUKS2 header (lib/luks2/luks2_json_metadata.c LUKS2_hdr_dump),
// from the metadata alone: no volume key is ever involved.
import type { Luks2Info } from './types.js';

function hex(b64: string): string {
  const b = Buffer.from(b64, 'base64');
  let out = '';
  for (const [i, byte] of b.entries()) {
    if (i && i % 16 === 0) out += '\n\t            ';
    out += byte.toString(16).padStart(2, '0') + ' ';
  }
  return out;
}

const PRIORITY = ['ignored', 'normal', 'preferred'];

export function luksDumpText(info: Luks2Info): string {
  const L: string[] = [];
  L.push('LUKS header information');
  L.push(`Version:       \t2`);
  L.push(`Epoch:         \t${info.seqid}`);
  L.push(`Metadata area: \t${info.hdrSize} [bytes]`);
  L.push(`Keyslots area: \t${info.config.keyslotsSize} [bytes]`);
  L.push(`UUID:          \t${info.uuid}`);
  L.push(`Label:         \t${info.label || '(no label)'}`);
  L.push(`Subsystem:     \t${info.subsystem || '(no subsystem)'}`);
  L.push(`Flags:       \t${info.config.flags.length ? info.config.flags.join(' ') + ' ' : '(no flags)'}`);
  if (info.config.requirements.length) L.push(`Requirements:\t${info.config.requirements.join(' ')} `);
  L.push('');
  L.push('Data segments:');
  for (const s of info.segments) {
    L.push(`  ${s.id}: ${s.type}`);
    L.push(`\toffset: ${s.offset} [bytes]`);
    L.push(`\tlength: ${s.size === 'dynamic' ? '(whole device)' : `${s.size} [bytes]`}`);
    if (s.type === 'crypt') {
      L.push(`\tcipher: ${s.encryption}`);
      L.push(`\tsector: ${s.sectorSize} [bytes]`);
      if (s.integrity) L.push(`\tintegrity: ${s.integrity.type}`);
    }
    if (s.flags.length) L.push(`\tflags : ${s.flags.join(' ')} `);
    L.push('');
  }
  L.push('Keyslots:');
  for (const k of info.keyslots) {
    L.push(`  ${k.id}: ${k.type}`);
    L.push(`\tKey:        ${k.keySize * 8} bits`);
    L.push(`\tPriority:   ${PRIORITY[k.priority ?? 1]}`);
    if (k.type === 'luks2') {
      L.push(`\tCipher:     ${k.area.encryption}`);
      L.push(`\tCipher key: ${k.area.keySize * 8} bits`);
      L.push(`\tPBKDF:      ${k.kdf.type}`);
      if (k.kdf.type === 'pbkdf2') {
        L.push(`\tHash:       ${k.kdf.hash}`);
        L.push(`\tIterations: ${k.kdf.iterations}`);
      } else {
        L.push(`\tTime cost:  ${k.kdf.time}`);
        L.push(`\tMemory:     ${k.kdf.memory}`);
        L.push(`\tThreads:    ${k.kdf.cpus}`);
      }
      L.push(`\tSalt:       ${hex(k.kdf.salt)}`);
      L.push(`\tAF stripes: ${k.af.stripes}`);
      L.push(`\tAF hash:    ${k.af.hash}`);
    }
    L.push(`\tArea offset:${k.area.offset} [bytes]`);
    L.push(`\tArea length:${k.area.size} [bytes]`);
    for (const d of k.digests) L.push(`\tDigest ID:  ${d}`);
  }
  L.push('Tokens:');
  for (const t of info.tokens) {
    L.push(`  ${t.id}: ${t.type}`);
    for (const k of t.keyslots) L.push(`\tKeyslot:    ${k}`);
  }
  L.push('Digests:');
  for (const d of info.digests) {
    L.push(`  ${d.id}: ${d.type}`);
    L.push(`\tHash:       ${d.hash}`);
    L.push(`\tIterations: ${d.iterations}`);
    L.push(`\tSalt:       ${hex(d.salt)}`);
    L.push(`\tDigest:     ${hex(d.digest)}`);
  }
  return L.join('\n') + '\n';
}
