// Worker-thread entry: load TypeScript sources through tsx, then run the import thread.
import { register } from "tsx/esm/api";

register();
await import("./import-thread.ts");
