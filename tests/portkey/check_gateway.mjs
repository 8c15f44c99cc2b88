// Run switchyard's Portkey exports through Portkey's own open-source gateway, on loopback.
//
// Usage: node check_gateway.mjs HOSTED.json PLAN.json
//        then, on stdin, one line: the path of the open-source config (portkey-oss-config.json)
//
// PLAN.json: {"seed": 2026, "key": "test-key",
//             "scenarios": [{"name": "...", "metadata": {"class": "chat", ...},
//                            "requests": 1000, "fail": ["model@region", ...]}, ...]}
//
// Starts a mock OpenAI-compatible upstream and the gateway (node_modules/@portkey-ai/gateway, started
// as its package's bin, build/start-server.js, with --headless and --port=0), both on 127.0.0.1, and
// prints the mock's address as the first line of stdout: {"mock": "http://127.0.0.1:<port>"}. The
// caller then exports the open-source config from a catalog whose base URLs point at the mock,
// `<mock>/<model>/<region>/v1` for endpoint `model@region`, and sends its path. That wait is the one
// reason for the handshake: the mock's port is known only once it listens.
//
// The open-source config is sent as written: parsed and serialised again for the
// `x-portkey-config` header (a header is one line), nothing added, removed or changed. The key
// travels as a client sends it, `Authorization: Bearer <plan.key>`. The mock names the endpoint each
// call reached from its path (`model@region`), checks that the path is the base URL plus
// `/chat/completions`, that the model sent (override_params.model) is the path's, and that the key
// arrived, and answers 503 for the endpoints a scenario lists in `fail`, 200 otherwise.
//
// Scenarios run one after another; each sends its requests (8 in flight) with the config and
// `x-portkey-metadata` (the scenario's metadata, which conditional routing reads); each request is
// tagged in its message so the mock can tell which endpoints one request went through, in order.
// The hosted export (Model Catalog slugs, which only Portkey's hosted gateway resolves) is sent once,
// unmodified, to report what the open-source gateway says about it.
//
// Prints, after the first line, one JSON object on stdout:
//   {"gateway_version": "...", "seed": 2026, "config_sent": {...},
//    "hosted": {"status": 400, "body": {...}},
//    "upstream": {"calls": N, "wrong_key": 0, "wrong_model": 0, "wrong_path": 0, "first_wrong": null},
//    "scenarios": {name: {"requests": N, "statuses": {"200": N}, "routes": {"a@r > b@r": n, ...}}}}
// tests/it/portkey.rs runs this and compares the routes with the policy.

import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

const [hostedPath, planPath] = process.argv.slice(2);
if (!hostedPath || !planPath) {
  console.error('usage: node check_gateway.mjs HOSTED.json PLAN.json  (then the open-source config path on stdin)');
  process.exit(2);
}
const hosted = JSON.parse(readFileSync(hostedPath, 'utf8'));
const plan = JSON.parse(readFileSync(planPath, 'utf8'));
const seed = plan.seed ?? 2026;
const key = plan.key ?? 'test-key';
// Requests in flight at once. The counts stay repeatable: each request draws once from the seeded
// Math.random of the scenario's one loadbalance node, so which request gets which draw may change
// from run to run, but how many draws fall to each target does not.
const CONCURRENCY = 8;

// ---- the mock upstream -------------------------------------------------------------------------
const attempts = new Map(); // request tag -> ["model@region", ...]
let failing = new Set();
const upstream = { calls: 0, wrong_key: 0, wrong_model: 0, wrong_path: 0, first_wrong: null };
const wrong = (kind, detail) => {
  upstream[kind] += 1;
  upstream.first_wrong ??= `${kind}: ${detail}`;
};
const mock = http.createServer((req, res) => {
  let body = '';
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    upstream.calls += 1;
    // <mock>/<model>/<region>/v1 + /chat/completions
    const parts = req.url.split('/');
    const [model, region] = [decodeURIComponent(parts[1] ?? ''), decodeURIComponent(parts[2] ?? '')];
    if (parts.length !== 6 || parts[3] !== 'v1' || parts[4] !== 'chat' || parts[5] !== 'completions') {
      wrong('wrong_path', req.url);
    }
    let parsed = {};
    try {
      parsed = JSON.parse(body);
    } catch {}
    if (parsed.model !== model) wrong('wrong_model', `${req.url} got model ${parsed.model}`);
    if (req.headers.authorization !== `Bearer ${key}`) {
      wrong('wrong_key', `${req.url} got authorization ${JSON.stringify(req.headers.authorization ?? null)}`);
    }
    const endpoint = `${model}@${region}`;
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

// ---- the handshake: the mock's address out, the open-source config's path in --------------------
process.stdout.write(`${JSON.stringify({ mock: `http://127.0.0.1:${mockPort}` })}\n`);
const ossPath = await new Promise((resolve) => {
  let buffered = '';
  const timer = setTimeout(() => fail('no config path on stdin within 60 s'), 60_000);
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk) => {
    buffered += chunk;
    const newline = buffered.indexOf('\n');
    if (newline >= 0) {
      clearTimeout(timer);
      process.stdin.destroy();
      resolve(buffered.slice(0, newline));
    }
  });
  process.stdin.on('end', () => fail('stdin closed before the config path'));
});
const oss = JSON.parse(readFileSync(ossPath, 'utf8'));
const ossHeader = JSON.stringify(oss);

async function send(configHeader, metadata, tag, authorization) {
  const headers = {
    'content-type': 'application/json',
    'x-portkey-config': configHeader,
    'x-portkey-metadata': JSON.stringify(metadata ?? {}),
  };
  if (authorization) headers.authorization = authorization;
  const response = await fetch(`http://127.0.0.1:${gatewayPort}/v1/chat/completions`, {
    method: 'POST',
    headers,
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

const hostedAnswer = await send(JSON.stringify(hosted), plan.scenarios[0]?.metadata, 'hosted', `Bearer ${key}`);
attempts.delete('hosted');

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
      const { status, body } = await send(ossHeader, scenario.metadata, tag, `Bearer ${key}`);
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
const report = {
  gateway_version: gatewayVersion,
  seed,
  config_sent: JSON.parse(ossHeader),
  hosted: hostedAnswer,
  upstream,
  scenarios,
};
process.stdout.write(`${JSON.stringify(report, null, 1)}\n`, () => process.exit(0));
