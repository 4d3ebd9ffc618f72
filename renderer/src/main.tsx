// Dashboard entry: picks the bridge and mounts the app.
import { createRoot } from 'react-dom/client';
import { App } from './App.js';
import { createDashboardStore, type Connection, type DashboardStore } from './store.js';
import { pickBridge } from './bridge.js';
import { parseHash } from './lib/routes.js';
import './style.css';

let store: DashboardStore | null = null;
let early: Connection | null = null;
// Electron's bridge reports "connected" at once, before the store exists
const api = pickBridge((c) => {
  if (store) store.getState().setConnection(c);
  else early = c;
});
store = createDashboardStore(api);
// the view the address names, before the first render (else the first render would push the list's address)
store.setState({ route: parseHash(location.hash) });
if (early) store.getState().setConnection(early);
createRoot(document.getElementById('root')!).render(<App store={store} api={api} />);
