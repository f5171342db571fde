// Builds the dashboard into syncline/server/dashboard/assets/ (committed, so `pip install`
// ships it and users need no Node.js). The output depends only on the sources and the
// locked package versions: `node build.mjs --check` rebuilds into a temporary folder and
// fails if the committed assets differ (CI runs it).
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const assets = join(here, "..", "syncline", "server", "dashboard", "assets");
const check = process.argv.includes("--check");
const out = check ? mkdtempSync(join(tmpdir(), "syncline-dashboard-")) : assets;

mkdirSync(out, { recursive: true });
await build({
  entryPoints: { app: join(here, "src", "main.js") },
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2020",
  outdir: out,
  legalComments: "eof",
  logLevel: "warning",
  define: { "process.env.NODE_ENV": '"production"' },
});
const version = (name) =>
  createHash("sha256").update(readFileSync(join(out, name))).digest("hex").slice(0, 12);
const html = readFileSync(join(here, "src", "index.html"), "utf8")
  .replace("app.js", `app.js?v=${version("app.js")}`)
  .replace("app.css", `app.css?v=${version("app.css")}`);
writeFileSync(join(out, "index.html"), html);

if (check) {
  const differing = readdirSync(out).filter((name) => {
    try {
      return !readFileSync(join(out, name)).equals(readFileSync(join(assets, name)));
    } catch {
      return true;
    }
  });
  const extra = readdirSync(assets).filter((name) => !readdirSync(out).includes(name));
  rmSync(out, { recursive: true, force: true });
  if (differing.length || extra.length) {
    console.error(`The committed dashboard assets are not the build of dashboard/src: ` +
      `${[...differing, ...extra].join(", ")} differ. Run \`node dashboard/build.mjs\` and commit.`);
    process.exit(1);
  }
  console.log("The committed dashboard assets are current.");
}
