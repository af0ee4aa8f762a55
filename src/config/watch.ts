import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';

/**
 * watchConfigFile calls `onChange` (debounced) when the rules file changes. It watches the folder, not
 * the file, because editors save by writing a new file and renaming it over the old one, which would end
 * a watch on the file itself. Returns a function that stops watching.
 */
export function watchConfigFile(path: string, onChange: () => void, debounceMs = 250): () => void {
  const absolute = resolve(path);
  const name = basename(absolute);
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(absolute), { persistent: false }, (_event, changed) => {
      if (changed !== null && changed.toString() !== name) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(onChange, debounceMs);
      timer.unref();
    });
    // A folder that disappears ends the watch; the relay keeps running on the rules it has.
    watcher.on('error', () => watcher?.close());
  } catch {
    return () => undefined;
  }
  return () => {
    if (timer) clearTimeout(timer);
    watcher?.close();
  };
}
