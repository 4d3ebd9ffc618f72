// Views as addresses: hash routes, so that a reload, Back/Forward and a pasted link land on the same view (the
// token stays in the query string, which the hash never touches). Pure.
/** the volume page's panels that an address can name (#/volume/ID/PANEL; each panel's heading has id PANEL-h) */
export const PANELS = ['status', 'superblock', 'recalc', 'scrub', 'errors', 'journal', 'commands'] as const;
export type PanelId = (typeof PANELS)[number];

export type Route =
  | { page: 'list' }
  | { page: 'create' }
  | { page: 'create-luks' }
  | { page: 'add' }
  | { page: 'volume'; id: string; panel?: PanelId }
  | { page: 'edit'; id: string }
  | { page: 'unlock'; id: string }
  | { page: 'resize'; id: string }
  /** the kernel's own active dm-integrity devices, and one of them by its dm name */
  | { page: 'live' }
  | { page: 'live-device'; name: string };

export function parseHash(hash: string): Route {
  const parts = hash
    .replace(/^#\/?/, '')
    .split('/')
    .filter(Boolean)
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
  const [a, id, b] = parts;
  if (a === 'create' && parts.length === 1) return { page: 'create' };
  if (a === 'create' && id === 'luks' && parts.length === 2) return { page: 'create-luks' };
  if (a === 'add' && parts.length === 1) return { page: 'add' };
  if (a === 'live' && parts.length === 1) return { page: 'live' };
  if (a === 'live' && id && parts.length === 2) return { page: 'live-device', name: id };
  if (a === 'volume' && id) {
    if (b === 'edit' && parts.length === 3) return { page: 'edit', id };
    if (b === 'unlock' && parts.length === 3) return { page: 'unlock', id };
    if (b === 'resize' && parts.length === 3) return { page: 'resize', id };
    if (b && (PANELS as readonly string[]).includes(b) && parts.length === 3) return { page: 'volume', id, panel: b as PanelId };
    if (parts.length === 2) return { page: 'volume', id };
  }
  return { page: 'list' };
}

export function routeHash(r: Route): string {
  switch (r.page) {
    case 'list':
      return '#/';
    case 'create':
      return '#/create';
    case 'create-luks':
      return '#/create/luks';
    case 'add':
      return '#/add';
    case 'volume':
      return `#/volume/${encodeURIComponent(r.id)}${r.panel ? `/${r.panel}` : ''}`;
    case 'edit':
      return `#/volume/${encodeURIComponent(r.id)}/edit`;
    case 'unlock':
      return `#/volume/${encodeURIComponent(r.id)}/unlock`;
    case 'resize':
      return `#/volume/${encodeURIComponent(r.id)}/resize`;
    case 'live':
      return '#/live';
    case 'live-device':
      return `#/live/${encodeURIComponent(r.name)}`;
  }
}

export function sameRoute(a: Route, b: Route): boolean {
  return routeHash(a) === routeHash(b);
}
