// vite bundles CSS imported by the entry
declare module '*.css';
