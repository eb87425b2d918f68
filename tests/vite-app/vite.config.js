// The app is served from any folder by the e2e test: relative asset URLs.
export default {
  base: './',
  build: { outDir: 'dist', emptyOutDir: true },
  // The dev server's dependency pre-bundling would lose the package's .wasm file.
  optimizeDeps: { exclude: ['@sipsimple/client'] },
};
