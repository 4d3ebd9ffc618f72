// Dashboard entry: picks the bridge and mounts the app.
import { createRoot } from 'react-dom/client';
import { App } from './App.js';
import { createDashboardStore } from './store.js';
import { pickBridge } from './bridge.js';
import './style.css';

const store = createDashboardStore();
const api = pickBridge((up) => store.getState().setConnected(up));
createRoot(document.getElementById('root')!).render(<App store={store} api={api} />);
