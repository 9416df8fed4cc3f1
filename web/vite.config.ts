import { defineConfig } from "vite";

// React via esbuild's automatic JSX runtime (no plugin needed). `npm run dev` proxies the API
// to a local `scaleph serve`.
export default defineConfig({
  esbuild: { jsx: "automatic" },
  build: { outDir: "dist", chunkSizeWarningLimit: 6000 },
  server: { proxy: { "/api": "http://127.0.0.1:8080" } },
  test: { environment: "node", include: ["src/**/*.test.ts"] },
} as never);
