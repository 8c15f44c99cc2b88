// Run a switchyard-exported Portkey config through Portkey's own open-source gateway, on loopback.
//
// Usage: node check_gateway.mjs CONFIG.json PLAN.json
//
// PLAN.json: {"seed": 2026, "scenarios": [{"name": "...", "metadata": {"class": "chat", ...},
//             "requests": 1000, "fail": ["@provider-region/model", ...]}, ...]}
//
// Starts a mock OpenAI-compatible upstream and the gateway (node_modules/@portkey-ai/gateway, started
// as its package's bin, build/start-server.js, with --headless and --port=0), both on 127.0.0.1.
//
// The export names each endpoint by a Portkey Model Catalog slug (`"provider": "@deepseek-us-east-1"`),
// which only Portkey's hosted gateway resolves: the open-source gateway takes a built-in provider and
// its key instead. So every leaf `{"provider": "@<slug>", ...}` is sent as
// `{"provider": "openai", "api_key": "test-key", "custom_host": "http://127.0.0.1:<mock>/<slug>/v1", ...}`
// and nothing else in the config changes (strategies, conditions, weights, fallbacks, timeouts and
// override_params are the export's). The mock names the endpoint each call reached
// `@<slug>/<model>`, from the path and the model the gateway sent (override_params.model), and answers
// 503 for the endpoints a scenario lists in `fail`, 200 otherwise.
//
// Scenarios run one after another; each sends its requests (8 in flight) with `x-portkey-config`
// (the config) and `x-portkey-metadata` (the scenario's metadata, which conditional routing reads);
// each request is tagged in its message so the mock can tell which endpoints one request went
// through, in order.
// The unmodified export is also sent once, to report what the open-source gateway says about it.
//
// Prints one JSON object on stdout:
//   {"gateway_version": "...", "seed": 2026, "leaves_rewritten": 9,
//    "unmodified": {"status": 400, "body": {...}},
//    "scenarios": {name: {"requests": N, "statuses": {"200": N}, "routes": {"@a/m > @b/m": n, ...}}}}
// tests/it/portkey.rs runs this and compares the routes with the policy.

import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

const [configPath, planPath] = process.argv.slice(2);
if (!configPath || !planPath) {
  console.error('usage: node check_gateway.mjs CONFIG.json PLAN.json');
  process.exit(2);
}
const config = JSON.parse(readFileSync(configPath, 'utf8'));
const plan = JSON.parse(readFileSync(planPath, 'utf8'));
const seed = plan.seed ?? 2026;
// Requests in flight at once. The counts stay repeatable: each request draws once from the seeded
// Math.random of the scenario's one loadbalance node, so which request gets which draw may change
// from run to run, but how many draws fall to each target does not.
const CONCURRENCY = 8;

// ---- the mock upstream -------------------------------------------------------------------------
const attempts = new Map(); // request tag -> ["@slug/model", ...]
let failing = new Set();
const mock = http.createServer((req, res) => {
  let body = '';
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    const slug = req.url.split('/')[1];
    let parsed = {};
    try {
      parsed = JSON.parse(body);
    } catch {}
    const endpoint = `@${slug}/${parsed.model}`;
    const tag = parsed.messages?.[0]?.content ?? '(untagged)';
    if (!attempts.has(tag)) attempts.set(tag, []);
    attempts.get(tag).push(endpoint);
    if (failing.has(endpoint)) {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `mock: ${endpoint} is down`, type: 'server_error' } }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        id: `chatcmpl-${tag}`,
        object: 'chat.completion',
        created: 0,
        model: parsed.model,
        choices: [{ index: 0, message: { role: 'assistant', content: endpoint }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      }),
    );
  });
});
await new Promise((resolve) => mock.listen(0, '127.0.0.1', resolve));
const mockPort = mock.address().port;

// ---- the gateway -------------------------------------------------------------------------------
const gatewayPackage = require.resolve('@portkey-ai/gateway/package.json', { paths: [here] });
const gatewayDir = path.dirname(gatewayPackage);
const gatewayVersion = JSON.parse(readFileSync(gatewayPackage, 'utf8')).version;
const bin = JSON.parse(readFileSync(gatewayPackage, 'utf8')).bin;
const entry = path.join(gatewayDir, typeof bin === 'string' ? bin : Object.values(bin)[0]);
let gatewayLog = '';
const gateway = fork(entry, ['--headless', '--port=0'], {
  cwd: here,
  execArgv: ['--import', path.join(here, 'loopback.mjs')],
  env: { ...process.env, SWITCHYARD_PORTKEY_SEED: String(seed), NO_PROXY: '*', HTTP_PROXY: '', HTTPS_PROXY: '' },
  stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
});
const keepLog = (chunk) => {
  gatewayLog = (gatewayLog + chunk).slice(-4000);
};
gateway.stdout.on('data', keepLog);
gateway.stderr.on('data', keepLog);
const fail = (message) => {
  console.error(`${message}\n--- gateway output (last 4000 characters) ---\n${gatewayLog}`);
  gateway.kill();
  mock.close();
  process.exit(1);
};
const gatewayPort = await new Promise((resolve) => {
  const timer = setTimeout(() => fail('the gateway did not start listening within 30 s'), 30_000);
  gateway.on('message', (m) => {
    if (m?.listening?.port) {
      clearTimeout(timer);
      resolve(m.listening.port);
    }
  });
  gateway.on('exit', (code) => fail(`the gateway exited (code ${code}) before listening`));
});
gateway.removeAllListeners('exit');
gateway.on('exit', (code, signal) => {
  if (signal !== 'SIGTERM') fail(`the gateway exited (code ${code}, signal ${signal}) during the run`);
});

// ---- the config, pointed at the mock ------------------------------------------------------------
let leavesRewritten = 0;
function pointAtMock(node) {
  if (Array.isArray(node)) return node.map(pointAtMock);
  if (node === null || typeof node !== 'object') return node;
  const out = {};
  for (const [key, value] of Object.entries(node)) out[key] = pointAtMock(value);
  if (typeof node.provider === 'string' && node.provider.startsWith('@')) {
    leavesRewritten += 1;
    out.provider = 'openai';
    out.api_key = 'test-key';
    out.custom_host = `http://127.0.0.1:${mockPort}/${node.provider.slice(1)}/v1`;
  }
  return out;
}
const routed = pointAtMock(config);

async function send(configJson, metadata, tag) {
  const response = await fetch(`http://127.0.0.1:${gatewayPort}/v1/chat/completions`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-portkey-config': JSON.stringify(configJson),
      'x-portkey-metadata': JSON.stringify(metadata ?? {}),
    },
    body: JSON.stringify({ model: 'switchyard', messages: [{ role: 'user', content: tag }], max_tokens: 1 }),
  });
  const text = await response.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: response.status, body };
}

const unmodified = await send(config, plan.scenarios[0]?.metadata, 'unmodified');
attempts.delete('unmodified');

const scenarios = {};
for (const scenario of plan.scenarios) {
  failing = new Set(scenario.fail ?? []);
  const statuses = {};
  const routes = {};
  let firstError = null;
  let next = 0;
  const worker = async () => {
    while (next < scenario.requests) {
      const tag = `${scenario.name}-${next}`;
      next += 1;
      const { status, body } = await send(routed, scenario.metadata, tag);
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (status !== 200 && firstError === null) firstError = body;
      const route = (attempts.get(tag) ?? ['(no upstream call)']).join(' > ');
      routes[route] = (routes[route] ?? 0) + 1;
      attempts.delete(tag);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  scenarios[scenario.name] = { requests: scenario.requests, statuses, routes, first_error: firstError };
}

gateway.kill('SIGTERM');
mock.close();
process.stdout.write(
  `${JSON.stringify({ gateway_version: gatewayVersion, seed, leaves_rewritten: leavesRewritten, unmodified, scenarios }, null, 1)}\n`,
);
