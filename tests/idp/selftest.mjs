#!/usr/bin/env node
// Manual end-to-end check of the test IdP fixture: `node tests/idp/selftest.mjs`.
// Starts server.mjs as a child process and exercises it over HTTP with real waiting
// (about 10-15 s). Prints one line per check and a final "N passed, N failed" line;
// exits non-zero on any failure.

import { spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import process from 'node:process';

const SERVER = fileURLToPath(new URL('./server.mjs', import.meta.url));
const AUDIENCE = 'https://cluster.example.test';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const INTERVAL = 1;
const CODE_TTL = 4;
const AT_TTL = 2;
const WAIT_MS = INTERVAL * 1000 + 50;

let passed = 0;
let failed = 0;
const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;

function check(cond, what, detail) {
  if (cond) {
    passed += 1;
    console.log(`ok   [${elapsed()}] ${what}`);
  } else {
    failed += 1;
    console.log(`FAIL [${elapsed()}] ${what}${detail !== undefined ? ` -- got ${typeof detail === 'string' ? detail : JSON.stringify(detail)}` : ''}`);
  }
  return cond;
}

function startServer(args) {
  const child = spawn(process.execPath, [SERVER, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  let stdout = '';
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line within 10s; stderr:\n${stderr}`)), 10000);
    child.stdout.on('data', (d) => {
      stdout += d;
      const nl = stdout.indexOf('\n');
      if (nl !== -1) {
        clearTimeout(timer);
        try {
          resolve(JSON.parse(stdout.slice(0, nl)));
        } catch (err) {
          reject(new Error(`ready line is not JSON: ${stdout.slice(0, nl)}`));
        }
      }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited (${code}) before ready; stderr:\n${stderr}`)); });
  });
  const exited = new Promise((resolve) => { child.on('exit', (code, signal) => resolve({ code, signal })); });
  return {
    child, ready, exited, stderr: () => stderr, stdout: () => stdout,
  };
}

function b64urlJson(part) {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

function decodeJwt(jwt) {
  const [h, p, s] = String(jwt).split('.');
  return {
    header: b64urlJson(h), payload: b64urlJson(p), signingInput: `${h}.${p}`, signature: Buffer.from(s, 'base64url'),
  };
}

function verifyRs256(jwt, jwks) {
  const { header, signingInput, signature } = decodeJwt(jwt);
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  if (!jwk || header.alg !== 'RS256') return false;
  const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
  return crypto.verify('RSA-SHA256', Buffer.from(signingInput), key, signature);
}

async function main() {
  // --- bad arguments are rejected ---------------------------------------------------------
  const bad = spawnSync(process.execPath, [SERVER, '--interval', 'soon'], { encoding: 'utf8' });
  check(bad.status === 2 && bad.stdout === '', 'bad argument: exit status 2, nothing on stdout', { status: bad.status, stdout: bad.stdout });

  // --- start -----------------------------------------------------------------------------
  const srv = startServer(['--interval', String(INTERVAL), '--code-ttl', String(CODE_TTL), '--access-token-ttl', String(AT_TTL), '--log']);
  const readyLine = await srv.ready;
  const { issuer, port } = readyLine;
  check(issuer === `http://127.0.0.1:${port}` && Number.isInteger(port) && port > 0
    && Object.keys(readyLine).length === 2, 'ready line is {"issuer":"http://127.0.0.1:PORT","port":PORT}', readyLine);

  const expected = {
    discovery: 0, device_authorization: 0, token_device_code: 0, token_refresh: 0, slow_down: 0, revocation: 0, introspection: 0, jwks: 0, userinfo: 0,
  };

  const getJson = async (path, counter) => {
    if (counter) expected[counter] += 1;
    const r = await fetch(`${issuer}${path}`);
    return { status: r.status, body: await r.json() };
  };
  const postForm = async (path, form, counter) => {
    if (counter) expected[counter] += 1;
    const r = await fetch(`${issuer}${path}`, { method: 'POST', body: new URLSearchParams(form) });
    const text = await r.text();
    let body;
    try { body = JSON.parse(text); } catch { body = text; }
    return { status: r.status, body, headers: r.headers };
  };
  const postJson = async (path, obj) => {
    const r = await fetch(`${issuer}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(obj) });
    return { status: r.status, body: await r.json() };
  };
  const deviceAuth = (clientId, extra = {}) => postForm('/device/auth', { client_id: clientId, scope: 'openid profile email', ...extra }, 'device_authorization');
  const poll = (clientId, deviceCode) => postForm('/token', { client_id: clientId, grant_type: DEVICE_GRANT, device_code: deviceCode }, 'token_device_code');
  const refresh = (clientId, rt) => postForm('/token', { client_id: clientId, grant_type: 'refresh_token', refresh_token: rt }, 'token_refresh');

  // --- discovery and jwks ----------------------------------------------------------------
  const disco = await getJson('/.well-known/openid-configuration', 'discovery');
  const d = disco.body;
  check(disco.status === 200 && d.issuer === issuer, 'discovery: issuer matches byte-for-byte', d.issuer);
  check(d.device_authorization_endpoint === `${issuer}/device/auth`, 'discovery: device_authorization_endpoint', d.device_authorization_endpoint);
  check(d.token_endpoint === `${issuer}/token`, 'discovery: token_endpoint', d.token_endpoint);
  check(d.revocation_endpoint === `${issuer}/token/revocation`, 'discovery: revocation_endpoint', d.revocation_endpoint);
  check(d.introspection_endpoint === `${issuer}/token/introspection`, 'discovery: introspection_endpoint', d.introspection_endpoint);
  check(d.jwks_uri === `${issuer}/jwks`, 'discovery: jwks_uri', d.jwks_uri);
  check(d.grant_types_supported.includes(DEVICE_GRANT) && d.grant_types_supported.includes('refresh_token'), 'discovery: device_code and refresh_token grants', d.grant_types_supported);
  check(['openid', 'profile', 'email', 'offline_access'].every((s) => d.scopes_supported.includes(s)), 'discovery: scopes', d.scopes_supported);
  const asMeta = await getJson('/.well-known/oauth-authorization-server', 'discovery');
  check(asMeta.status === 200 && asMeta.body.issuer === issuer
    && asMeta.body.device_authorization_endpoint === d.device_authorization_endpoint, 'RFC 8414 /.well-known/oauth-authorization-server serves the same metadata', asMeta);

  const jwksRes = await getJson('/jwks', 'jwks');
  const jwks = jwksRes.body;
  check(jwks.keys.some((k) => k.kty === 'RSA' && k.alg === 'RS256') && jwks.keys.some((k) => k.kty === 'EC' && k.alg === 'ES256'), 'jwks: RS256 and ES256 keys', jwks.keys.map((k) => k.alg));
  check(jwks.keys.every((k) => !('d' in k)), 'jwks: public keys only');

  // --- A: client 1, admin: slow_down, pending, approve, tokens, refresh rotation, reuse ---
  const a = await deviceAuth('influx-bootstrap');
  const A = a.body;
  check(a.status === 200, 'A: device authorization 200', a);
  check(A.interval === INTERVAL, `A: interval = ${INTERVAL}`, A.interval);
  check(A.expires_in === CODE_TTL, `A: expires_in = --code-ttl (${CODE_TTL})`, A.expires_in);
  check(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/.test(A.user_code), 'A: user_code looks like XXXX-XXXX', A.user_code);
  check(typeof A.device_code === 'string' && A.device_code.length > 20, 'A: device_code present');
  check(A.verification_uri === `${issuer}/device`, 'A: verification_uri', A.verification_uri);
  check(A.verification_uri_complete === `${issuer}/device?user_code=${A.user_code}`, 'A: verification_uri_complete', A.verification_uri_complete);

  let r = await poll('influx-bootstrap', A.device_code);
  expected.slow_down += 1;
  check(r.status === 400 && r.body.error === 'slow_down' && typeof r.body.error_description === 'string', 'A: immediate poll -> 400 slow_down', r.body);
  await sleep(WAIT_MS);
  r = await poll('influx-bootstrap', A.device_code);
  check(r.status === 400 && r.body.error === 'authorization_pending', 'A: poll after interval -> authorization_pending', r.body);

  let stats = (await getJson('/__test/stats')).body;
  check(stats.pending_user_codes.includes(A.user_code), 'stats: pending_user_codes lists A', stats.pending_user_codes);

  const unknownUser = await postJson('/__test/approve', { user_code: A.user_code, user: 'mallory' });
  check(unknownUser.status === 400 && unknownUser.body.ok === false, '/__test/approve with unknown user -> 400', unknownUser.body);
  const unknownCode = await postJson('/__test/approve', { user_code: 'BCDF-GHJK', user: 'admin' });
  check(unknownCode.status === 500 && /not_found/.test(unknownCode.body.error), '/__test/approve with unknown code -> 500 not_found', unknownCode.body);

  const approvedA = await postJson('/__test/approve', { user_code: A.user_code.replace('-', '').toLowerCase(), user: 'admin' });
  check(approvedA.status === 200 && approvedA.body.ok === true, 'A: /__test/approve (lower case, no dash) as admin -> ok', approvedA.body);
  stats = (await getJson('/__test/stats')).body;
  check(!stats.pending_user_codes.includes(A.user_code), 'stats: A no longer pending after approval', stats.pending_user_codes);

  await sleep(WAIT_MS);
  r = await poll('influx-bootstrap', A.device_code);
  const tokA = r.body;
  check(r.status === 200 && tokA.token_type === 'Bearer', 'A: poll after approval -> 200 tokens', r.body);
  check(tokA.expires_in === AT_TTL, `A: expires_in = --access-token-ttl (${AT_TTL})`, tokA.expires_in);
  check(typeof tokA.refresh_token === 'string' && tokA.refresh_token.length > 20, 'A: refresh_token present (no offline_access requested)');
  check(tokA.scope === 'openid profile email', 'A: scope', tokA.scope);
  const atA = decodeJwt(tokA.access_token);
  check(atA.header.typ === 'at+jwt' && atA.header.alg === 'RS256', 'A: access token is an RS256 at+jwt', atA.header);
  check(verifyRs256(tokA.access_token, jwks), 'A: access token signature verifies against /jwks');
  const p = atA.payload;
  check(p.iss === issuer && p.aud === AUDIENCE && p.sub === 'admin' && p.client_id === 'influx-bootstrap'
    && p.scope === 'openid profile email' && typeof p.jti === 'string', 'A: access token claims iss/aud/sub/client_id/scope/jti', p);
  check(p.exp - p.iat === AT_TTL, 'A: access token exp - iat = --access-token-ttl', p.exp - p.iat);
  const idA = decodeJwt(tokA.id_token);
  check(verifyRs256(tokA.id_token, jwks) && idA.header.alg === 'RS256', 'A: id_token is RS256 and verifies');
  check(idA.payload.iss === issuer && idA.payload.aud === 'influx-bootstrap' && idA.payload.sub === 'admin'
    && idA.payload.name === 'Ada Admin' && idA.payload.email === 'ada@example.test' && idA.payload.email_verified === true, 'A: id_token claims', idA.payload);
  check(idA.payload.exp - idA.payload.iat === 3600, 'A: id_token lifetime = default --id-token-ttl 3600', idA.payload.exp - idA.payload.iat);

  r = await poll('influx-bootstrap', A.device_code);
  check(r.status === 400 && r.body.error === 'slow_down', 'A: another poll right away is still rate limited (slow_down)', r.body);
  expected.slow_down += 1;

  const introspected = await postForm('/token/introspection', { client_id: 'influx-bootstrap', token: tokA.refresh_token }, 'introspection');
  check(introspected.status === 200 && introspected.body.active === true && introspected.body.sub === 'admin', 'A: refresh token introspects active', introspected.body);

  r = await refresh('influx-bootstrap', tokA.refresh_token);
  const tokA2 = r.body;
  check(r.status === 200 && typeof tokA2.access_token === 'string' && typeof tokA2.id_token === 'string', 'A: refresh -> 200 with new access and id token', r.body);
  check(typeof tokA2.refresh_token === 'string' && tokA2.refresh_token !== tokA.refresh_token, 'A: refresh token rotated');
  check(decodeJwt(tokA2.access_token).payload.aud === AUDIENCE, 'A: refreshed access token has the same audience');
  r = await refresh('influx-bootstrap-2', tokA2.refresh_token);
  check(r.status === 400 && r.body.error === 'invalid_grant', 'A: refresh token of client 1 rejected for client 2 (invalid_grant)', r.body);
  r = await refresh('influx-bootstrap', tokA.refresh_token);
  check(r.status === 400 && r.body.error === 'invalid_grant', 'A: reusing the consumed refresh token -> invalid_grant', r.body);
  const afterReuse = await postForm('/token/introspection', { client_id: 'influx-bootstrap', token: tokA2.refresh_token }, 'introspection');
  check(afterReuse.status === 200 && afterReuse.body.active === false, 'A: reuse revoked the grant (rotated refresh token now inactive)', afterReuse.body);
  r = await refresh('influx-bootstrap', tokA2.refresh_token);
  check(r.status === 400 && r.body.error === 'invalid_grant', 'A: rotated refresh token no longer works', r.body);

  const me = await fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${tokA2.access_token}` } });
  expected.userinfo += 1;
  check(me.status === 401, 'userinfo rejects the audience-bound JWT access token (401; counted)', me.status);

  // --- B: client 2, viewer, explicit resource, client isolation, revocation --------------
  const badTarget = await deviceAuth('influx-bootstrap-2', { resource: 'https://other.example.test' });
  check(badTarget.status === 400 && badTarget.body.error === 'invalid_target', 'B: device authorization with a foreign resource -> invalid_target', badTarget.body);
  const b = await deviceAuth('influx-bootstrap-2', { scope: 'openid email', resource: AUDIENCE });
  const B = b.body;
  check(b.status === 200 && B.interval === INTERVAL, 'B: device authorization with resource=audience -> 200', b.body);
  const approvedB = await postJson('/__test/approve', { user_code: B.user_code, user: 'viewer' });
  check(approvedB.status === 200 && approvedB.body.ok === true, 'B: /__test/approve as viewer -> ok', approvedB.body);
  const again = await postJson('/__test/approve', { user_code: B.user_code, user: 'viewer' });
  check(again.status === 500 && /already_used/.test(again.body.error), 'B: approving twice -> 500 already_used', again.body);
  await sleep(WAIT_MS);
  r = await poll('influx-bootstrap', B.device_code);
  check(r.status === 400 && r.body.error === 'invalid_grant', "B: client 1 cannot redeem client 2's device code (invalid_grant)", r.body);
  await sleep(WAIT_MS);
  r = await poll('influx-bootstrap-2', B.device_code);
  const tokB = r.body;
  check(r.status === 200 && typeof tokB.refresh_token === 'string', 'B: poll -> tokens', r.body);
  const atB = decodeJwt(tokB.access_token).payload;
  const idB = decodeJwt(tokB.id_token).payload;
  check(atB.sub === 'viewer' && atB.client_id === 'influx-bootstrap-2' && atB.aud === AUDIENCE && atB.scope === 'openid email', 'B: access token claims', atB);
  check(idB.sub === 'viewer' && idB.aud === 'influx-bootstrap-2' && idB.email === 'vic@example.test' && idB.name === undefined, 'B: id_token claims follow the scopes (email, no name)', idB);
  const revoked = await postForm('/token/revocation', { client_id: 'influx-bootstrap-2', token: tokB.refresh_token, token_type_hint: 'refresh_token' }, 'revocation');
  check(revoked.status === 200, 'B: revocation -> 200', revoked);
  r = await refresh('influx-bootstrap-2', tokB.refresh_token);
  check(r.status === 400 && r.body.error === 'invalid_grant', 'B: revoked refresh token -> invalid_grant', r.body);

  // --- C: denial; D: expiry (run side by side) --------------------------------------------
  const D = (await deviceAuth('influx-bootstrap')).body;
  const dIssued = Date.now();
  const C = (await deviceAuth('influx-bootstrap')).body;
  stats = (await getJson('/__test/stats')).body;
  check(stats.pending_user_codes.includes(C.user_code) && stats.pending_user_codes.includes(D.user_code), 'stats: C and D pending', stats.pending_user_codes);
  const denied = await postJson('/__test/deny', { user_code: C.user_code });
  check(denied.status === 200 && denied.body.ok === true, 'C: /__test/deny -> ok', denied.body);
  stats = (await getJson('/__test/stats')).body;
  check(!stats.pending_user_codes.includes(C.user_code) && stats.pending_user_codes.includes(D.user_code), 'stats: C no longer pending, D still pending', stats.pending_user_codes);
  await sleep(WAIT_MS);
  r = await poll('influx-bootstrap', C.device_code);
  check(r.status === 400 && r.body.error === 'access_denied', 'C: poll after denial -> access_denied', r.body);
  const approveDenied = await postJson('/__test/approve', { user_code: C.user_code, user: 'admin' });
  check(approveDenied.status === 500 && approveDenied.body.ok === false, 'C: approving a denied code -> 500', approveDenied.body);

  await sleep(Math.max(0, dIssued + CODE_TTL * 1000 + 300 - Date.now()));
  r = await poll('influx-bootstrap', D.device_code);
  check(r.status === 400 && r.body.error === 'expired_token', 'D: poll after --code-ttl -> expired_token', r.body);
  const approveExpired = await postJson('/__test/approve', { user_code: D.user_code, user: 'admin' });
  check(approveExpired.status === 500 && /expired/.test(approveExpired.body.error), 'D: approving an expired code -> 500 expired', approveExpired.body);
  stats = (await getJson('/__test/stats')).body;
  check(!stats.pending_user_codes.includes(D.user_code), 'stats: expired D no longer pending', stats.pending_user_codes);

  // --- stats -------------------------------------------------------------------------------
  const { pending_user_codes: pendingNow, ...counters } = stats;
  check(JSON.stringify(counters) === JSON.stringify(expected), 'stats: counters match the requests made', { got: counters, expected });
  check(Array.isArray(pendingNow) && pendingNow.length === 0, 'stats: nothing pending at the end', pendingNow);
  const reset = await postJson('/__test/reset-stats', {});
  stats = (await getJson('/__test/stats')).body;
  check(reset.body.ok === true && Object.entries(stats).every(([k, v]) => k === 'pending_user_codes' || v === 0), 'reset-stats zeroes the counters', stats);

  // --- logging and stdout hygiene ----------------------------------------------------------
  const log = srv.stderr();
  check(/POST \/token 400 grant_type=urn:ietf:params:oauth:grant-type:device_code \(slow_down\)/.test(log), '--log: token requests logged with grant_type');
  const secrets = [A.device_code, A.user_code, tokA.access_token, tokA.refresh_token, tokA.id_token];
  check(secrets.every((s) => !log.includes(s)), '--log: no codes or tokens in the log');
  check(srv.stdout().split('\n').filter(Boolean).length === 1, 'stdout: exactly one line');

  // --- shutdown ------------------------------------------------------------------------------
  srv.child.kill('SIGTERM');
  const exitTerm = await Promise.race([srv.exited, sleep(3000).then(() => 'timeout')]);
  check(exitTerm !== 'timeout' && exitTerm.code === 0, 'SIGTERM: clean exit (status 0)', exitTerm);

  const srv2 = startServer([]);
  await srv2.ready;
  srv2.child.stdin.end();
  const exitEof = await Promise.race([srv2.exited, sleep(3000).then(() => 'timeout')]);
  check(exitEof !== 'timeout' && exitEof.code === 0, 'stdin closed: exits (status 0)', exitEof);
  if (exitEof === 'timeout') srv2.child.kill('SIGKILL');

  if (failed) {
    console.log('--- server stderr ---');
    console.log(log);
  }
}

try {
  await main();
} catch (err) {
  failed += 1;
  console.log(`FAIL [${elapsed()}] selftest aborted: ${err.stack || err}`);
}
console.log(`selftest took ${elapsed()}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
