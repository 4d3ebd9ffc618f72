// A link to a view of the dashboard: a real address (the hash route, so it opens in a new tab and survives a reload),
// followed in place by a click.
import type { ReactNode } from 'react';
import { routeHash, type Route } from './routes.js';

export function routeLink(onNavigate: (r: Route) => void) {
  return (r: Route, text: ReactNode, className?: string) => (
    <a
      className={className}
      href={routeHash(r)}
      onClick={(e) => {
        e.preventDefault();
        onNavigate(r);
      }}
    >
      {text}
    </a>
  );
}
