import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/*
 * The dashboard's templates, stylesheet and script are plain files in src/admin/assets/. They are read
 * at run time, from the source tree when running the TypeScript (tests) and from the package's
 * src/admin/assets when running the build in dist/ (package.json `files` and the Dockerfile ship them).
 * htmx comes from its npm package in node_modules: nothing is fetched from a CDN.
 */

const here = dirname(fileURLToPath(import.meta.url));

/** assetsDir returns the directory holding views/ and static/. */
export function assetsDir(): string {
  const candidates = [join(here, 'assets'), join(here, '..', '..', '..', 'src', 'admin', 'assets')];
  const found = candidates.find((dir) => existsSync(join(dir, 'views', 'layout.liquid')));
  if (found === undefined) {
    throw new Error(`the dashboard's assets are missing (looked in ${candidates.join(', ')})`);
  }
  return found;
}

/** htmxPath returns the minified htmx file of the installed htmx.org package. */
export function htmxPath(): string {
  return createRequire(import.meta.url).resolve('htmx.org/dist/htmx.min.js');
}
