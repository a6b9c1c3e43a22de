import { Client, SniffingTransport, type ClientOptions } from '@elastic/elasticsearch';
import pinoElasticsearch from 'pino-elasticsearch';

export interface ElasticsearchShippingOptions {
  /** http(s)://host:9200 */
  url: string;
  /** Data stream the lines go to, e.g. logs-user_service-default. */
  dataStream: string;
  apiKey?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
  /** Bytes buffered while Elasticsearch is slow or down; beyond this lines are dropped (and counted). */
  maxBufferedBytes?: number;
  /** Where failures are reported, at most once per reportIntervalMs. */
  report?: (message: string) => void;
  reportIntervalMs?: number;
}

/** What happened to the lines given to the shipper. */
export interface ShippingCounts {
  /** Accepted by Elasticsearch. */
  shipped: number;
  /** Refused by Elasticsearch (mapping errors, or still failing after retries). */
  rejected: number;
  /** Never sent: the buffer was full, or the connection had failed and was being re-established. */
  dropped: number;
  /** Times shipping failed as a whole (connection refused, timeout) and was restarted. */
  failures: number;
}

const DEFAULT_MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
/**
 * The library flushes every 1000 bytes by default, a request per two or
 * three lines; 256 KiB batches hundreds of lines per request. Its
 * flushInterval is an idle timeout, not a deadline: under steady logging a
 * partial batch would wait for 256 KiB. So lines are handed over in one burst
 * per HANDOVER_INTERVAL_MS, and the idle timeout fires between bursts: a line
 * reaches Elasticsearch within about 1.5 s.
 */
const FLUSH_BYTES = 256 * 1024;
const FLUSH_INTERVAL_MS = 500;
const HANDOVER_INTERVAL_MS = 1000;
const RESTART_DELAYS_MS = [1000, 2000, 5000, 10_000, 30_000];

/**
 * Ships JSON log lines to an Elasticsearch data stream with
 * pino-elasticsearch, adding what a service needs around it: memory stays
 * bounded when Elasticsearch is slow or down (pino ignores backpressure),
 * shipping restarts after a connection failure (the library's bulk helper
 * stops for good), and every outcome is counted.
 */
export class LogShipper {
  readonly counts: ShippingCounts = { shipped: 0, rejected: 0, dropped: 0, failures: 0 };
  private stream: ReturnType<typeof pinoElasticsearch> | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private consecutiveFailures = 0;
  private lastReportAt = 0;
  private closing = false;
  private readonly maxBufferedBytes: number;
  private pending: string[] = [];
  private pendingBytes = 0;
  private readonly handover: NodeJS.Timeout;

  constructor(private readonly options: ElasticsearchShippingOptions) {
    this.maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    this.stream = this.connect();
    this.handover = setInterval(() => this.handOver(), HANDOVER_INTERVAL_MS);
    this.handover.unref();
  }

  /**
   * Takes one log line from pino (a destination needs no more than write).
   * Not a Writable: stream machinery on every line showed in CPU profiles
   * (bench/), and this never pushes back anyway. It never holds the logger up:
   * what cannot be buffered is dropped and counted.
   */
  write(line: string): boolean {
    const buffered = this.pendingBytes + (this.stream?.writableLength ?? 0);
    if (!this.stream || buffered + line.length > this.maxBufferedBytes) {
      this.counts.dropped++;
    } else {
      this.pending.push(line);
      this.pendingBytes += line.length;
    }
    return true;
  }

  private handOver(): void {
    const stream = this.stream;
    if (!stream || this.pending.length === 0) return;
    // One write per burst: the library splits lines itself.
    stream.write(this.pending.join(''));
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Sends what is buffered (bounded by timeoutMs) and stops. */
  async close(timeoutMs = 5000): Promise<void> {
    this.closing = true;
    clearTimeout(this.restartTimer);
    clearInterval(this.handover);
    this.handOver();
    const stream = this.stream;
    if (!stream) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      stream.once('insert', () => {
        clearTimeout(timer);
        resolve();
      });
      stream.once('error', () => {
        clearTimeout(timer);
        resolve();
      });
      stream.end();
    });
  }

  private connect(): ReturnType<typeof pinoElasticsearch> {
    const counts = this.counts;
    const onSuccess = () => (this.consecutiveFailures = 0);
    /** Counts each bulk response's items; the library reports only failures and a final total. */
    class CountingClient extends Client {
      constructor(clientOptions: ClientOptions) {
        // Fail fast and let the shipper restart, rather than holding requests for the default 30 s.
        super({ ...clientOptions, Transport: UntracedTransport, requestTimeout: 10_000, maxRetries: 1 });
        this.diagnostic.on('response', (error, result) => {
          const items = (result?.body as { items?: Record<string, { status?: number }>[] } | undefined)?.items;
          if (error || !Array.isArray(items)) return;
          onSuccess();
          for (const item of items) {
            const status = Object.values(item)[0]?.status ?? 0;
            if (status >= 200 && status < 300) counts.shipped++;
          }
        });
      }
    }
    const stream = (
      pinoElasticsearch as unknown as (options: object, extra: { Client: typeof Client }) => ReturnType<typeof pinoElasticsearch>
    )(
      {
        node: this.options.url,
        index: this.options.dataStream,
        // Data streams accept only op_type create.
        opType: 'create',
        esVersion: 8,
        flushBytes: FLUSH_BYTES,
        flushInterval: FLUSH_INTERVAL_MS,
        ...(this.options.apiKey
          ? { auth: { apiKey: this.options.apiKey } }
          : this.options.username
            ? { auth: { username: this.options.username, password: this.options.password ?? '' } }
            : {}),
      },
      { Client: CountingClient },
    );
    stream.on('insertError', () => {
      counts.rejected++;
      this.reportAtMostEvery('Elasticsearch rejected log documents');
    });
    stream.on('error', (error: Error) => this.restart(stream, error));
    return stream;
  }

  private restart(failed: ReturnType<typeof pinoElasticsearch>, error: Error): void {
    if (failed !== this.stream) return;
    this.counts.failures++;
    // Lines buffered in the failed stream, and those waiting for it, are lost with it.
    this.stream = undefined;
    this.counts.dropped += this.pending.length;
    this.pending = [];
    this.pendingBytes = 0;
    failed.removeAllListeners('error');
    failed.on('error', () => undefined);
    failed.destroy();
    if (this.closing) return;
    const delay = RESTART_DELAYS_MS[Math.min(this.consecutiveFailures, RESTART_DELAYS_MS.length - 1)]!;
    this.consecutiveFailures++;
    this.reportAtMostEvery(`log shipping to Elasticsearch failed (${error.message}); retrying in ${delay} ms`);
    this.restartTimer = setTimeout(() => (this.stream = this.connect()), delay);
    this.restartTimer.unref();
  }

  private reportAtMostEvery(message: string): void {
    const now = Date.now();
    if (now - this.lastReportAt < (this.options.reportIntervalMs ?? 30_000)) return;
    this.lastReportAt = now;
    const { shipped, rejected, dropped, failures } = this.counts;
    (this.options.report ?? ((line) => process.stderr.write(`${line}\n`)))(
      `${message} [shipped=${shipped} rejected=${rejected} dropped=${dropped} failures=${failures}]`,
    );
  }
}

/**
 * The Elasticsearch client's transport, without its own OpenTelemetry spans:
 * @elastic/transport traces every request natively, so each bulk request of
 * the log shipper would be exported as a `db.system=elasticsearch` span in
 * the service's traces, an operation no caller asked for (and span metrics
 * on Jaeger's Monitor tab that are not the service's work). The client
 * offers no option for it but OTEL_ELASTICSEARCH_ENABLED, read process-wide.
 */
class UntracedTransport extends SniffingTransport {
  constructor(options: ConstructorParameters<typeof SniffingTransport>[0]) {
    super({ ...options, openTelemetry: { enabled: false, suppressInternalInstrumentation: true } });
  }
}
