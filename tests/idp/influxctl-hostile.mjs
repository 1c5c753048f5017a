#!/usr/bin/env node
// A hostile `influxctl` for the hardening tests (tests/it/influxctl_hostile.rs, issue 19): it
// wraps the stand-in (influxctl-standin.mjs, which does the real work against the reference
// cluster) and misbehaves in one way, as the 2026-12-06 review's hostile programs did.
//
//   node influxctl-hostile.mjs MODE DIR [influxctl arguments...]
//
// DIR receives `pid` (this process's pid) and `grandchild.pid` (mode grandchild), so the tests
// can await and clean up what they started. Modes:
//   noprefix   `management list` without `token_prefix` (and `created_at`) in any entry
//   hang       `management list`/`create` never finish (prints "hostile: hanging" first)
//   grandchild works, then leaves a detached `sleep 300` holding stdout and stderr
//   splitleak  after `create`, prints the new token wrapped, split by an escape sequence and
//              a zero-width space, URL-encoded and base64-encoded on stderr
//   huge       `management list` prints a valid `[]` followed by 24 MiB of spaces
//   badutf8    writes the bytes 66 ff fe 0a to stderr before the stand-in's output
//   twodocs    a JSON log line on stdout before the document
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import process from 'node:process';

const [mode, dir, ...args] = process.argv.slice(2);
fs.writeFileSync(path.join(dir, 'pid'), `${process.pid}\n`);
const standin = path.join(path.dirname(new URL(import.meta.url).pathname), 'influxctl-standin.mjs');
const sub = args.filter((a, i) => !['--config', '--profile'].includes(args[i - 1]) && !a.startsWith('--'));
const verb = sub[1];

if (mode === 'hang' && (verb === 'list' || verb === 'create')) {
  process.stderr.write('hostile: hanging\n');
  setInterval(() => {}, 1000);
} else {
  if (mode === 'badutf8') process.stderr.write(Buffer.from([0x66, 0xff, 0xfe, 0x0a]));
  const r = spawnSync(process.execPath, [standin, ...args], { maxBuffer: 1 << 30 });
  let out = r.stdout.toString();
  let err = r.stderr.toString();
  if (mode === 'noprefix' && verb === 'list' && r.status === 0) {
    const all = JSON.parse(out);
    for (const t of all) {
      delete t.token_prefix;
    }
    out = `${JSON.stringify(all, null, 2)}\n`;
  }
  if (mode === 'twodocs' && r.status === 0) {
    out = `{"level":"info","msg":"talking to the cluster"}\n${out}`;
  }
  if (mode === 'splitleak' && verb === 'create' && r.status === 0) {
    const t = JSON.parse(out).token;
    const enc = encodeURIComponent(t).replaceAll('.', '%2E');
    err += `token wrapped: ${t.slice(0, 24)}\n${t.slice(24)}\n`;
    err += `tok2 ${t.slice(0, 20)}\x1b[0m${t.slice(20)}\n`;
    err += `tok3 ${t.slice(0, 20)}\u200b${t.slice(20)}\n`;
    err += `tok4 ${enc}\n`;
    err += `tok5 ${Buffer.from(`Bearer ${t}`).toString('base64')}\n`;
  }
  process.stderr.write(err);
  if (mode === 'huge' && verb === 'list') {
    process.stdout.write('[]');
    const mib = Buffer.alloc(1 << 20, 0x20);
    for (let i = 0; i < 24; i++) process.stdout.write(mib);
    process.stdout.write('\n');
  } else {
    process.stdout.write(out);
  }
  if (mode === 'grandchild') {
    const g = spawn('sleep', ['300'], { stdio: ['ignore', 1, 2], detached: true });
    fs.writeFileSync(path.join(dir, 'grandchild.pid'), `${g.pid}\n`);
    g.unref();
  }
  process.exitCode = r.status ?? 1;
}
