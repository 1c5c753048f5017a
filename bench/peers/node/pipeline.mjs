#!/usr/bin/env node
// Peer implementation of influx-bootstrap's `login` + `management create`
// pipeline on openid-client (the certified relying-party library), for
// bench/ only: discovery -> device authorization (RFC 8628, with `resource`)
// -> poll the token endpoint -> POST {cluster}/api/v0/management/tokens.
//
//   node pipeline.mjs --issuer URL --client-id ID --resource URI --cluster URL \
//       [--description TEXT] [--scope "openid profile email offline_access"]
//
// stdout, one JSON object per line:
//   {"event":"device_code","user_code":...}        as soon as the code is known (for the approver)
//   {"event":"done","wall_ms":...,"polls":...,...}  at the end; wall_ms counts from process start
// Exit status 0 on success, 1 on any failure (message on stderr).
import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import * as client from 'openid-client';

function parseArgs(argv) {
  const out = {
    scope: 'openid profile email offline_access',
    description: 'bench peer (node)',
  };
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m) throw new Error(`unexpected argument ${a}`);
    const value = m[2] !== undefined ? m[2] : argv[(i += 1)];
    if (value === undefined) throw new Error(`${a} needs a value`);
    out[m[1].replace(/-([a-z])/g, (_, c) => c.toUpperCase())] = value;
  }
  for (const k of ['issuer', 'clientId', 'resource', 'cluster']) {
    if (!out[k]) throw new Error(`--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} is required`);
  }
  return out;
}

// Count every request the library (and we) make, by path.
const requests = {};
const countingFetch = (url, options) => {
  const path = new URL(url).pathname;
  requests[path] = (requests[path] ?? 0) + 1;
  return fetch(url, options);
};

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const marks = {};
  const mark = (name) => { marks[name] = Math.round(performance.now()); };
  mark('imported'); // ES module imports run before the first line: this is after them

  const config = await client.discovery(
    new URL(args.issuer),
    args.clientId,
    undefined,
    client.None(), // public client (token_endpoint_auth_method: none)
    { execute: [client.allowInsecureRequests], [client.customFetch]: countingFetch },
  );
  mark('discovered');

  const device = await client.initiateDeviceAuthorization(config, {
    scope: args.scope,
    resource: args.resource,
  });
  mark('device_code');
  process.stdout.write(`${JSON.stringify({
    event: 'device_code',
    user_code: device.user_code,
    verification_uri: device.verification_uri,
    interval: device.interval,
  })}\n`);

  const tokens = await client.pollDeviceAuthorizationGrant(config, device);
  mark('authorized');

  const base = args.cluster.replace(/\/+$/, '');
  const res = await countingFetch(`${base}/api/v0/management/tokens`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${tokens.access_token}`,
      'content-type': 'application/json',
      accept: 'application/json',
      'idempotency-key': randomUUID(),
    },
    body: JSON.stringify({ description: args.description, expiresAt: null }),
  });
  const body = await res.json().catch(() => ({}));
  if (res.status !== 201 || typeof body.accessToken !== 'string') {
    throw new Error(`create: HTTP ${res.status} ${body.code ?? ''} ${body.message ?? ''}`);
  }
  mark('created');

  const tokenPath = new URL(config.serverMetadata().token_endpoint).pathname;
  process.stdout.write(`${JSON.stringify({
    event: 'done',
    // performance.now() counts from the start of the process (timeOrigin).
    wall_ms: marks.created,
    marks,
    polls: requests[tokenPath] ?? 0,
    requests,
    id: body.id,
    token_prefix: body.tokenPrefix,
  })}\n`);
}

main().catch((err) => {
  process.stderr.write(`peer-node: ${err?.stack ?? err}\n`);
  process.exit(1);
});
