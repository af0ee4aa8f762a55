/**
 * metricValue scrapes `GET /metrics` of a test server and returns the sum of the samples of `name` whose
 * labels include every one of `labels` (0 when there are none).
 */
export async function metricValue(
  url: string,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = match[2] ?? '';
    if (Object.entries(labels).every(([key, value]) => found.includes(`${key}="${value}"`))) {
      sum += Number(match[3]);
    }
  }
  return sum;
}
