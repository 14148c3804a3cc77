/**
 * Builds the admin panel (index.html, served at /admin) and the token holder's page
 * (me.html, served at /me) into web/dist. Everything is bundled: the panel works offline
 * and under a CSP that allows only same-origin scripts and styles, so no inline code.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/admin/',
  publicDir: false,
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    sourcemap: false,
    // The module-preload polyfill would be the only inline-ish code; modern browsers need none.
    modulePreload: { polyfill: false },
    rollupOptions: {
      input: { index: `${root}index.html`, me: `${root}me.html` },
    },
  },
});
