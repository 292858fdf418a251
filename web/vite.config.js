import { defineConfig } from 'vite';

// Relative asset URLs so the built files work under /app/ (or any mount point).
export default defineConfig({
  base: './',
  build: { outDir: 'dist', emptyOutDir: true, assetsInlineLimit: 0, target: 'es2022' },
  test: { include: ['test/**/*.test.js'], environment: 'node' },
});
