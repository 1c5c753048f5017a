#!/usr/bin/env node
// Local OpenID provider fixture for the influx-bootstrap end-to-end tests.
//
// Built on oidc-provider 8.8.1 (see package.json). Run `node tests/idp/server.mjs --help`
// for the options; README.md in this directory describes the routes and how the Rust tests
// drive it.
//
// stdout carries exactly one line, the JSON "ready" line. Everything else (oidc-provider's
// notices, --log request lines, errors) goes to stderr.

import * as crypto from 'node:crypto';
import * as http from 'node:http';
import process from 'node:process';

import Provider, { errors as oidcErrors, interactionPolicy } from 'oidc-provider';

// ---------------------------------------------------------------------------------------------
// Keep stdout clean: oidc-provider prints its "NOTICE" lines with console.info (stdout).
// ---------------------------------------------------------------------------------------------

const realStdoutWrite = process.stdout.write.bind(process.stdout);
let verbose = false;
const toStderr = (...args) => {
  const first = typeof args[0] === 'string' ? args[0] : '';
  // Notices about default helpers are noise for a fixture; show them only with --log.
  if (!verbose && first.startsWith('oidc-provider NOTICE')) return;
  // The /token wrapper hands oidc-provider an already-read body (see handleToken); this is expected.
  if (first.includes('already parsed request body detected')) return;
  process.stderr.write(`${args.map((a) => (typeof a === 'string' ? a : String(a))).join(' ')}\n`);
};
console.log = toStderr; // eslint-disable-line no-console
console.info = toStderr; // eslint-disable-line no-console
console.debug = toStderr; // eslint-disable-line no-console
console.warn = toStderr; // eslint-disable-line no-console

// ---------------------------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------------------------

const USAGE = `usage: node tests/idp/server.mjs [options]

  --port N                 port on 127.0.0.1 (default 0 = any free port)
  --interval N             "interval" (seconds) in device authorization responses (default 5)
  --enforce-interval N     answer slow_down to a device_code poll arriving sooner than N s after
                           the previous poll of that code (first poll: after issuance);
                           default = --interval, 0 disables
  --code-ttl N             device code lifetime in seconds (default 600)
  --access-token-ttl N     access token lifetime in seconds (default 3600)
  --id-token-ttl N         ID token lifetime in seconds (default 3600)
  --refresh-token-ttl N    refresh token lifetime in seconds (default 86400)
  --audience URI           resource / "aud" of the JWT access tokens
                           (default https://cluster.example.test)
  --log                    one line per request on stderr (method, path, status, grant_type)
  --no-stdin-exit          do not exit when stdin closes (for running by hand with stdin
                           redirected from /dev/null; by default stdin EOF = parent gone = exit)
  --help                   this text

Prints {"issuer":"http://127.0.0.1:PORT","port":PORT} on stdout once listening.
`;

function parseArgs(argv) {
  const opts = {
    port: 0,
    interval: 5,
    enforceInterval: undefined,
    codeTtl: 600,
    accessTokenTtl: 3600,
    idTokenTtl: 3600,
    refreshTokenTtl: 86400,
    audience: 'https://cluster.example.test',
    log: false,
    stdinExit: true,
  };
  const numeric = {
    '--port': ['port', 0, 65535],
    '--interval': ['interval', 0, 86400],
    '--enforce-interval': ['enforceInterval', 0, 86400],
    '--code-ttl': ['codeTtl', 1, 10 * 365 * 86400],
    '--access-token-ttl': ['accessTokenTtl', 1, 10 * 365 * 86400],
    '--id-token-ttl': ['idTokenTtl', 1, 10 * 365 * 86400],
    '--refresh-token-ttl': ['refreshTokenTtl', 1, 10 * 365 * 86400],
  };
  const fail = (msg) => {
    process.stderr.write(`server.mjs: ${msg}\n\n${USAGE}`);
    process.exit(2);
  };

  for (let i = 0; i < argv.length; i += 1) {
    let arg = argv[i];
    let value;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq !== -1) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const takeValue = () => {
      if (value !== undefined) return value;
      i += 1;
      if (i >= argv.length) fail(`${arg} needs a value`);
      return argv[i];
    };

    if (arg === '--help' || arg === '-h') {
      process.stderr.write(USAGE);
      process.exit(0);
    } else if (arg === '--log') {
      opts.log = true;
    } else if (arg === '--no-stdin-exit') {
      opts.stdinExit = false;
    } else if (arg === '--audience') {
      const v = takeValue();
      try {
        // eslint-disable-next-line no-new
        new URL(v);
      } catch {
        fail(`--audience must be an absolute URI, got ${JSON.stringify(v)}`);
      }
      opts.audience = v;
    } else if (numeric[arg]) {
      const [key, min, max] = numeric[arg];
      const v = takeValue();
      if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
        fail(`${arg} must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
      }
      opts[key] = Number(v);
    } else {
      fail(`unknown argument ${JSON.stringify(argv[i])}`);
    }
  }
  if (opts.enforceInterval === undefined) opts.enforceInterval = opts.interval;
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
verbose = opts.log;

const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const CLIENT_IDS = ['influx-bootstrap', 'influx-bootstrap-2'];
const OIDC_SCOPES = ['openid', 'profile', 'email', 'offline_access'];
const USER_CODE_MASK = '****-****';
const SLOW_DOWN_SLACK_MS = 100;

const ACCOUNTS = {
  admin: {
    sub: 'admin', name: 'Ada Admin', email: 'ada@example.test', email_verified: true,
  },
  viewer: {
    sub: 'viewer', name: 'Vic Viewer', email: 'vic@example.test', email_verified: true,
  },
};

// ---------------------------------------------------------------------------------------------
// Counters and device-code poll bookkeeping
// ---------------------------------------------------------------------------------------------

const COUNTER_NAMES = [
  'discovery', 'device_authorization', 'token_device_code', 'token_refresh', 'slow_down',
  'revocation', 'introspection', 'jwks', 'userinfo', 'token_client_credentials',
];
const counters = Object.fromEntries(COUNTER_NAMES.map((n) => [n, 0]));

// device_code -> time (ms) of the last poll, initialised with the issuance time.
const lastPoll = new Map();

// How many of the next device_code polls get slow_down whatever their timing
// (POST /__test/slow-down), so a test need not race the clock to provoke one.
let forcedSlowDowns = 0;

// ---------------------------------------------------------------------------------------------
// Adapter: a Map that never forgets expired entries.
//
// oidc-provider's models check `exp` themselves (and the device_code grant looks the code up
// with ignoreExpiration so it can answer expired_token). The stock memory adapter drops expired
// entries, which turns expired_token into invalid_grant; this one keeps them for the lifetime
// of the process (a test fixture lives for seconds to minutes).
// ---------------------------------------------------------------------------------------------

const store = new Map(); // `${model}:${id}` -> { payload, expiresAt (ms) }
const sessionUids = new Map(); // session uid -> session id
const userCodes = new Map(); // normalized user code -> device code id

const GRANTABLE = new Set([
  'AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest',
]);

class KeepExpiredAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const copy = structuredClone(payload);
    store.set(this.key(id), {
      payload: copy,
      expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : undefined,
    });
    if (this.model === 'Session' && copy.uid) sessionUids.set(copy.uid, id);
    if (copy.userCode) userCodes.set(copy.userCode, id);
  }

  async find(id) {
    const entry = store.get(this.key(id));
    return entry ? structuredClone(entry.payload) : undefined;
  }

  async findByUid(uid) {
    const id = sessionUids.get(uid);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode(userCode) {
    const id = userCodes.get(userCode);
    return id === undefined ? undefined : this.find(id);
  }

  async consume(id) {
    const entry = store.get(this.key(id));
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    store.delete(this.key(id));
  }

  // eslint-disable-next-line class-methods-use-this
  async revokeByGrantId(grantId) {
    for (const [key, entry] of store) {
      const model = key.slice(0, key.indexOf(':'));
      if (GRANTABLE.has(model) && entry.payload.grantId === grantId) store.delete(key);
    }
  }
}

function formatUserCode(normalized) {
  const chars = normalized.split('');
  return USER_CODE_MASK.split('').map((c) => (c === '*' ? chars.shift() : c)).join('');
}

function pendingUserCodes() {
  const now = Date.now();
  const out = [];
  for (const [key, { payload }] of store) {
    if (key.startsWith('DeviceCode:')
      && !payload.accountId && !payload.error && !payload.consumed
      && typeof payload.exp === 'number' && payload.exp * 1000 > now) {
      out.push(formatUserCode(payload.userCode));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Small HTML helpers (pages carry data-page / data-error markers for the /__test drivers)
// ---------------------------------------------------------------------------------------------

function esc(value) {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function page(title, pageName, body, errorCode = '') {
  return `<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>${esc(title)}</title></head>
<body data-page="${esc(pageName)}" data-error="${esc(errorCode)}">
<h1>${esc(title)}</h1>
${body}
</body>
</html>`;
}

const RERENDER_CODES = {
  NotFoundError: ['not_found', 'The code you entered is incorrect. Try again.'],
  ExpiredError: ['expired', 'The code you entered has expired.'],
  AlreadyUsedError: ['already_used', 'The code you entered has already been used.'],
  NoCodeError: ['no_code', 'Enter the code displayed on your device.'],
  AbortedError: ['aborted', 'The Sign-in request was interrupted.'],
};

// ---------------------------------------------------------------------------------------------
// Provider configuration
// ---------------------------------------------------------------------------------------------

function makeJwks() {
  const { privateKey: rsa } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const { privateKey: ec } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const suffix = crypto.randomBytes(4).toString('hex');
  return {
    keys: [
      // First RSA key = the default for RS256 (ID tokens and JWT access tokens).
      {
        ...rsa.export({ format: 'jwk' }), kid: `rs256-${suffix}`, alg: 'RS256', use: 'sig',
      },
      {
        ...ec.export({ format: 'jwk' }), kid: `es256-${suffix}`, alg: 'ES256', use: 'sig',
      },
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// Workload clients (client credentials grant, RFC 6749 §4.4; issue 20). Keys and secrets are
// made per process; GET /__test/workload hands them to the test, which writes them to files the
// way an operator (secret, key) or a platform (assertion) would.
//
//   workload-secret    client_secret_basic
//   workload-jwt       private_key_jwt with the RSA or the EC key below (RFC 7523 §2.2)
//   workload-platform  private_key_jwt whose assertions the "platform" signs: POST
//                      /__test/platform-token returns one, as a Kubernetes projected
//                      service-account token or a CI OIDC token would be written to a file.
//                      oidc-provider takes only iss = sub = client_id (a federating provider such
//                      as Entra ID or Keycloak maps the platform's own iss/sub instead).
//   workload-device    a confidential client without the client credentials grant
//                      (unauthorized_client)
// ---------------------------------------------------------------------------------------------

function keyPairPem(type, options) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync(type, options);
  return {
    privateKey,
    pem: privateKey.export({ type: 'pkcs8', format: 'pem' }),
    jwk: publicKey.export({ format: 'jwk' }),
  };
}

const WORKLOAD = (() => {
  const rsa = keyPairPem('rsa', { modulusLength: 2048 });
  const ec = keyPairPem('ec', { namedCurve: 'P-256' });
  const platform = keyPairPem('rsa', { modulusLength: 2048 });
  return {
    secret: crypto.randomBytes(24).toString('base64url'),
    rsa,
    ec,
    platform,
  };
})();

function workloadClients() {
  const base = {
    application_type: 'web',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
  };
  return [
    {
      ...base, client_id: 'workload-secret', client_secret: WORKLOAD.secret, token_endpoint_auth_method: 'client_secret_basic',
    },
    {
      ...base,
      client_id: 'workload-jwt',
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [{ ...WORKLOAD.rsa.jwk, use: 'sig' }, { ...WORKLOAD.ec.jwk, use: 'sig' }] },
    },
    {
      ...base,
      client_id: 'workload-platform',
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [{ ...WORKLOAD.platform.jwk, use: 'sig', alg: 'RS256' }] },
    },
    {
      ...base,
      client_id: 'workload-device',
      client_secret: WORKLOAD.secret,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: [DEVICE_CODE_GRANT],
    },
  ];
}

function b64url(data) {
  return Buffer.from(data).toString('base64url');
}

// A client assertion as the platform would write it: RS256, iss = sub = workload-platform.
function platformToken(issuer, { aud, expIn = 600, iatOffset = 0 }) {
  const now = Math.floor(Date.now() / 1000) + iatOffset;
  const header = { alg: 'RS256', typ: 'JWT' };
  const payload = {
    iss: 'workload-platform',
    sub: 'workload-platform',
    aud: aud ?? `${issuer}/token`,
    jti: crypto.randomUUID(),
    iat: now,
    exp: now + expIn,
  };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const signature = crypto.sign('sha256', Buffer.from(input), WORKLOAD.platform.privateKey);
  return `${input}.${signature.toString('base64url')}`;
}

function makePolicy() {
  const policy = interactionPolicy.base();
  // The stock policy always asks native clients for consent (native_client_prompt). These are
  // first-party test clients: skip that; loadExistingGrant below pre-grants everything else.
  policy.get('consent').checks.remove('native_client_prompt');
  return policy;
}

const resourceServerInfo = {
  scope: OIDC_SCOPES.join(' '),
  audience: opts.audience,
  accessTokenFormat: 'jwt',
  accessTokenTTL: opts.accessTokenTtl,
  jwt: { sign: { alg: 'RS256' } },
};

function providerConfiguration() {
  return {
    adapter: KeepExpiredAdapter,
    jwks: makeJwks(),
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    clients: [
      ...CLIENT_IDS.map((clientId) => ({
        client_id: clientId,
        client_name: clientId,
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        grant_types: [DEVICE_CODE_GRANT, 'refresh_token'],
        response_types: [],
        redirect_uris: [],
      })),
      ...workloadClients(),
    ],
    scopes: OIDC_SCOPES,
    claims: {
      openid: ['sub'],
      profile: ['name'],
      email: ['email', 'email_verified'],
    },
    async findAccount(ctx, sub) {
      const account = ACCOUNTS[sub];
      if (!account) return undefined;
      return {
        accountId: sub,
        async claims() {
          return { ...account };
        },
      };
    },
    interactions: {
      policy: makePolicy(),
      url: (ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    // Pre-establish the grant (all requested OIDC scopes/claims and resource scopes) so that the
    // consent prompt never triggers for these clients.
    async loadExistingGrant(ctx) {
      const { client, session, account } = ctx.oidc;
      const grantId = ctx.oidc.result?.consent?.grantId || session.grantIdFor(client.clientId);
      let grant = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
      if (grant && grant.accountId !== account.accountId) grant = undefined;
      if (!grant) {
        grant = new ctx.oidc.provider.Grant({
          clientId: client.clientId,
          accountId: account.accountId,
        });
      }
      const oidcScopes = [...ctx.oidc.requestParamOIDCScopes];
      if (oidcScopes.length) grant.addOIDCScope(oidcScopes.join(' '));
      const claims = [...ctx.oidc.requestParamClaims];
      if (claims.length) grant.addOIDCClaims(claims);
      const requested = [...ctx.oidc.requestParamScopes];
      for (const [indicator, resourceServer] of Object.entries(ctx.oidc.resourceServers || {})) {
        const rsScopes = requested.filter((s) => resourceServer.scopes.has(s));
        if (rsScopes.length) grant.addResourceScope(indicator, rsScopes.join(' '));
      }
      await grant.save();
      return grant;
    },
    // Refresh tokens for every device-code grant of a client allowed to refresh (even without
    // offline_access), and they don't die with the browser session used to approve.
    async issueRefreshToken(ctx, client) {
      return client.grantTypeAllowed('refresh_token');
    },
    async expiresWithSession() {
      return false;
    },
    rotateRefreshToken: true,
    ttl: {
      AccessToken: (ctx, token) => token.resourceServer?.accessTokenTTL || opts.accessTokenTtl,
      AuthorizationCode: 60,
      DeviceCode: opts.codeTtl,
      IdToken: opts.idTokenTtl,
      RefreshToken: opts.refreshTokenTtl,
      Grant: Math.max(opts.refreshTokenTtl * 2, 14 * 86400),
      Interaction: 3600,
      Session: 14 * 86400,
    },
    clientBasedCORS: () => true,
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = page('Error', 'error', `<p class="error">${esc(out.error)}: ${esc(out.error_description)}</p>`, out.error);
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      revocation: { enabled: true },
      introspection: {
        enabled: true,
        // same as the default: public clients may only introspect their own tokens
        async allowedPolicy(ctx, client, token) {
          return !(client.clientAuthMethod === 'none' && token.clientId !== ctx.oidc.client.clientId);
        },
      },
      userinfo: { enabled: true },
      resourceIndicators: {
        enabled: true,
        async defaultResource(ctx, client, oneOf) {
          if (oneOf) return oneOf.includes(opts.audience) ? opts.audience : oneOf[0];
          return opts.audience;
        },
        async useGrantedResource() {
          return true;
        },
        async getResourceServerInfo(ctx, resourceIndicator) {
          if (resourceIndicator === opts.audience) return resourceServerInfo;
          throw new oidcErrors.InvalidTarget(`unknown resource ${resourceIndicator}`);
        },
      },
      deviceFlow: {
        enabled: true,
        charset: 'base-20',
        mask: USER_CODE_MASK,
        async userCodeInputSource(ctx, form, out, err) {
          let code = '';
          let msg = 'Enter the code displayed on your device.';
          if (err) {
            [code, msg] = RERENDER_CODES[err.name]
              || ['error', `There was an error processing your request${out?.error ? ` (${out.error})` : ''}.`];
          }
          ctx.body = page('Sign-in', 'device-input', `<p class="msg">${esc(msg)}</p>
${form}
<button type="submit" form="op.deviceInputForm">Continue</button>`, code);
        },
        async userCodeConfirmSource(ctx, form, client, deviceInfo, userCode) {
          ctx.body = page('Confirm Device', 'device-confirm', `<p><strong>${esc(client.clientName || client.clientId)}</strong> is asking for access.</p>
<p>The following code should be displayed on your device: <code class="user-code">${esc(userCode)}</code></p>
${form}
<button type="submit" form="op.deviceConfirmForm">Continue</button>
<button type="submit" form="op.deviceConfirmForm" value="yes" name="abort">Abort</button>`);
        },
        async successSource(ctx) {
          const { clientId, clientName } = ctx.oidc.client;
          ctx.body = page('Sign-in Success', 'device-success', `<p>Your sign-in with ${esc(clientName || clientId)} was successful, you can now close this page.</p>`);
        },
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// HTTP plumbing
// ---------------------------------------------------------------------------------------------

const MAX_BODY = 64 * 1024;

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(Object.assign(new Error('request body too large'), { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendJson(res, status, obj, extraHeaders = {}) {
  const body = JSON.stringify(obj);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(body),
    ...extraHeaders,
  });
  res.end(body);
}

// The body of a POST to a test route: JSON, or empty for `{}`. Anything else
// (another method, a body that is not JSON) is answered here (405 / 400) and
// yields `undefined`, so each route reads its body in one line.
async function postedJson(req, res) {
  if (req.method !== 'POST') {
    sendJson(res, 405, { ok: false, error: 'use POST' });
    return undefined;
  }
  try {
    const raw = (await readBody(req)).toString('utf8');
    return raw.trim() ? JSON.parse(raw) : {};
  } catch (err) {
    sendJson(res, 400, { ok: false, error: `request body must be JSON: ${err.message}` });
    return undefined;
  }
}

function sendHtml(res, status, html) {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(html),
  });
  res.end(html);
}

// ---------------------------------------------------------------------------------------------
// Interaction routes (login page; consent page only as a fallback, it should never show)
// ---------------------------------------------------------------------------------------------

function loginPage(uid, params, errorMsg) {
  return page('Sign-in', 'login', `${errorMsg ? `<p class="error">${esc(errorMsg)}</p>` : ''}
<p>Client: <strong>${esc(params.client_id)}</strong>. Known users: ${Object.keys(ACCOUNTS).map(esc).join(', ')} (any password).</p>
<form id="login-form" autocomplete="off" action="/interaction/${esc(uid)}/login" method="post">
  <input required type="text" name="login" placeholder="user name" autofocus>
  <input required type="password" name="password" placeholder="password">
  <button type="submit">Sign-in</button>
</form>
<form id="abort-form" action="/interaction/${esc(uid)}/abort" method="post"><button type="submit">Cancel</button></form>`, errorMsg ? 'invalid_login' : '');
}

function consentPage(uid, params) {
  return page('Authorize', 'consent', `<p>Client <strong>${esc(params.client_id)}</strong> requests: ${esc(params.scope)}</p>
<form id="consent-form" autocomplete="off" action="/interaction/${esc(uid)}/confirm" method="post">
  <input type="hidden" name="prompt" value="consent">
  <button type="submit">Continue</button>
</form>
<form id="abort-form" action="/interaction/${esc(uid)}/abort" method="post"><button type="submit">Cancel</button></form>`);
}

async function handleInteraction(provider, req, res, path) {
  const m = /^\/interaction\/([^/]+)(?:\/(login|confirm|abort))?\/?$/.exec(path);
  if (!m) return sendHtml(res, 404, page('Not Found', 'error', '<p>no such interaction route</p>', 'not_found'));
  const [, uid, action] = m;

  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (err) {
    return sendHtml(res, 400, page('Error', 'error', `<p class="error">interaction session not found: ${esc(err.message)}</p>`, 'interaction_not_found'));
  }
  if (details.uid !== uid) {
    return sendHtml(res, 400, page('Error', 'error', '<p class="error">interaction uid mismatch</p>', 'interaction_mismatch'));
  }
  const { prompt, params } = details;

  if (!action) {
    if (req.method !== 'GET') return sendHtml(res, 405, page('Method Not Allowed', 'error', '', 'method_not_allowed'));
    if (prompt.name === 'login') return sendHtml(res, 200, loginPage(uid, params));
    if (prompt.name === 'consent') return sendHtml(res, 200, consentPage(uid, params));
    return sendHtml(res, 501, page('Error', 'error', `<p>prompt ${esc(prompt.name)} not implemented</p>`, 'not_implemented'));
  }

  if (action === 'abort') {
    return provider.interactionFinished(req, res, {
      error: 'access_denied',
      error_description: 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
  }

  if (req.method !== 'POST') return sendHtml(res, 405, page('Method Not Allowed', 'error', '', 'method_not_allowed'));
  const form = new URLSearchParams((await readBody(req)).toString('utf8'));

  if (action === 'login') {
    if (prompt.name !== 'login') {
      return sendHtml(res, 400, page('Error', 'error', `<p>expected prompt login, got ${esc(prompt.name)}</p>`, 'wrong_prompt'));
    }
    const login = (form.get('login') || '').trim();
    if (!Object.hasOwn(ACCOUNTS, login) || !form.get('password')) {
      return sendHtml(res, 200, loginPage(uid, params, `unknown user ${JSON.stringify(login)} or empty password`));
    }
    return provider.interactionFinished(req, res, {
      login: { accountId: login },
    }, { mergeWithLastSubmission: false });
  }

  // action === 'confirm' (consent fallback, mirrors oidc-provider's dev interactions)
  if (prompt.name !== 'consent') {
    return sendHtml(res, 400, page('Error', 'error', `<p>expected prompt consent, got ${esc(prompt.name)}</p>`, 'wrong_prompt'));
  }
  const { details: missing } = prompt;
  let grant;
  if (details.grantId) {
    grant = await provider.Grant.find(details.grantId);
  } else {
    grant = new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
  }
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  if (missing.missingResourceScopes) {
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes)) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
  }
  return provider.interactionFinished(req, res, {
    consent: { grantId: await grant.save() },
  }, { mergeWithLastSubmission: true });
}

// ---------------------------------------------------------------------------------------------
// /__test/approve and /__test/deny: drive the provider's own device pages over HTTP
// ---------------------------------------------------------------------------------------------

class CookieJar {
  constructor() {
    this.cookies = new Map(); // `${name};${path}` -> { name, value, path }
  }

  store(response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq === -1) continue; // eslint-disable-line no-continue
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let path = '/';
      let expired = value === '';
      for (const attr of attrs) {
        const [k, ...rest] = attr.split('=');
        const key = k.trim().toLowerCase();
        const v = rest.join('=').trim();
        if (key === 'path' && v) path = v;
        if (key === 'expires' && Date.parse(v) <= Date.now()) expired = true;
        if (key === 'max-age' && Number(v) <= 0) expired = true;
      }
      const id = `${name};${path}`;
      if (expired) this.cookies.delete(id);
      else this.cookies.set(id, { name, value, path });
    }
  }

  header(url) {
    const { pathname } = new URL(url);
    return [...this.cookies.values()]
      .filter(({ path }) => pathname === path || pathname.startsWith(path.endsWith('/') ? path : `${path}/`))
      .map(({ name, value }) => `${name}=${value}`)
      .join('; ');
  }
}

function decodeEntities(s) {
  return s
    .replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(Number(d)))
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function parseAttrs(s) {
  const attrs = {};
  for (const m of s.matchAll(/([a-zA-Z_:.-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g)) {
    attrs[m[1].toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return attrs;
}

// Returns { action, method, fields } of the <form id="formId"> in html, or undefined.
function parseForm(html, formId) {
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attrs = parseAttrs(m[1]);
    if (attrs.id !== formId) continue; // eslint-disable-line no-continue
    const fields = {};
    for (const input of m[2].matchAll(/<input\b([^>]*)>/gi)) {
      const a = parseAttrs(input[1]);
      if (a.name) fields[a.name] = a.value ?? '';
    }
    return { action: attrs.action, method: (attrs.method || 'get').toUpperCase(), fields };
  }
  return undefined;
}

function pageInfo(html) {
  const m = /<body\b([^>]*)>/i.exec(html);
  const attrs = m ? parseAttrs(m[1]) : {};
  const text = html.replace(/<head[\s\S]*?<\/head>/gi, '').replace(/<style[\s\S]*?<\/style>/gi, '').replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim();
  return { page: attrs['data-page'] || 'unknown', error: attrs['data-error'] || '', text: decodeEntities(text).slice(0, 300) };
}

class StepError extends Error {
  constructor(step, message) {
    super(`${step}: ${message}`);
    this.step = step;
  }
}

async function driveDevicePages(base, userCode, user, deny) {
  const jar = new CookieJar();
  const request = async (step, method, target, form) => {
    const url = new URL(target, base).href;
    const headers = {};
    const cookie = jar.header(url);
    if (cookie) headers.cookie = cookie;
    let body;
    if (form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(form).toString();
    }
    let response;
    try {
      response = await fetch(url, {
        method, headers, body, redirect: 'manual',
      });
    } catch (err) {
      throw new StepError(step, `${method} ${new URL(url).pathname} failed: ${err.message}`);
    }
    jar.store(response);
    const text = await response.text();
    return {
      status: response.status, location: response.headers.get('location'), text, url,
    };
  };
  const expectPage = (step, r, wanted) => {
    if (r.status !== 200) {
      throw new StepError(step, `expected HTTP 200 (${wanted} page), got ${r.status}${r.location ? ` -> ${new URL(r.location, r.url).pathname}` : ''}: ${pageInfo(r.text).text}`);
    }
    const info = pageInfo(r.text);
    if (info.page !== wanted || (info.error && info.page !== 'device-input')) {
      throw new StepError(step, `expected the ${wanted} page, got ${info.page}${info.error ? ` (error ${info.error})` : ''}: ${info.text}`);
    }
    return info;
  };

  // 1. the user code entry page
  const entry = await request('device page', 'GET', '/device');
  expectPage('device page', entry, 'device-input');
  const inputForm = parseForm(entry.text, 'op.deviceInputForm');
  if (!inputForm) throw new StepError('device page', 'user code form (op.deviceInputForm) not found');

  // 2. submit the user code -> confirmation page
  const submitted = await request('submit user code', inputForm.method, inputForm.action, {
    ...inputForm.fields, user_code: userCode,
  });
  const submittedInfo = pageInfo(submitted.text);
  if (submitted.status === 200 && submittedInfo.page === 'device-input' && submittedInfo.error) {
    throw new StepError('submit user code', `user code rejected (${submittedInfo.error}): ${submittedInfo.text}`);
  }
  expectPage('submit user code', submitted, 'device-confirm');
  const confirmForm = parseForm(submitted.text, 'op.deviceConfirmForm');
  if (!confirmForm) throw new StepError('confirm page', 'confirm form (op.deviceConfirmForm) not found');

  // 3a. deny: the "Abort" button submits the confirm form with abort=yes
  if (deny) {
    const aborted = await request('abort', confirmForm.method, confirmForm.action, {
      ...confirmForm.fields, abort: 'yes',
    });
    const info = pageInfo(aborted.text);
    if (aborted.status === 200 && info.page === 'device-input' && info.error === 'aborted') return;
    throw new StepError('abort', `expected the aborted page, got HTTP ${aborted.status} ${info.page}${info.error ? ` (error ${info.error})` : ''}: ${info.text}`);
  }

  // 3b. approve: confirm, then follow redirects through login (and consent, should it appear)
  let r = await request('confirm', confirmForm.method, confirmForm.action, confirmForm.fields);
  let step = 'confirm';
  const seen = [];
  for (let hops = 0; hops < 20; hops += 1) {
    if (r.status >= 300 && r.status < 400 && r.location) {
      step = `follow redirect to ${new URL(r.location, r.url).pathname}`;
      r = await request(step, 'GET', new URL(r.location, r.url).href);
      continue; // eslint-disable-line no-continue
    }
    if (r.status !== 200) {
      throw new StepError(step, `unexpected HTTP ${r.status}: ${pageInfo(r.text).text}`);
    }
    const info = pageInfo(r.text);
    seen.push(info.page);
    if (info.page === 'device-success') return;
    if (info.page === 'login') {
      if (info.error) throw new StepError('login', `login as ${JSON.stringify(user)} rejected: ${info.text}`);
      const loginForm = parseForm(r.text, 'login-form');
      if (!loginForm) throw new StepError('login', 'login form not found');
      step = 'login';
      r = await request(step, loginForm.method, loginForm.action, {
        ...loginForm.fields, login: user, password: 'test',
      });
      continue; // eslint-disable-line no-continue
    }
    if (info.page === 'consent') {
      const consentForm = parseForm(r.text, 'consent-form');
      if (!consentForm) throw new StepError('consent', 'consent form not found');
      step = 'consent';
      r = await request(step, consentForm.method, consentForm.action, consentForm.fields);
      continue; // eslint-disable-line no-continue
    }
    throw new StepError(step, `unexpected page ${info.page}${info.error ? ` (error ${info.error})` : ''}: ${info.text}`);
  }
  throw new StepError(step, `too many steps (pages seen: ${seen.join(', ')})`);
}

async function handleTestRoute(base, req, res, path) {
  if (path === '/__test/stats') {
    if (req.method !== 'GET') return sendJson(res, 405, { ok: false, error: 'use GET' });
    return sendJson(res, 200, { ...counters, pending_user_codes: pendingUserCodes() });
  }
  if (path === '/__test/workload') {
    if (req.method !== 'GET') return sendJson(res, 405, { ok: false, error: 'use GET' });
    return sendJson(res, 200, {
      secret: WORKLOAD.secret,
      rsa_pem: WORKLOAD.rsa.pem,
      ec_pem: WORKLOAD.ec.pem,
    });
  }
  if (path === '/__test/platform-token') {
    const body = await postedJson(req, res);
    if (body === undefined) return undefined;
    const expIn = Number.isInteger(body.exp_in) ? body.exp_in : 600;
    const iatOffset = Number.isInteger(body.iat_offset) ? body.iat_offset : 0;
    return sendJson(res, 200, { token: platformToken(base, { aud: body.aud, expIn, iatOffset }) });
  }
  if (path === '/__test/reset-stats') {
    if (req.method !== 'POST') return sendJson(res, 405, { ok: false, error: 'use POST' });
    for (const name of COUNTER_NAMES) counters[name] = 0;
    return sendJson(res, 200, { ok: true });
  }
  if (path === '/__test/slow-down') {
    const body = await postedJson(req, res);
    if (body === undefined) return undefined;
    const polls = body?.polls ?? 1;
    if (!Number.isInteger(polls) || polls < 0) {
      return sendJson(res, 400, { ok: false, error: 'polls must be a non-negative integer' });
    }
    forcedSlowDowns = polls;
    return sendJson(res, 200, { ok: true, polls });
  }
  if (path === '/__test/outage') {
    // Simulate the provider going away and coming back (same process, same
    // state): stop listening and drop idle keep-alive connections, so clients
    // get "connection refused"; listen again after `ms`, then answer this
    // request (its own connection stays open through the outage).
    const body = await postedJson(req, res);
    if (body === undefined) return undefined;
    const ms = Number.isFinite(body.ms) ? body.ms : 2000;
    const { port } = server.address();
    server.close();
    server.closeIdleConnections();
    setTimeout(() => {
      server.listen(port, '127.0.0.1', () => sendJson(res, 200, { ok: true, down_ms: ms }));
    }, ms);
    return undefined;
  }
  if (path === '/__test/approve' || path === '/__test/deny') {
    const body = await postedJson(req, res);
    if (body === undefined) return undefined;
    const userCode = typeof body?.user_code === 'string' ? body.user_code.trim() : '';
    if (!userCode) return sendJson(res, 400, { ok: false, error: 'user_code (string) is required' });
    const deny = path === '/__test/deny';
    const user = body.user ?? 'admin';
    if (!deny && (typeof user !== 'string' || !Object.hasOwn(ACCOUNTS, user))) {
      return sendJson(res, 400, { ok: false, error: `unknown user ${JSON.stringify(user)} (known: ${Object.keys(ACCOUNTS).join(', ')})` });
    }
    try {
      await driveDevicePages(base, userCode, user, deny);
      return sendJson(res, 200, { ok: true });
    } catch (err) {
      return sendJson(res, 500, { ok: false, step: err.step, error: err.message });
    }
  }
  return sendJson(res, 404, { ok: false, error: `no test route ${path}` });
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

const server = http.createServer();
server.keepAliveTimeout = 1000;

server.listen(opts.port, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, providerConfiguration());

  // Add `interval` to device authorization responses and remember when each code was issued.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.method === 'POST' && ctx.path === '/device/auth' && ctx.status === 200
      && ctx.body && typeof ctx.body === 'object' && ctx.body.device_code) {
      ctx.body.interval = opts.interval;
      lastPoll.set(ctx.body.device_code, Date.now());
    }
  });

  const providerCallback = provider.callback();

  async function handle(req, res) {
    const started = Date.now();
    const url = new URL(req.url, issuer);
    const path = url.pathname;
    const logInfo = { grantType: undefined, note: undefined };
    if (opts.log) {
      res.on('finish', () => {
        const extra = [
          logInfo.grantType ? `grant_type=${logInfo.grantType}` : '',
          logInfo.note || '',
        ].filter(Boolean).join(' ');
        process.stderr.write(`[idp] ${req.method} ${path} ${res.statusCode}${extra ? ` ${extra}` : ''} ${Date.now() - started}ms\n`);
      });
    }

    if (path.startsWith('/__test/')) return handleTestRoute(issuer, req, res, path);
    if (path === '/interaction' || path.startsWith('/interaction/')) {
      return handleInteraction(provider, req, res, path);
    }

    switch (path) {
      case '/.well-known/openid-configuration':
        counters.discovery += 1;
        break;
      case '/.well-known/oauth-authorization-server':
        // RFC 8414 location: same metadata as the OpenID discovery document.
        counters.discovery += 1;
        req.url = `/.well-known/openid-configuration${url.search}`;
        break;
      case '/device/auth': counters.device_authorization += 1; break;
      case '/token/revocation': counters.revocation += 1; break;
      case '/token/introspection': counters.introspection += 1; break;
      case '/jwks': counters.jwks += 1; break;
      case '/me': counters.userinfo += 1; break;
      case '/token':
        if (req.method === 'POST') {
          const body = await readBody(req);
          const params = new URLSearchParams(body.toString('utf8'));
          const grantType = params.get('grant_type');
          logInfo.grantType = grantType || '(none)';
          if (grantType === DEVICE_CODE_GRANT) {
            counters.token_device_code += 1;
            const deviceCode = params.get('device_code');
            const previous = deviceCode ? lastPoll.get(deviceCode) : undefined;
            if (previous !== undefined) {
              const now = Date.now();
              lastPoll.set(deviceCode, now);
              if (forcedSlowDowns > 0) {
                forcedSlowDowns -= 1;
                counters.slow_down += 1;
                logInfo.note = '(slow_down, forced)';
                return sendJson(res, 400, {
                  error: 'slow_down',
                  error_description: 'polling too fast (forced by POST /__test/slow-down)',
                }, { pragma: 'no-cache' });
              }
              if (opts.enforceInterval > 0
                && now < previous + opts.enforceInterval * 1000 - SLOW_DOWN_SLACK_MS) {
                counters.slow_down += 1;
                logInfo.note = '(slow_down)';
                return sendJson(res, 400, {
                  error: 'slow_down',
                  error_description: `polling too fast: wait at least ${opts.enforceInterval}s between polls of the same device_code (this one came after ${((now - previous) / 1000).toFixed(2)}s)`,
                }, { pragma: 'no-cache' });
              }
            }
          } else if (grantType === 'refresh_token') {
            counters.token_refresh += 1;
          } else if (grantType === 'client_credentials') {
            counters.token_client_credentials += 1;
          }
          // oidc-provider reads an already-consumed body from req.body.
          req.body = body;
        }
        break;
      default:
        break;
    }
    return providerCallback(req, res);
  }

  server.on('request', (req, res) => {
    handle(req, res).catch((err) => {
      process.stderr.write(`[idp] error handling ${req.method} ${req.url.split('?')[0]}: ${err.stack || err}\n`);
      if (!res.headersSent) sendJson(res, err.status || 500, { error: 'server_error', error_description: err.message });
      else res.destroy();
    });
  });

  realStdoutWrite(`${JSON.stringify({ issuer, port })}\n`);
});

server.on('error', (err) => {
  process.stderr.write(`server.mjs: ${err.message}\n`);
  process.exit(1);
});

function shutdown() {
  server.close();
  server.closeAllConnections?.();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
if (opts.stdinExit) {
  // stdin EOF means the parent (test harness) went away: don't linger as an orphan.
  process.stdin.on('end', shutdown);
  process.stdin.on('error', shutdown);
  process.stdin.resume();
}
