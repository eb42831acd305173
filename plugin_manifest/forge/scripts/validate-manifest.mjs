// Checks a Forge manifest with Atlassian's own validator, the one behind `forge lint`
// (npm @forge/manifest, its validate()), offline. Prints every finding and exits 1
// when any manifest has an error.
//
//   node scripts/validate-manifest.mjs [path/to/manifest.yml ...]
//
// Like the Forge CLI, it reads ${VARIABLES} declared under environment.variables
// from the process environment, and runs in the manifest's folder (resource
// paths and package globs are relative to it).
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import forgeManifest from '@forge/manifest';

const { validate } = forgeManifest;
const here = dirname(fileURLToPath(import.meta.url));

/** Validates one manifest and prints its findings; true when it has no error. */
async function check(manifestPath) {
  // Like the CLI, run in the app's folder: package globs are relative to it.
  if (existsSync(dirname(manifestPath))) process.chdir(dirname(manifestPath));
  const result = await validate(false, manifestPath);
  const findings = [...(result.errors || [])];

  // @forge/manifest skips resource folders that do not exist yet (the CLI
  // complains later, at deploy). Check here so an unbuilt UI fails now too.
  const resources = result.manifestObject?.typedContent?.resources || [];
  for (const resource of resources) {
    const folder = resolve(dirname(manifestPath), resource.path);
    if (!existsSync(folder) || !statSync(folder).isDirectory()) {
      findings.push({
        level: 'error',
        message: `resource ${resource.key}: folder ${resource.path} does not exist (run npm run build)`,
        reference: 'scopeguard:resources',
      });
    } else if (!existsSync(join(folder, 'index.html'))) {
      findings.push({
        level: 'error',
        message: `resource ${resource.key}: ${resource.path}/index.html is missing`,
        reference: 'scopeguard:resources',
      });
    }
  }

  for (const finding of findings) {
    const where = finding.line ? `${manifestPath}:${finding.line}:${finding.column ?? 0}` : manifestPath;
    console.log(`${where}: ${finding.level}: ${finding.message} [${finding.reference}]`);
  }
  const errors = findings.filter((finding) => finding.level === 'error');
  if (!result.success || errors.length > 0) {
    console.log(`manifest INVALID: ${manifestPath}: ${errors.length} error(s)`);
    return false;
  }
  console.log(`manifest valid: ${manifestPath} (${findings.length} warning(s))`);
  return true;
}

// Resolved before any chdir, against the folder the command was started in.
const paths = (process.argv.length > 2 ? process.argv.slice(2) : [join(here, '..', 'manifest.yml')]).map(
  (path) => resolve(path),
);
let invalid = 0;
// One process for many manifests: the schema is compiled once (about 3 s).
for (const path of paths) {
  if (!(await check(path))) invalid += 1;
}
process.exit(invalid > 0 ? 1 : 0);
