#!/usr/bin/env node
// A stand-in for InfluxData's `influxctl` (closed source, not installable here), for the
// end-to-end tests of `management_backend = "influxctl"` (tests/it/influxctl_backend.rs).
//
// It behaves as influxctl's docs describe, so the tests exercise our driver, not a mock of it:
//   influxctl --config PATH --profile NAME management create --description D
//             [--expires-at RFC3339] --format json
//   influxctl --config PATH --profile NAME management list --format json
//   influxctl --config PATH --profile NAME management revoke --force ID...
//   influxctl version
// - the profile's `mgmt_token` authenticates when set; otherwise it runs a real OAuth 2.0
//   device flow (RFC 8628) against the profile's `device_url`/`token_url` (it does no
//   discovery), printing the verification URL on stdout and the code on stderr, and caches the
//   access token under $XDG_CACHE_HOME/influxctl-standin/ (influxctl keeps its login too);
// - tokens live in the reference cluster behind its test-only private routes
//   (reference-cluster/src/private.rs), which play the private gRPC API;
// - JSON output: snake_case keys, times as {"seconds": n, "nanos": n}, expires_at/revoked_at
//   absent when unset; `management create` prints the token beside `token_prefix`.
// - It logs a token-shaped line on stderr on purpose (a leaky tool): our relay must redact it.
// - With STANDIN_CREATE_GATE=FIFO, `management create` waits for a line on that FIFO before
//   asking the cluster (tests interrupt us while a create is in flight).
// - Every config path it was given is appended to $XDG_CACHE_HOME/influxctl-standin/configs.log,
//   so the tests can check that none outlives the run.
//
// Why Node and not a Rust [[bin]]: the test provider already needs Node, the script needs no
// build step (2 shared cores), and it has `fetch` built in.

import * as fs from 'node:fs';
import * as path from 'node:path';
import process from 'node:process';

const die = (msg, code = 1) => {
  process.stderr.write(`Error: ${msg}\n`);
  process.exit(code);
};

// A TOML subset: what influx-bootstrap writes (tables, strings, booleans, string arrays).
function parseToml(text) {
  const root = { profile: [] };
  let cur = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    if (line === '[[profile]]') {
      cur = {};
      root.profile.push(cur);
      continue;
    }
    const table = line.match(/^\[profile\.([a-z0-9_.]+)\]$/);
    if (table) {
      const last = root.profile[root.profile.length - 1];
      cur = last;
      for (const k of table[1].split('.')) {
        cur[k] = cur[k] || {};
        cur = cur[k];
      }
      continue;
    }
    const kv = line.match(/^("?[A-Za-z0-9_-]+"?)\s*=\s*(.*)$/);
    if (!kv || !cur) die(`cannot parse config line: ${line}`);
    const key = kv[1].replace(/^"|"$/g, '');
    const v = kv[2];
    cur[key] = v === 'true' ? true : v === 'false' ? false : JSON.parse(v);
  }
  return root;
}

const argv = process.argv.slice(2);
let configPath = null;
let profileName = 'default';
const rest = [];
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--config') configPath = argv[++i];
  else if (argv[i] === '--profile') profileName = argv[++i];
  else rest.push(argv[i]);
}

if (rest[0] === 'version') {
  process.stdout.write('influxctl stand-in 2.12.0-test (influx-bootstrap tests)\n');
  process.exit(0);
}

const cacheRoot = path.join(
  process.env.XDG_CACHE_HOME || path.join(process.env.HOME || '.', '.cache'),
  'influxctl-standin',
);
fs.mkdirSync(cacheRoot, { recursive: true, mode: 0o700 });
if (configPath) fs.appendFileSync(path.join(cacheRoot, 'configs.log'), `${configPath}\n`);

for (const [k, v] of Object.entries(process.env)) {
  if (/^INFLUX/i.test(k) && /TOKEN/i.test(k)) die(`a token variable reached influxctl: ${k}`, 3);
  if (/M\.V1\.|apiv1_/.test(v)) die(`a token reached influxctl's environment in ${k}`, 3);
}
for (const a of argv) if (/M\.V1\.[A-Za-z0-9_-]{20}/.test(a)) die('a token reached argv', 3);

if (!configPath) die('--config is required here');
const profile = parseToml(fs.readFileSync(configPath, 'utf8')).profile.find(
  (p) => p.name === profileName,
);
if (!profile) die(`profile ${profileName} not found in ${configPath}`);
const scheme = profile.tls && profile.tls.disable ? 'http' : 'https';
const base = `${scheme}://${profile.host}:${profile.port}/__test/private/management/tokens`;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// RFC 8628: device authorization, then poll the token endpoint.
async function deviceLogin(o) {
  const form = new URLSearchParams({ client_id: o.client_id, scope: (o.scopes || []).join(' ') });
  for (const [k, v] of Object.entries(o.parameters || {})) form.set(k, v);
  const r = await fetch(o.device_url, { method: 'POST', body: form });
  if (!r.ok) die(`device authorization failed: HTTP ${r.status} ${await r.text()}`);
  const d = await r.json();
  process.stdout.write(`Please visit ${d.verification_uri}\n`);
  process.stderr.write(`and enter the code: ${d.user_code}\n`);
  let interval = (d.interval || 5) * 1000;
  for (;;) {
    await sleep(interval);
    const t = await fetch(o.token_url, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
        device_code: d.device_code,
        client_id: o.client_id,
      }),
    });
    const body = await t.json();
    if (t.ok) return body;
    if (body.error === 'authorization_pending') continue;
    if (body.error === 'slow_down') {
      interval += 5000;
      continue;
    }
    die(`login failed: ${body.error}`);
  }
}

async function bearer() {
  if (profile.mgmt_token) return profile.mgmt_token;
  const key = `${profile.host}_${profile.port}`.replace(/[^A-Za-z0-9_.-]/g, '_');
  const file = path.join(cacheRoot, `login-${key}.json`);
  try {
    const c = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (c.expires_at > Date.now() + 30000) return c.access_token;
  } catch {
    // no cached login
  }
  const t = await deviceLogin(profile.auth.oauth2);
  fs.writeFileSync(
    file,
    JSON.stringify({ access_token: t.access_token, expires_at: Date.now() + t.expires_in * 1000 }),
    { mode: 0o600 },
  );
  return t.access_token;
}

async function call(method, url, body) {
  const r = await fetch(url, {
    method,
    headers: {
      authorization: `Bearer ${await bearer()}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  // gRPC status names, as influxctl's errors show them.
  const code = { 401: 'Unauthenticated', 403: 'PermissionDenied', 404: 'NotFound' }[r.status];
  if (!r.ok) die(`rpc error: code = ${code || 'Unknown'} desc = ${text}`);
  return JSON.parse(text);
}

const ts = (s) => {
  if (!s) return undefined;
  const ms = Date.parse(s);
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
};

function shape(t) {
  const out = {
    id: t.id,
    description: t.description,
    token_prefix: t.tokenPrefix,
    created_at: ts(t.createdAt),
    created_by: t.createdBy,
  };
  if (t.expiresAt) out.expires_at = ts(t.expiresAt);
  if (t.revokedAt) out.revoked_at = ts(t.revokedAt);
  return out;
}

const flag = (name) => {
  const i = rest.indexOf(name);
  return i >= 0 ? rest[i + 1] : undefined;
};

async function main() {
  if (rest[0] !== 'management') die(`unknown command ${rest.join(' ')}`);
  switch (rest[1]) {
    case 'create': {
      // Tests hold the create here (after login, before the cluster is asked)
      // until they write to this FIFO.
      if (process.env.STANDIN_CREATE_GATE) {
        await bearer();
        process.stderr.write('standin: creating\n');
        fs.readFileSync(process.env.STANDIN_CREATE_GATE);
      }
      const body = { description: flag('--description') };
      if (flag('--expires-at')) body.expiresAt = flag('--expires-at');
      const t = await call('POST', base, body);
      process.stderr.write(`debug: minted ${t.accessToken} for you\n`);
      process.stdout.write(`${JSON.stringify({ ...shape(t), token: t.accessToken }, null, 2)}\n`);
      break;
    }
    case 'list': {
      const all = await call('GET', base);
      process.stdout.write(`${JSON.stringify(all.map(shape), null, 2)}\n`);
      break;
    }
    case 'revoke': {
      if (!rest.includes('--force')) die('revoke needs --force when not interactive');
      for (const id of rest.slice(2).filter((a) => a !== '--force')) {
        await call('DELETE', `${base}/${encodeURIComponent(id)}`);
        process.stderr.write(`revoked ${id}\n`);
      }
      break;
    }
    default:
      die(`unknown management command ${rest[1]}`);
  }
}

main().catch((e) => die(String(e)));
