/**
 * The web app's build. `npm run dev -w @omneural/web` serves it with hot reload on :5173 and proxies
 * /api to the omneural server (OMNEURAL_API, default http://localhost:3000), so the session cookie is
 * same-origin in development as in production.
 */
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const api = process.env.OMNEURAL_API ?? "http://localhost:3000";

export default defineConfig({
  plugins: [react()],
  server: { port: 5173, proxy: { "/api": { target: api, changeOrigin: false } } },
  build: { outDir: "dist", emptyOutDir: true, reportCompressedSize: false },
});
