// One-shot set-up of Elasticsearch and Kibana for the platform's logs, run by
// the Compose jobs `setup` (`node /setup/setup.mjs elasticsearch`, steps 1-4,
// before Kibana starts: it needs the kibana_system password) and
// `kibana-setup` (`node /setup/setup.mjs kibana`, steps 5-6, once Kibana is
// healthy). Without an argument it runs both. Plain Node.js 22, no
// dependencies. Every step is an upsert (PUT, `override`, `overwrite`), so
// running it again converges on the same state.
//
//   1. wait for Elasticsearch (cluster health yellow or green)
//   2. set the kibana_system password
//   3. ILM policy platform-logs and index template platform-logs (the JSON
//      files next to this script)
//   4. roles and users log_writer (the services ship logs with it) and
//      grafana_reader (Grafana's data source reads with it)
//   5. wait for Kibana (status available)
//   6. data view logs-* (trace.id rendered as a link to the trace in Jaeger),
//      made the default, and the saved search "Errors"
//
// Environment: ELASTICSEARCH_URL, KIBANA_URL, ELASTIC_PASSWORD,
// KIBANA_SYSTEM_PASSWORD, LOG_WRITER_PASSWORD, GRAFANA_ES_PASSWORD,
// JAEGER_UI_URL (as the browser reaches Jaeger), and optionally
// SETUP_TIMEOUT_MS (how long to wait for each of Elasticsearch and Kibana,
// default 300000) and SETUP_RETRY_INTERVAL_MS (default 2000).
// Exit status 0 when everything is in place, 1 with one line saying why not.

/* global process, console, fetch, FormData, Blob, AbortSignal, Buffer, URL */

import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

const ILM_POLICY = 'platform-logs';
const INDEX_TEMPLATE = 'platform-logs';
const DATA_VIEW_ID = 'platform-logs';
const SAVED_SEARCH_ID = 'platform-logs-errors';
const USERS = {
  log_writer: { role: 'log_writer', passwordVariable: 'LOG_WRITER_PASSWORD', fullName: 'Platform services (log shipping)' },
  grafana_reader: { role: 'grafana_reader', passwordVariable: 'GRAFANA_ES_PASSWORD', fullName: 'Grafana (read-only logs)' },
};

/** A failure worth one line of explanation, without a stack trace. */
class SetupError extends Error {}

const log = (line) => console.log(`setup: ${line}`);

function readConfig(env) {
  const required = ['ELASTIC_PASSWORD', 'KIBANA_SYSTEM_PASSWORD', 'LOG_WRITER_PASSWORD', 'GRAFANA_ES_PASSWORD'];
  const missing = required.filter((name) => !env[name]);
  if (missing.length > 0) throw new SetupError(`missing environment variables: ${missing.join(', ')}`);
  // Elasticsearch refuses native-realm passwords shorter than 6 characters.
  const short = required.filter((name) => name !== 'ELASTIC_PASSWORD' && env[name].length < 6);
  if (short.length > 0) throw new SetupError(`passwords must have at least 6 characters: ${short.join(', ')}`);
  return {
    elasticsearchUrl: trimSlash(env.ELASTICSEARCH_URL || 'http://elasticsearch:9200'),
    kibanaUrl: trimSlash(env.KIBANA_URL || 'http://kibana:5601'),
    jaegerUiUrl: trimSlash(env.JAEGER_UI_URL || 'http://localhost:16686'),
    elasticPassword: env.ELASTIC_PASSWORD,
    kibanaSystemPassword: env.KIBANA_SYSTEM_PASSWORD,
    env,
    timeoutMs: positiveInteger(env, 'SETUP_TIMEOUT_MS', 300_000),
    retryIntervalMs: positiveInteger(env, 'SETUP_RETRY_INTERVAL_MS', 2_000),
  };
}

function positiveInteger(env, name, fallback) {
  if (!env[name]) return fallback;
  const value = Number(env[name]);
  if (!Number.isInteger(value) || value <= 0) throw new SetupError(`${name} must be a positive integer of milliseconds, is "${env[name]}"`);
  return value;
}

const trimSlash = (url) => url.replace(/\/+$/, '');

async function readJson(name) {
  const text = await readFile(new URL(name, import.meta.url), 'utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new SetupError(`${name} is not valid JSON: ${error.message}`);
  }
}

/** What went wrong with a request, in a few words. */
function describe(error) {
  if (error?.name === 'TimeoutError') return 'no answer in time';
  const cause = error?.cause;
  return cause?.code ?? cause?.message ?? error?.message ?? String(error);
}

const truncate = (text) => (text.length > 300 ? `${text.slice(0, 300)}…` : text);

/** A client for one base URL with basic authentication. */
function client(baseUrl, username, password, extraHeaders = {}) {
  const authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  return async function request(method, path, { json, form, timeoutMs = 30_000, accept = [200] } = {}) {
    const headers = { authorization, ...extraHeaders };
    let body;
    if (json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(json);
    } else if (form !== undefined) {
      body = form;
    }
    const response = await fetch(`${baseUrl}${path}`, { method, headers, body, signal: AbortSignal.timeout(timeoutMs) });
    const text = await response.text();
    let parsed;
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      parsed = { text };
    }
    if (!accept.includes(response.status)) {
      const hint = response.status === 401 ? ' (check ELASTIC_PASSWORD)' : '';
      throw new SetupError(`${method} ${baseUrl}${path} answered ${response.status}${hint}: ${truncate(text)}`);
    }
    return { status: response.status, body: parsed };
  };
}

/**
 * Calls `probe` until it reports ready, for at most `timeoutMs`. A probe
 * returns { ready, detail } or throws (unreachable, timed out).
 */
async function waitUntilReady(what, url, probe, { timeoutMs, retryIntervalMs }) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  for (let attempt = 1; ; attempt++) {
    const remaining = deadline - Date.now();
    try {
      const { ready, detail } = await probe(Math.max(500, Math.min(10_000, remaining)));
      if (ready) return { attempt, detail };
      last = detail;
    } catch (error) {
      last = error instanceof SetupError ? error.message : describe(error);
    }
    if (Date.now() + retryIntervalMs >= deadline) {
      throw new SetupError(`${what} at ${url} did not become ready within ${timeoutMs} ms (${attempt} attempts, last: ${last})`);
    }
    await sleep(retryIntervalMs);
  }
}

async function setUpElasticsearch(config, es) {
  const health = await waitUntilReady(
    'Elasticsearch',
    config.elasticsearchUrl,
    async (timeoutMs) => {
      // 408 when the status was not reached within `timeout`; the body still has it.
      const { status, body } = await es('GET', '/_cluster/health?wait_for_status=yellow&timeout=5s', {
        timeoutMs,
        accept: [200, 408, 503],
      });
      const ready = status === 200 && (body.status === 'yellow' || body.status === 'green');
      return { ready, detail: `HTTP ${status}, cluster status ${body.status ?? 'unknown'}` };
    },
    config,
  );
  log(`Elasticsearch at ${config.elasticsearchUrl} is ready (${health.detail}, attempt ${health.attempt})`);

  await es('POST', '/_security/user/kibana_system/_password', { json: { password: config.kibanaSystemPassword } });
  log('kibana_system password set');

  await es('PUT', `/_ilm/policy/${ILM_POLICY}`, { json: await readJson('ilm-policy.json') });
  log(`ILM policy ${ILM_POLICY} in place`);

  const template = await readJson('index-template.json');
  await es('PUT', `/_index_template/${INDEX_TEMPLATE}`, { json: template });
  log(`index template ${INDEX_TEMPLATE} in place for ${template.index_patterns.join(', ')} (priority ${template.priority})`);

  const roles = await readJson('roles.json');
  for (const [name, role] of Object.entries(roles)) {
    await es('PUT', `/_security/role/${name}`, { json: role });
    log(`role ${name} in place`);
  }

  for (const [name, user] of Object.entries(USERS)) {
    await es('PUT', `/_security/user/${name}`, {
      json: { password: config.env[user.passwordVariable], roles: [user.role], full_name: user.fullName, enabled: true },
    });
    log(`user ${name} in place (password from ${user.passwordVariable})`);
  }
}

function dataView(jaegerUiUrl) {
  return {
    // Replaces a data view with the same title, so a re-run converges.
    override: true,
    data_view: {
      id: DATA_VIEW_ID,
      title: 'logs-*',
      name: 'Platform logs',
      timeFieldName: '@timestamp',
      fieldFormats: {
        'trace.id': {
          id: 'url',
          params: {
            type: 'a',
            urlTemplate: `${jaegerUiUrl}/trace/{{value}}`,
            labelTemplate: '{{value}}',
            openLinkInCurrentTab: false,
          },
        },
      },
    },
  };
}

function errorsSavedSearch() {
  return {
    type: 'search',
    id: SAVED_SEARCH_ID,
    attributes: {
      title: 'Errors',
      description: 'Log lines at level error from the platform services, newest first; trace.id opens the trace in Jaeger.',
      columns: ['service.name', 'message', 'trace.id'],
      sort: [['@timestamp', 'desc']],
      grid: {},
      hideChart: false,
      isTextBasedQuery: false,
      timeRestore: false,
      kibanaSavedObjectMeta: {
        searchSourceJSON: JSON.stringify({
          query: { query: 'log.level: error', language: 'kuery' },
          filter: [],
          indexRefName: 'kibanaSavedObjectMeta.searchSourceJSON.index',
        }),
      },
    },
    references: [{ id: DATA_VIEW_ID, name: 'kibanaSavedObjectMeta.searchSourceJSON.index', type: 'index-pattern' }],
    // As Kibana 8.x exports a saved search; 9.x imports and migrates it.
    coreMigrationVersion: '8.8.0',
    typeMigrationVersion: '10.5.0',
    managed: false,
  };
}

async function setUpKibana(config, kibana) {
  const status = await waitUntilReady(
    'Kibana',
    config.kibanaUrl,
    async (timeoutMs) => {
      const { status, body } = await kibana('GET', '/api/status', { timeoutMs, accept: [200, 503] });
      const level = body?.status?.overall?.level ?? 'unknown';
      return { ready: status === 200 && level === 'available', detail: `HTTP ${status}, overall ${level}` };
    },
    config,
  );
  log(`Kibana at ${config.kibanaUrl} is ready (${status.detail}, attempt ${status.attempt})`);

  await kibana('POST', '/api/data_views/data_view', { json: dataView(config.jaegerUiUrl) });
  log(`data view logs-* (id ${DATA_VIEW_ID}) in place, trace.id linking to ${config.jaegerUiUrl}/trace/{{value}}`);

  await kibana('POST', '/api/data_views/default', { json: { data_view_id: DATA_VIEW_ID, force: true } });
  log(`data view ${DATA_VIEW_ID} is the default`);

  const form = new FormData();
  form.append('file', new Blob([`${JSON.stringify(errorsSavedSearch())}\n`], { type: 'application/ndjson' }), 'platform-logs.ndjson');
  const { body } = await kibana('POST', '/api/saved_objects/_import?overwrite=true', { form });
  if (body.success !== true) {
    const errors = (body.errors ?? []).map((error) => `${error.type}/${error.id}: ${JSON.stringify(error.error)}`).join('; ');
    throw new SetupError(`Kibana did not import the saved search "Errors": ${truncate(errors || JSON.stringify(body))}`);
  }
  log(`saved search "Errors" (id ${SAVED_SEARCH_ID}, log.level: error) in place`);
}

const PHASES = ['elasticsearch', 'kibana'];

async function main() {
  const phase = process.argv[2];
  if (phase !== undefined && !PHASES.includes(phase))
    throw new SetupError(`unknown phase "${phase}"; use one of ${PHASES.join(', ')}, or none for both`);
  const config = readConfig(process.env);
  if (phase !== 'kibana') await setUpElasticsearch(config, client(config.elasticsearchUrl, 'elastic', config.elasticPassword));
  if (phase !== 'elasticsearch')
    await setUpKibana(config, client(config.kibanaUrl, 'elastic', config.elasticPassword, { 'kbn-xsrf': 'setup.mjs' }));
  log(`done${phase ? ` (${phase})` : ''}`);
}

main().then(
  () => process.exit(0),
  (error) => {
    const message = error instanceof SetupError ? error.message : `unexpected error: ${describe(error)}`;
    console.error(`setup: FAILED: ${message}`);
    process.exit(1);
  },
);
