import { request } from 'node:http';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
  /** The exemplar's labels, when the line carries one (OpenMetrics only). */
  exemplar?: Record<string, string>;
}

export interface Scrape {
  contentType: string;
  body: string;
  samples: Sample[];
}

/** GETs /metrics as a scraper would, asking for OpenMetrics unless told otherwise. */
export function scrapeMetrics(port: number, accept = 'application/openmetrics-text;version=1.0.0,text/plain;q=0.5'): Promise<Scrape> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/metrics', headers: { accept } }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => {
        if (response.statusCode !== 200) reject(new Error(`/metrics answered ${response.statusCode}: ${body}`));
        else resolve({ contentType: String(response.headers['content-type']), body, samples: parseSamples(body) });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** The value of the one sample with this name and (at least) these labels; 0 when absent. */
export function sampleValue(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const matching = samples.filter(
    (sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  );
  if (matching.length > 1) throw new Error(`${matching.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return matching[0]?.value ?? 0;
}

/**
 * Reads sample lines of the text and OpenMetrics formats. Written here rather
 * than taken from a package because tests only need name, labels, value and
 * exemplar, and the maintained parsers are not published for Node.
 */
export function parseSamples(body: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of body.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*?)\})?\s+(\S+)(?:\s+\S+)?(?:\s+#\s+\{(.*?)\}\s+\S+.*)?$/.exec(line);
    if (!match) throw new Error(`unparseable metrics line: ${line}`);
    const sample: Sample = { name: match[1]!, labels: parseLabels(match[2]), value: Number(match[3]) };
    if (match[4] !== undefined) sample.exemplar = parseLabels(match[4]);
    samples.push(sample);
  }
  return samples;
}

function parseLabels(text: string | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [, key, value] of (text ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
    labels[key!] = value!.replace(/\\(.)/g, '$1');
  return labels;
}
