// The layers, checked on every `npm test` (npm run lint:structure): arrows point down, and nothing goes in circles.
//   engine/    the dm-integrity engine: imports nothing above it
//   host/      EngineHost and serve (plain Node): imports engine/
//   cli/       the command line: imports engine/ and host/ (serve)
//   electron/  the desktop shell (main, preload): imports host/ and engine/api.ts
//   renderer/  the dashboard: talks only through the contract, engine/api.ts
//   testing/, tools/  test helpers, golden generators, bench and torture: never imported by the product
/** @type {import('dependency-cruiser').IConfiguration} */
const notTest = '(^|/)[^/]+\\.(test|spec)\\.tsx?$';
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'a circle of imports: split the module both sides need',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    { name: 'engine-imports-nothing-above', severity: 'error', from: { path: '^engine/' }, to: { path: '^(host|cli|electron|renderer)/' } },
    { name: 'host-below-cli-and-electron', severity: 'error', from: { path: '^host/' }, to: { path: '^(cli|electron|renderer)/' } },
    { name: 'cli-not-electron-or-renderer', severity: 'error', from: { path: '^cli/' }, to: { path: '^(electron|renderer)/' } },
    { name: 'electron-is-only-the-shell', severity: 'error', from: { path: '^electron/' }, to: { path: '^(cli|renderer)/' } },
    {
      name: 'renderer-through-the-contract',
      severity: 'error',
      comment: 'the dashboard reaches the engine only through engine/api.ts',
      from: { path: '^renderer/', pathNot: notTest },
      to: { path: '^(engine|host|cli|electron)/', pathNot: '^engine/(api|errors|units)\\.ts$' },
    },
    {
      name: 'product-not-test-tooling',
      severity: 'error',
      comment: 'tests, bench, torture and generators stay out of what ships',
      from: { path: '^(engine|host|cli|electron|renderer)/', pathNot: notTest },
      to: { path: `^(testing|tools)/|${notTest}` },
    },
    { name: 'no-node-in-the-renderer', severity: 'error', from: { path: '^renderer/src/', pathNot: notTest }, to: { dependencyTypes: ['core'] } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules|native|e2e)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.tsx', '.cts', '.js'] },
  },
};
