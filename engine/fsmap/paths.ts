// inode → every path naming it, as debugfs ncheck does (misc/../debugfs/ncheck.c): one pass over every directory's
// entries for the inodes asked about, then each parent directory's own path by '..' and a look-up of its name in
// its parent (ext2fs_get_pathname). Memory: the entries found and one path per parent directory, no more; a loop
// in the directory tree ends the walk with a reason.
import type { PathInfo } from './collect.js';

export interface DirWalker {
  /** the root directory's inode */
  readonly root: number;
  /** f(dir, name, child) for every entry but '.' and '..' of every directory; returns how many directories it read,
   *  and notes of the ones it could not */
  forEachEntry(f: (dir: number, name: string, child: number) => void): { directories: number; failed: string[] };
  /** the parent of directory `dir` (its '..'); throws MapError when it cannot be read */
  parentOf(dir: number): number;
  /** the names in directory `dir` of `child` */
  namesIn(dir: number, child: number): string[];
}

/** how deep a path may be before the walk calls it a loop (PATH_MAX / 2: each level takes a name and a '/') */
const MAX_DEPTH = 2048;

export function resolvePaths(w: DirWalker, targets: Set<number>, maxPaths: number): { names: Map<number, PathInfo>; directories: number } {
  const names = new Map<number, PathInfo>();
  if (!targets.size) return { names, directories: 0 };
  const found = new Map<number, { dir: number; name: string }[]>();
  const totals = new Map<number, number>();
  const { directories, failed } = w.forEachEntry((dir, name, child) => {
    if (!targets.has(child)) return;
    totals.set(child, (totals.get(child) ?? 0) + 1);
    let l = found.get(child);
    if (!l) found.set(child, (l = []));
    if (l.length < maxPaths) l.push({ dir, name });
  });
  const dirPaths = new Map<number, string | Error>();
  const dirPath = (dir: number): string | Error => {
    const known = dirPaths.get(dir);
    if (known !== undefined) return known;
    const chain: string[] = [];
    const seen = new Set<number>();
    let cur = dir;
    let result: string | Error;
    try {
      for (;;) {
        if (cur === w.root) {
          result = '/' + chain.reverse().join('/');
          break;
        }
        const cached = dirPaths.get(cur);
        if (cached !== undefined) {
          if (cached instanceof Error) throw cached;
          result = (cached === '/' ? '' : cached) + (chain.length ? '/' + chain.reverse().join('/') : '');
          if (!result) result = '/';
          break;
        }
        if (seen.has(cur) || seen.size > MAX_DEPTH) throw new Error(`a loop in the directory tree (directory inode ${cur} is its own ancestor)`);
        seen.add(cur);
        const parent = w.parentOf(cur);
        const n = w.namesIn(parent, cur);
        const [name] = n;
        if (name === undefined) throw new Error(`directory inode ${cur} is not named in its parent (inode ${parent})`);
        chain.push(name);
        cur = parent;
      }
    } catch (e) {
      result = e instanceof Error ? e : new Error(String(e));
    }
    dirPaths.set(dir, result);
    return result;
  };
  for (const t of targets) {
    if (t === w.root) {
      names.set(t, { paths: ['/'], paths_total: 1 });
      continue;
    }
    const l = found.get(t) ?? [];
    const paths: string[] = [];
    let error: string | undefined;
    for (const { dir, name } of l) {
      const p = dirPath(dir);
      if (p instanceof Error) error ??= p.message;
      else paths.push((p === '/' ? '' : p) + '/' + name);
    }
    const info: PathInfo = { paths, paths_total: totals.get(t) ?? 0 };
    if (!paths.length) {
      info.path_error =
        error ??
        (failed.length
          ? `no directory entry names it among those that could be read (${failed.slice(0, 3).join('; ')})`
          : 'no directory entry names it (an orphan inode, or an unlinked file still open)');
    } else if (error) info.path_error = error;
    names.set(t, info);
  }
  return { names, directories };
}
