#!/usr/bin/env python3
"""Benchmark driver behind scripts/bench.sh (run that, not this: it builds,
installs the peers and checks the tools first). Standard library only.

Starts the local stack through scripts/stack.sh (tests/idp on loopback,
reference clusters on loopback with test control), runs

  1. pipeline overhead: influx-bootstrap `login` + `management create`, `mint
     --store file:`, and two peers (bench/peers/node on openid-client,
     bench/peers/python on authlib), interleaved, same IdP, cluster, interval
     and approver; overhead = wall - token polls x interval;
  2. requests on the wire of each pipeline run (IdP and cluster /__test/stats);
  3. cold start of the CLI (hyperfine) and the release binary sizes;
  4. scale: N tokens on a cluster, `management list` (table and JSON) wall
     time and peak RSS; the cluster under wrk load (creates, 50 connections);

and writes bench/RESULTS.md plus the raw numbers in bench/out/results.json.

Environment: BENCH_QUICK=1 (fewer runs, shorter load), BENCH_RUNS=N (pipeline
runs per implementation), BENCH_SCALE=N (tokens), BENCH_LOAD_SECONDS=N.
"""
import atexit
import datetime
import http.client
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
OUT = os.path.join(BENCH, "out")
TARGET = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
BIN = os.path.join(TARGET, "release", "influx-bootstrap")
CLUSTER_BIN = os.path.join(TARGET, "release", "reference-cluster")
PEER_NODE_DIR = os.path.join(BENCH, "peers", "node")
PEER_NODE = os.path.join(PEER_NODE_DIR, "pipeline.mjs")
PEER_PY = os.path.join(BENCH, "peers", "python", "pipeline.py")
PEER_CURL = os.path.join(BENCH, "peers", "curl", "pipeline.sh")
# `--compare BIN`: the binary the "before" column runs (issue 21).
BEFORE_BIN = None
VENV_PY = os.path.join(BENCH, ".venv", "bin", "python")
WRK_LUA = os.path.join(BENCH, "wrk", "create.lua")

QUICK = os.environ.get("BENCH_QUICK", "0") == "1"
RUNS = int(os.environ.get("BENCH_RUNS", "3" if QUICK else "10"))
HF_RUNS = 10 if QUICK else 50
HF_WARMUP = 2 if QUICK else 5
LIST_RUNS = 3 if QUICK else 5
SCALE_N = int(os.environ.get("BENCH_SCALE", "1000" if QUICK else "10000"))
LOAD_SECONDS = int(os.environ.get("BENCH_LOAD_SECONDS", "5" if QUICK else "30"))
LOAD_CONNECTIONS = 50
INTERVAL = 1
CLIENT_ID = "influx-bootstrap"
AUDIENCE = "https://cluster.example.test"
SCOPES = "openid profile email offline_access"

WORK = tempfile.mkdtemp(prefix="influx-bootstrap-bench.")
STACK_SH = os.path.join(ROOT, "scripts", "stack.sh")
STACK = os.path.join(WORK, "stack")  # scripts/stack.sh's state: stopped on exit, whatever happens


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def descendants(root):
    """Pids of every process below `root` (clients under test, hyperfine,
    wrk...), deepest first."""
    children = {}
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/stat") as f:
                    data = f.read()
            except OSError:
                continue
            ppid = int(data[data.rindex(")") + 2:].split()[1])
            children.setdefault(ppid, []).append(int(pid))
    out, stack = [], [root]
    while stack:
        for c in children.get(stack.pop(), []):
            out.append(c)
            stack.append(c)
    return list(reversed(out))


def stack_pids():
    """Pids of the servers scripts/stack.sh started (none once stopped)."""
    try:
        with open(os.path.join(STACK, "pids")) as f:
            return {int(x) for x in f.read().split()}
    except OSError:
        return set()


def cleanup():
    # Whatever is still running below us (a client waiting for approval, wrk,
    # hyperfine) goes first, then the servers.
    servers = stack_pids()
    for pid in descendants(os.getpid()):
        if pid not in servers:
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
    if servers:
        subprocess.run([STACK_SH, "stop", STACK], check=False)
    shutil.rmtree(WORK, ignore_errors=True)


atexit.register(cleanup)
for _sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(_sig, lambda s, f: sys.exit(128 + s))


# ---------------------------------------------------------------------------
# Small helpers

def median(xs):
    return statistics.median(xs) if xs else float("nan")


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def cpu_snapshot():
    procs = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                data = f.read()
        except OSError:
            continue
        comm = data[data.index("(") + 1:data.rindex(")")]
        fields = data[data.rindex(")") + 2:].split()
        procs[int(pid)] = (comm, int(fields[11]) + int(fields[12]))
    with open("/proc/stat") as f:
        cpu = [int(x) for x in f.readline().split()[1:]]
    return procs, cpu


def other_load(seconds=1.0, limit=4):
    """CPU use of the machine over `seconds`, and the busiest processes that
    are not this benchmark's (a background fuzzer, a build...)."""
    a, ca = cpu_snapshot()
    time.sleep(seconds)
    b, cb = cpu_snapshot()
    total = sum(cb) - sum(ca)
    idle = (cb[3] + cb[4]) - (ca[3] + ca[4])
    hz = os.sysconf("SC_CLK_TCK")
    own = {os.getpid()} | stack_pids()
    rows = sorted(((b[pid][1] - a[pid][1]) / hz / seconds * 100, b[pid][0])
                  for pid in b if pid in a and pid not in own)
    top = [f"{comm} {pct:.0f}%" for pct, comm in reversed(rows) if pct >= 5][:limit]
    return {"loadavg": loadavg(), "busy_pct": 100 * (total - idle) / max(total, 1), "top": top}


def proc_status(pid):
    """VmRSS and VmHWM of a process, in KiB."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0])
    return out


def http_json(method, url, body=None, headers=None, timeout=30):
    data = json.dumps(body).encode() if body is not None else None
    h = {"accept": "application/json"}
    if data is not None:
        h["content-type"] = "application/json"
    h.update(headers or {})
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, raw.decode(errors="replace")


def http_form(url, fields, timeout=30):
    data = urllib.parse.urlencode(fields).encode()
    req = urllib.request.Request(url, data=data, method="POST",
                                 headers={"accept": "application/json",
                                          "content-type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def read_env(path):
    """A .env file of scripts/stack.sh: KEY=VALUE lines, values shell-quoted."""
    out = {}
    with open(path) as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition("=")
            out[key] = "".join(shlex.split(value))
    return out


def start_stack():
    """The IdP and the reference cluster `default` (scripts/stack.sh start):
    the variables of its stack.env (STACK_ISSUER, STACK_CLUSTER_URL,
    STACK_CLUSTER_PID, STACK_IDP_LOG, INFLUX_BOOTSTRAP_CONFIG: a profile for
    the cluster...)."""
    subprocess.run([STACK_SH, "start", STACK, "--release", "--interval", str(INTERVAL),
                    "--idp-log", "--test-control", "--static-jwks", "--owner", str(os.getpid())],
                   check=True)
    return read_env(os.path.join(STACK, "stack.env"))


def start_cluster(name):
    """One more reference cluster against the stack's IdP (scripts/stack.sh
    cluster): the variables of its cluster-NAME.env."""
    subprocess.run([STACK_SH, "cluster", STACK, name], check=True)
    return read_env(os.path.join(STACK, f"cluster-{name}.env"))


def approve(issuer, user_code):
    status, body = http_json("POST", f"{issuer}/__test/approve",
                             {"user_code": user_code, "user": "admin"})
    if status != 200:
        raise RuntimeError(f"approve {user_code}: HTTP {status} {body}")


def device_login(issuer, scope="openid offline_access"):
    """A device-flow token response for the bench's client (by default with
    `offline_access`: a refresh token), approved at once."""
    _, meta = http_json("GET", f"{issuer}/.well-known/openid-configuration")
    _, da = http_form(meta["device_authorization_endpoint"],
                      {"client_id": CLIENT_ID, "scope": scope, "resource": AUDIENCE})
    approve(issuer, da["user_code"])
    while True:
        time.sleep(da.get("interval", 5))
        status, tok = http_form(meta["token_endpoint"], {
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "device_code": da["device_code"], "client_id": CLIENT_ID})
        if status == 200:
            return tok
        if tok.get("error") not in ("authorization_pending", "slow_down"):
            raise RuntimeError(f"device login: {tok}")


def harness_login(issuer):
    """An admin access token (JWT) for the scale and load benchmarks: a plain
    device flow from here, approved at once."""
    return device_login(issuer, "openid")["access_token"]


def create_token(base, credential, description="bench"):
    status, body = http_json("POST", f"{base}/api/v0/management/tokens",
                             {"description": description, "expiresAt": None},
                             {"authorization": f"Bearer {credential}",
                              "idempotency-key": str(uuid.uuid4())})
    if status != 201:
        raise RuntimeError(f"create: HTTP {status} {body}")
    return body


def hyperfine(commands, runs, warmup, env, cwd=ROOT, names=None):
    """Median/mean/min/max ms per command, from hyperfine -N --export-json."""
    out = os.path.join(WORK, f"hf-{uuid.uuid4().hex}.json")
    cmd = ["hyperfine", "-N", "--warmup", str(warmup), "--runs", str(runs),
           "--style", "none", "--export-json", out]
    for i, c in enumerate(commands):
        if names:
            cmd += ["-n", names[i]]
        cmd.append(c)
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    with open(out) as f:
        res = json.load(f)["results"]
    return [{"command": r["command"], "median_ms": r["median"] * 1000, "mean_ms": r["mean"] * 1000,
             "stddev_ms": (r.get("stddev") or 0) * 1000, "min_ms": r["min"] * 1000,
             "max_ms": r["max"] * 1000, "runs": len(r["times"])} for r in res]


# ---------------------------------------------------------------------------
# 1 + 2: pipeline overhead and requests on the wire

IMPLS = [
    ("ours: login + management create", "ours-2"),
    ("ours: mint --store file:", "ours-mint"),
    ("ours: mint --write-database (database token, documented API)", "ours-dbmint"),
    ("peer: Node.js openid-client", "node"),
    ("peer: Python authlib", "python"),
    ("peer: bash + curl + jq", "curl"),
]
PEERS = ("node", "python", "curl")
# Where our overhead goes: `mint` again with parts of its fixed costs taken
# away from the outside (no source change). Not part of the comparison.
DIAGS = [
    ("ours: mint, trust store of 1 certificate", "diag-certs"),
]
if shutil.which("eatmydata"):
    DIAGS.append(("ours: mint, trust store of 1 certificate + fsync off (eatmydata)", "diag-certs-nofsync"))


def pipeline_steps(impl, ctx, run_dir):
    """The commands of one pipeline run; the first one prints the user code.
    `before-IMPL` runs IMPL with the `--compare` binary."""
    desc = f"bench {impl} {uuid.uuid4().hex[:8]}"
    BIN = globals()["BIN"]
    if impl.startswith("before-"):
        impl, BIN = impl[len("before-"):], BEFORE_BIN
    if impl == "ours-2":
        return [[BIN, "login", "--force", "--format", "json", "--browser", "never"],
                [BIN, "management", "create", "--description", desc, "--format", "json"]]
    if impl in ("ours-mint", "diag-certs", "diag-certs-nofsync"):
        pre = ["eatmydata"] if impl == "diag-certs-nofsync" else []
        return [pre + [BIN, "mint", "--description", desc, "--store",
                 f"file:{run_dir}/secrets/token", "--format", "json", "--browser", "never"]]
    if impl == "ours-dbmint":
        # The same pipeline for a database token: the documented API has no
        # idempotency, so it lists the tokens before the create (to reconcile
        # a lost answer); it verifies with the session (a database token
        # cannot read itself). The database need not exist for the grant.
        return [[BIN, "mint", "--description", desc, "--write-database", "bench", "--store",
                 f"file:{run_dir}/secrets/token", "--format", "json", "--browser", "never"]]
    peer_args = ["--issuer", ctx["issuer"], "--client-id", CLIENT_ID, "--resource", AUDIENCE,
                 "--cluster", ctx["cluster"], "--description", desc, "--scope", SCOPES]
    if impl == "node":
        return [["node", PEER_NODE] + peer_args]
    if impl == "curl":
        return [["bash", PEER_CURL] + peer_args]
    return [[VENV_PY, PEER_PY] + peer_args]


ANSI = re.compile(r"\x1b\[[0-9;]*m")
IDP_LINE = re.compile(r"^\[idp\] (\S+) (\S+) (\d+)\b.* (\d+)ms$")
CLUSTER_LINE = re.compile(r" (GET|POST|DELETE|PUT|PATCH) (/\S*) (\d{3}) .* (\d+)ms$")


class LogTail:
    """New lines of a server's log since the last call."""

    def __init__(self, path):
        self.path, self.offset = path, 0

    def lines(self):
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        cut = data.rfind(b"\n") + 1
        self.offset += cut
        return [ANSI.sub("", x) for x in data[:cut].decode(errors="replace").splitlines()]


def server_ms(idp_lines, cluster_lines):
    """Time the servers spent handling the client's requests (their own logs,
    whole ms per request): the IdP without the approver's page requests and
    the test routes, the cluster without its test routes."""
    idp = cl = 0
    for line in idp_lines:
        m = IDP_LINE.match(line)
        if m and not (m.group(2) == "/device" or m.group(2).startswith(("/interaction", "/__test/"))):
            idp += int(m.group(4))
    for line in cluster_lines:
        m = CLUSTER_LINE.search(line)
        if m and not m.group(2).startswith("/__test/"):
            cl += int(m.group(4))
    return idp, cl


def cluster_stats(base):
    _, s = http_json("GET", f"{base}/__test/stats")
    return s


def diff_counts(after, before):
    keys = set(after) | set(before)
    return {k: after.get(k, 0) - before.get(k, 0) for k in keys if after.get(k, 0) != before.get(k, 0)}


# The keep-warm variant of the compare run: a GET every WARM_EVERY s to a
# test route of the IdP (`/__test/stats`: not in its counters) and of the
# cluster (`/__test/activation`: test routes sit outside its request counting,
# and no database), each on a new connection as a client's would be.
WARM_EVERY = 0.05
WARM_ROUTES = ("/__test/stats", "/__test/activation")


class KeepWarm:
    """A thread keeping the IdP and the cluster from going idle (this machine
    charges the first request after ~1 s idle: see machine_penalty)."""

    def __init__(self, issuer, cluster):
        self.urls = [issuer + WARM_ROUTES[0], cluster + WARM_ROUTES[1]]
        self.done = threading.Event()
        self.pings = 0
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def ping(self):
        for url in self.urls:
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    r.read()
                self.pings += 1
            except OSError:
                pass

    def loop(self):
        while not self.done.wait(WARM_EVERY):
            self.ping()

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.done.set()
        self.thread.join()


def run_pipeline(impl, ctx, keep_warm=False):
    """One pipeline run of `impl`, approved as soon as the code appears. With
    `keep_warm`, a KeepWarm thread pings the IdP and the cluster during the
    run (routes that count in neither's stats nor in server_ms)."""
    run_dir = tempfile.mkdtemp(dir=WORK, prefix=f"{impl}-")
    os.makedirs(os.path.join(run_dir, "home"))
    env = {"PATH": os.environ["PATH"], "HOME": os.path.join(run_dir, "home"), "LANG": "C.UTF-8",
           "INFLUX_BOOTSTRAP_CONFIG": ctx["profile"],
           "INFLUX_BOOTSTRAP_CACHE_DIR": os.path.join(run_dir, "cache")}  # fresh cache per run
    if impl.startswith("diag-certs"):
        env.update(ctx["one_cert"])
    steps = pipeline_steps(impl, ctx, run_dir)
    http_json("POST", f"{ctx['issuer']}/__test/reset-stats")
    cl_before = cluster_stats(ctx["cluster"])
    ctx["idp_log"].lines()
    ctx["cluster_log"].lines()
    warm = KeepWarm(ctx["issuer"], ctx["cluster"]).start() if keep_warm else None
    step_ms = []
    stderr = open(os.path.join(run_dir, "stderr"), "wb")
    outputs = []
    t0 = time.perf_counter()
    t_code = t_approved = None
    rss_kib = 0
    cpu_ms = 0.0
    cpu_time_ms = 0.0
    for i, cmd in enumerate(steps):
        cwd = PEER_NODE_DIR if impl == "node" else run_dir
        ts = time.perf_counter()
        timed_cmd, rss_file = with_time(cmd)
        p = subprocess.Popen(timed_cmd, stdout=subprocess.PIPE, stderr=stderr, env=env, cwd=cwd)
        if i == 0:
            first = p.stdout.readline()
            t_code = time.perf_counter()
            try:
                ev = json.loads(first)
                code = ev["user_code"]
            except (ValueError, KeyError):
                p.kill()
                raise RuntimeError(f"{impl}: no device_code event, got {first!r}; stderr:\n"
                                   + open(stderr.name, errors="replace").read()[-1500:])
            approve(ctx["issuer"], code)  # as soon as the code appears
            t_approved = time.perf_counter()
            rest = p.stdout.read()
            outputs.append(first + rest)
        else:
            outputs.append(p.stdout.read())
        # The peak RSS and CPU time of the process (and of what it waited
        # for: curl and jq under the bash peer), from /usr/bin/time and wait4.
        rc, cpu = wait_cpu_ms(p)
        cpu_ms += cpu
        if rc == 0:
            rss, cpu_coarse = read_time(rss_file)
            rss_kib = max(rss_kib, rss)
            cpu_time_ms += cpu_coarse or 0
        if rc != 0:
            raise RuntimeError(f"{impl}: {' '.join(cmd[:3])} exited {rc}; stderr:\n"
                               + open(stderr.name, errors="replace").read()[-1500:])
        step_ms.append((time.perf_counter() - ts) * 1000)
    t1 = time.perf_counter()
    if warm:
        warm.stop()
    idp = http_json("GET", f"{ctx['issuer']}/__test/stats")[1]
    cl_after = cluster_stats(ctx["cluster"])
    idp_ms, cluster_ms = server_ms(ctx["idp_log"].lines(), ctx["cluster_log"].lines())
    cl_req = diff_counts(cl_after["requests"], cl_before["requests"])
    cluster_jwks = cl_after["jwks_fetches"] - cl_before["jwks_fetches"]
    last = json.loads(outputs[-1].decode().strip().splitlines()[-1])
    wall = (t1 - t0) * 1000
    polls = idp["token_device_code"]
    r = {
        "impl": impl,
        "wall_ms": wall,
        "rss_kib": rss_kib,
        # user + sys of the client (and what it waited for), wait4 of
        # /usr/bin/time (us); and as /usr/bin/time %U + %S prints it (10 ms steps)
        "client_cpu_ms": cpu_ms,
        "client_cpu_time_ms": cpu_time_ms,
        "kept_warm": bool(keep_warm),
        "warm_pings": warm.pings if warm else 0,
        "polls": polls,
        "slow_down": idp["slow_down"],
        "overhead_ms": wall - polls * INTERVAL * 1000,
        "to_code_ms": (t_code - t0) * 1000,
        "approve_ms": (t_approved - t_code) * 1000,
        "after_waits_ms": wall - (t_code - t0) * 1000 - polls * INTERVAL * 1000,
        "step_ms": step_ms,
        "idp_ms": idp_ms,
        "cluster_ms": cluster_ms,
        "client_ms": wall - polls * INTERVAL * 1000 - idp_ms - cluster_ms,
        "requests": {
            "discovery": idp["discovery"],
            "device_authorization": idp["device_authorization"],
            "token_polls": polls,
            "slow_down": idp["slow_down"],
            "token_refresh": idp["token_refresh"],
            "jwks": idp["jwks"] - cluster_jwks,
            "revocation": idp["revocation"],
            "introspection": idp["introspection"],
            "userinfo": idp["userinfo"],
            "create": cl_req.pop("POST /api/v0/management/tokens", 0)
            + cl_req.pop("POST /api/v0/tokens", 0),
            "verify": cl_req.pop("GET /api/v0/management/tokens/{id}", 0)
            + cl_req.pop("GET /api/v0/tokens/{id}", 0),
            "cluster_other": sum(cl_req.values()),
            "cluster_other_routes": cl_req,
        },
        "cluster_jwks_fetches": cluster_jwks,
        "peer_report": last if impl in PEERS else None,
    }
    shutil.rmtree(run_dir, ignore_errors=True)
    return r


def bench_pipeline(stack):
    ctx = {"issuer": stack["STACK_ISSUER"], "cluster": stack["STACK_CLUSTER_URL"],
           "profile": stack["INFLUX_BOOTSTRAP_CONFIG"],
           "idp_log": LogTail(stack["STACK_IDP_LOG"]),
           "cluster_log": LogTail(stack["STACK_CLUSTER_LOG"]),
           "one_cert": one_cert_trust_store()}
    impls = IMPLS + (DIAGS if ctx["one_cert"] else [])
    log("pipeline: warm-up (one run of each; the cluster fetches the JWKS here)")
    for _, impl in impls:
        run_pipeline(impl, ctx)
    results = {impl: [] for _, impl in impls}
    for i in range(RUNS):
        # Interleaved (and rotated) so background load hits every implementation alike.
        order = impls[i % len(impls):] + impls[:i % len(impls)]
        for _, impl in order:
            results[impl].append(run_pipeline(impl, ctx))
        log(f"pipeline: round {i + 1}/{RUNS} done: "
            + ", ".join(f"{impl} {results[impl][-1]['overhead_ms']:.0f} ms" for _, impl in impls))
    return results


# ---------------------------------------------------------------------------
# 3: cold start

def bench_cold_start(stack):
    profile = stack["INFLUX_BOOTSTRAP_CONFIG"]
    env = {"PATH": os.environ["PATH"], "HOME": WORK, "LANG": "C.UTF-8",
           "INFLUX_BOOTSTRAP_CONFIG": profile,
           "INFLUX_BOOTSTRAP_CACHE_DIR": os.path.join(WORK, "cold-cache")}
    log("cold start: hyperfine (influx-bootstrap)")
    ours = hyperfine([f"{BIN} --version", f"{BIN} --help", f"{BIN} config show"], HF_RUNS, HF_WARMUP,
                     env, names=["influx-bootstrap --version", "influx-bootstrap --help",
                                 "influx-bootstrap config show"])
    log("cold start: hyperfine (peer runtimes + libraries)")
    peers = hyperfine(
        ["node -e 0", "node --input-type=module -e \"import 'openid-client'\"",
         f"{VENV_PY} -c pass", f"{VENV_PY} -c \"import requests, authlib.integrations.requests_client\""],
        HF_RUNS, HF_WARMUP, env, cwd=PEER_NODE_DIR,
        names=["node -e 0", "node: import openid-client", "python -c pass",
               "python: import requests + authlib"])
    sizes = {}
    for b in (BIN, CLUSTER_BIN):
        sizes[os.path.basename(b)] = os.path.getsize(b)
    return {"ours": ours, "peers": peers, "sizes": sizes}


# ---------------------------------------------------------------------------
# 4: scale and load

def bulk_post(base, n, request, ok, threads=4):
    """n POSTs over `threads` persistent connections; `request(i)` gives
    (path, body, headers) for item i; the seconds they took."""
    u = urllib.parse.urlsplit(base)
    errors = []

    def worker(start):
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        for i in range(start, n, threads):
            path, body, headers = request(i)
            conn.request("POST", path, body=json.dumps(body), headers=headers)
            r = conn.getresponse()
            r.read()
            if r.status not in ok:
                errors.append(r.status)
        conn.close()

    t0 = time.perf_counter()
    ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    secs = time.perf_counter() - t0
    if errors:
        raise RuntimeError(f"bulk create {request(0)[0]}: {len(errors)} failures, e.g. HTTP {errors[0]}")
    return secs


def bulk_create(base, credential, n, threads=4):
    """n management tokens over `threads` connections; mixed expiries."""
    def request(i):
        expires = None if i % 3 == 0 else (
            datetime.datetime(2031, 1, 1, tzinfo=datetime.timezone.utc)
            + datetime.timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return ("/api/v0/management/tokens",
                {"description": f"scale token {i:05d} for service-{i % 97}", "expiresAt": expires},
                {"Authorization": f"Bearer {credential}", "Content-Type": "application/json",
                 "Idempotency-Key": f"scale-{i}"})
    return bulk_post(base, n, request, (201,), threads)


def raw_list(base, credential):
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    t0 = time.perf_counter()
    conn.request("GET", "/api/v0/management/tokens", headers={"Authorization": f"Bearer {credential}"})
    r = conn.getresponse()
    body = r.read()
    ms = (time.perf_counter() - t0) * 1000
    conn.close()
    assert r.status == 200, r.status
    return ms, len(body), len(json.loads(body))


def one_cert_trust_store():
    """SSL_CERT_FILE/SSL_CERT_DIR for a trust store of one certificate (the
    first of the system bundle), to measure what loading the system's costs."""
    bundle = "/etc/ssl/certs/ca-certificates.crt"
    if not os.path.exists(bundle):
        return None
    pem = open(bundle).read()
    end = pem.find("-----END CERTIFICATE-----")
    if end < 0:
        return None
    path = os.path.join(WORK, "one-cert.pem")
    with open(path, "w") as f:
        f.write(pem[pem.find("-----BEGIN CERTIFICATE-----"):end] + "-----END CERTIFICATE-----\n")
    empty = os.path.join(WORK, "empty-cert-dir")
    os.makedirs(empty, exist_ok=True)
    return {"SSL_CERT_FILE": path, "SSL_CERT_DIR": empty}


def bench_scale(jwt):
    cluster = start_cluster("scale")
    url = cluster["STACK_CLUSTER_URL"]
    mgmt = create_token(url, jwt, "bench scale credential")["accessToken"]
    profile = cluster["INFLUX_BOOTSTRAP_CONFIG"]
    env = {"PATH": os.environ["PATH"], "HOME": WORK, "LANG": "C.UTF-8",
           "INFLUX_BOOTSTRAP_CONFIG": profile,
           "INFLUX_BOOTSTRAP_CACHE_DIR": os.path.join(WORK, "scale-cache"),
           "INFLUX_BOOTSTRAP_MGMT_TOKEN": mgmt}
    # While the cluster holds one token: a whole small command over plain http
    # on loopback, with the system trust store and with a one-certificate one.
    log("scale: management list with 1 token (system trust store vs one certificate)")
    small = hyperfine([f"{BIN} management list"], HF_RUNS, HF_WARMUP, env,
                      names=["management list, 1 token (system trust store)"])
    trimmed = one_cert_trust_store()
    if trimmed:
        small += hyperfine([f"{BIN} management list"], HF_RUNS, HF_WARMUP, dict(env, **trimmed),
                           names=["management list, 1 token (SSL_CERT_FILE: 1 certificate, SSL_CERT_DIR: empty)"])
    log(f"scale: creating {SCALE_N} tokens (4 keep-alive connections)")
    secs = bulk_create(url, mgmt, SCALE_N - 1)
    tokens = cluster_stats(url)["tokens"]
    raw = [raw_list(url, mgmt) for _ in range(LIST_RUNS)]
    log("scale: management list (hyperfine, output to /dev/null)")
    cmds = [f"{BIN} management list", f"{BIN} management list --format json"]
    wall = hyperfine(cmds, LIST_RUNS, 1, env, names=["management list (table)",
                                                    "management list --format json"])
    rss = []
    for c in cmds:
        vals = []
        for _ in range(LIST_RUNS):
            tf = os.path.join(WORK, "time.out")
            subprocess.run(["/usr/bin/time", "-f", "%M", "-o", tf] + c.split(), env=env, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            vals.append(int(open(tf).read().strip().splitlines()[-1]))
        rss.append(vals)
    out_sizes = []
    for c in cmds:
        out_sizes.append(len(subprocess.run(c.split(), env=env, check=True, capture_output=True).stdout))
    server_mem = proc_status(int(cluster["STACK_CLUSTER_PID"]))
    return {"small_list": small, "tokens": tokens, "create_seconds": secs, "create_rate": (SCALE_N - 1) / secs,
            "raw_list_ms": [r[0] for r in raw], "raw_list_bytes": raw[0][1], "raw_list_items": raw[0][2],
            "wall": wall, "rss_kib": rss, "output_bytes": out_sizes, "server_mem_after_lists": server_mem}


def wrk(url, credential, seconds, idempotency_key=True):
    env = dict(os.environ, BENCH_TOKEN=credential, BENCH_RUN_ID=uuid.uuid4().hex[:8],
               BENCH_NO_KEY="0" if idempotency_key else "1")
    out = subprocess.run(["wrk", "-t2", f"-c{LOAD_CONNECTIONS}", f"-d{seconds}s", "--timeout", "10s",
                          "-s", WRK_LUA, f"{url}/api/v0/management/tokens"],
                         env=env, capture_output=True, text=True, check=True).stdout
    m = re.search(r"^BENCH_JSON (.*)$", out, re.M)
    if not m:
        raise RuntimeError(f"wrk printed no summary:\n{out}")
    r = json.loads(m.group(1))
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    return r


LOAD_PHASES = [
    # (cluster, credential, Idempotency-Key per request, label)
    ("A", "mgmt", True, "A, fresh: management token, unique Idempotency-Key"),
    ("B", "jwt", True, "B, fresh: OAuth access token (RS256 JWT), unique Idempotency-Key"),
    ("A", "mgmt", True, "A again (holds phase 1's tokens and idempotency records): same as phase 1"),
    ("A", "mgmt", False, "A again: management token, no Idempotency-Key"),
]


def bench_load(jwt):
    """Creates under wrk load. Phases 1 and 2 on fresh clusters compare the two
    credentials; phases 3 and 4 rerun phase 1 on the cluster it left behind,
    with and without Idempotency-Key, to show what the state it keeps costs."""
    clusters = {}
    for name in ("A", "B"):
        cluster = start_cluster(f"load{name}")
        url, pid = cluster["STACK_CLUSTER_URL"], int(cluster["STACK_CLUSTER_PID"])
        mgmt = create_token(url, jwt, "bench load credential")["accessToken"]
        clusters[name] = {"pid": pid, "url": url, "mgmt": mgmt, "idle_mem": proc_status(pid)}
    phases = []
    for i, (name, cred, key, label) in enumerate(LOAD_PHASES, 1):
        c = clusters[name]
        before = cluster_stats(c["url"])
        la0 = loadavg()
        log(f"load: phase {i}/{len(LOAD_PHASES)}: wrk {LOAD_CONNECTIONS} connections, {LOAD_SECONDS} s: {label}")
        r = wrk(c["url"], c["mgmt"] if cred == "mgmt" else jwt, LOAD_SECONDS, key)
        after = cluster_stats(c["url"])
        r.update({"phase": i, "cluster": name, "label": label, "mem_after": proc_status(c["pid"]),
                  "tokens_before": before["tokens"], "tokens_after": after["tokens"],
                  "idempotency_records_before": before["idempotency_records"],
                  "idempotency_records": after["idempotency_records"],
                  "jwks_fetches_during": after["jwks_fetches"] - before["jwks_fetches"],
                  "loadavg_before": la0, "loadavg_after": loadavg()})
        phases.append(r)
    return {"idle_mem": {k: v["idle_mem"] for k, v in clusters.items()}, "phases": phases}


# ---------------------------------------------------------------------------
# Report

def sh(cmd, cwd=ROOT):
    try:
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, shell=True).stdout.strip()
    except OSError:
        return ""


def node_pkg_version(path):
    try:
        with open(path) as f:
            return json.load(f)["version"]
    except (OSError, ValueError, KeyError):
        return "?"


def machine_info():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    dirty = sh("git status --porcelain --untracked-files=no")
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "ram_gib": mem_kib / 1024 / 1024,
        "kernel": platform.release(),
        "rustc": sh("rustc --version"),
        "node": sh("node --version"),
        "python": platform.python_version() + " (driver), "
                  + sh(f"{VENV_PY} -c 'import platform; print(platform.python_version())'") + " (peer venv)",
        "oidc_provider": node_pkg_version(os.path.join(ROOT, "tests/idp/node_modules/oidc-provider/package.json")),
        "openid_client": node_pkg_version(os.path.join(PEER_NODE_DIR, "node_modules/openid-client/package.json")),
        "authlib": sh(f"{VENV_PY} -c 'import authlib; print(authlib.__version__)'"),
        "requests": sh(f"{VENV_PY} -c 'import requests; print(requests.__version__)'"),
        "hyperfine": sh("hyperfine --version"),
        "wrk": (sh("wrk -v 2>&1 | head -1") or "?").split(" [")[0],
        "commit": sh("git rev-parse --short HEAD"),
        "dirty": bool(dirty),
        "dirty_files": dirty.splitlines(),
    }


def fmt(x, nd=0):
    return f"{x:,.{nd}f}"


def params():
    return {"runs": RUNS, "hf_runs": HF_RUNS, "hf_warmup": HF_WARMUP, "list_runs": LIST_RUNS,
            "scale_n": SCALE_N, "load_seconds": LOAD_SECONDS, "load_connections": LOAD_CONNECTIONS,
            "interval": INTERVAL}


def write_report(res, path):
    m = res["machine"]
    P = res.get("params") or params()
    L = []
    a = L.append
    a("# Benchmarks")
    a("")
    a(f"Written by `scripts/bench.sh` ({'BENCH_QUICK=1: fewer runs, not for comparison' if res['quick'] else 'full run'}) "
      f"on {res['date']}: the script took {res['duration_s'] / 60:.1f} min in all (checks, build, installs, "
      f"measuring), of which {res['bench_duration_s'] / 60:.1f} min measuring.")
    a("Run it by hand: `scripts/bench.sh` (or `BENCH_QUICK=1 scripts/bench.sh`). Never in CI.")
    a("")
    a("| machine | |")
    a("| --- | --- |")
    a(f"| CPU | {m['nproc']} × {m['cpu']} (nproc {m['nproc']}) |")
    a(f"| RAM | {m['ram_gib']:.1f} GiB |")
    a(f"| kernel | {m['kernel']} |")
    for k, label in (("start", "at the start"), ("before_load_test", "before the load test"), ("end", "at the end")):
        o = res["load"][k]
        a(f"| load {label} | load average {o['loadavg']}; CPU busy {o['busy_pct']:.0f} % over 1 s; other processes: "
          f"{', '.join(o['top']) or 'none above 5 %'} |")
    a(f"| git | {m['commit']}{' + uncommitted changes in the work tree (the binaries are built from it)' if m['dirty'] else ''} |")
    a(f"| rustc | {m['rustc']} |")
    a(f"| Node.js | {m['node']} |")
    a(f"| Python | {m['python']} |")
    a(f"| oidc-provider (IdP) | {m['oidc_provider']} |")
    a(f"| openid-client (peer) | {m['openid_client']} |")
    a(f"| authlib (peer) | {m['authlib']} (requests {m['requests']}) |")
    a(f"| tools | {m['hyperfine']}, {m['wrk']} |")
    a("")
    a("The machine has 2 cores; the IdP, the cluster, the client under test and the approver share them,")
    a("and other processes (see above) may have been running: absolute numbers are noisy, ratios measured")
    a("in this same run (implementations interleaved) are what to compare.")
    a("")

    # 1
    p = res["pipeline"]
    a("## 1. Pipeline overhead (device-flow login + create a management token)")
    a("")
    a(f"IdP `tests/idp` with `--interval {P['interval']}`, one reference cluster, a fresh session cache per run, an approver")
    a("that posts `/__test/approve` as soon as the `device_code` JSON line appears on stdout. ")
    a(f"**overhead = wall − token polls × {P['interval']} s** (the waits the server mandates; the client waits one")
    a("interval before the first poll and between polls); polls are the IdP's `token_device_code` count.")
    a(f"Wall time counts from spawning the first process to the exit of the last, so process start")
    a(f"(Node.js / Python runtime start and imports too) is included. {P['runs']} runs each, interleaved, after one warm-up run each.")
    a("")
    a("| implementation | processes | wall median (ms) | token polls | overhead median (ms) | overhead min–max (ms) | spawn → user code (ms) | after the waits (ms) | servers' share (ms) | client's share (ms) | overhead ÷ ours | peak RSS (MiB) |")
    a("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    ours_oh = median([r["overhead_ms"] for r in p["ours-2"]])
    for label, impl in IMPLS:
        if impl not in p:
            continue  # a report of a run from before this implementation existed
        rs = p[impl]
        oh = [r["overhead_ms"] for r in rs]
        polls = sorted(set(r["polls"] for r in rs))
        a(f"| {label} | {2 if impl == 'ours-2' else 1} | {fmt(median([r['wall_ms'] for r in rs]))} | "
          f"{'/'.join(map(str, polls))} | **{fmt(median(oh))}** | {fmt(min(oh))}–{fmt(max(oh))} | "
          f"{fmt(median([r['to_code_ms'] for r in rs]))} | {fmt(median([r['after_waits_ms'] for r in rs]))} | "
          f"{fmt(median([r['idp_ms'] + r['cluster_ms'] for r in rs]))} | {fmt(median([r['client_ms'] for r in rs]))} | "
          f"{median(oh) / ours_oh:.2f} | {rss_cell(rs)} |")
    a("")
    peer_oh = [(median([r["overhead_ms"] for r in p[i]]), lb[len("peer: "):]) for lb, i in IMPLS
               if i in PEERS and i in p]
    fast, fast_label = min(peer_oh)
    mint_oh = median([r["overhead_ms"] for r in p["ours-mint"]])
    a(f"- Faster peer: **{fast_label}**, {fmt(fast)} ms overhead.")
    for label, v in (("`login` + `management create`", ours_oh), ("`mint --store file:` (also stores and verifies)", mint_oh)):
        ratio = v / fast
        a(f"- Ours, {label}: {fmt(v)} ms = **{ratio:.2f} × the faster peer** "
          f"(target ≤ 0.20: {'met' if ratio <= 0.20 else 'NOT met'}).")
    a("- `spawn → user code`: process start + discovery + device authorization, until the approver sees the code. "
      "`after the waits`: the rest of the overhead (token response handling, ID-token check, cache write, "
      "the second process for `login` + `create`, the create call, for `mint` the store and the verify call, exit).")
    a("- `servers' share`: the time the IdP and the cluster spent handling this client's requests, from their own "
      "request logs (whole ms per request; the approver's page requests and the test routes left out); the "
      "same work for every implementation. `client's share` = overhead − servers' share: process start, "
      "the client's own work, and the loopback round trips.")
    two = p["ours-2"]
    a(f"- Ours, two processes: `login` ran {fmt(median([r['step_ms'][0] for r in two]))} ms (of which the "
      f"{P['interval']} s wait), `management create` {fmt(median([r['step_ms'][1] for r in two]))} ms "
      "(process start, cached session, one POST).")
    slow = sum(r["slow_down"] for rs in p.values() for r in rs)
    a(f"- `slow_down` answers during the measured runs: {slow}. Approval (`/__test/approve`, which drives the "
      f"IdP's pages) took {fmt(median([r['approve_ms'] for rs in p.values() for r in rs]))} ms median, inside the first interval.")
    a("")
    a("Peers' own marks (ms since their process start, median): ")
    a("")
    a("| peer | imports done | discovered | user code | authorized | created |")
    a("| --- | --- | --- | --- | --- | --- |")
    for label, impl in [(lb, i) for lb, i in IMPLS if i in PEERS and i in p]:
        marks = [r["peer_report"]["marks"] for r in p[impl]]
        def mk(k):
            vals = [mm[k] for mm in marks if k in mm]
            return fmt(median(vals)) if vals else "—"
        a(f"| {label} | {mk('imported')} | {mk('discovered')} | {mk('device_code')} | {mk('authorized')} | {mk('created')} |")
    a("")
    diags = [(label, impl) for label, impl in DIAGS if impl in p]
    if diags:
        a("Where our overhead goes: `mint` again, interleaved with the runs above, with fixed costs removed from the "
          "outside (no source change): the system trust store replaced by one certificate (`SSL_CERT_FILE`, empty "
          "`SSL_CERT_DIR`; the profile is plain http on loopback, so no certificate is ever used), and fsync made a "
          "no-op (`eatmydata`; `mint` fsyncs the session cache and the token file, each file and its directory).")
        a("")
        a("| variant | overhead median (ms) | min–max (ms) | spawn → user code (ms) | after the waits (ms) | saved vs `mint` (ms) |")
        a("| --- | --- | --- | --- | --- | --- |")
        for label, impl in [("ours: mint --store file:", "ours-mint")] + diags:
            oh = [r["overhead_ms"] for r in p[impl]]
            a(f"| {label} | {fmt(median(oh))} | {fmt(min(oh))}–{fmt(max(oh))} | "
              f"{fmt(median([r['to_code_ms'] for r in p[impl]]))} | {fmt(median([r['after_waits_ms'] for r in p[impl]]))} | "
              f"{'' if impl == 'ours-mint' else fmt(mint_oh - median(oh), 1)} |")
        a("")
    a("(Node's marks count from `performance.timeOrigin`, the start of the process; its 'imports done' is the")
    a("script's first line, which runs after the ES-module imports. Python's marks count from the script's first")
    a("line, after the interpreter started, so they leave out the interpreter's own start.)")
    a("")

    # 2
    a("## 2. Requests on the wire (one pipeline run)")
    a("")
    a("From the IdP's `/__test/stats` (reset before each run) and the cluster's `/__test/stats` (difference over the run).")
    a("JWKS counts only the client's fetches (the cluster's own JWKS fetches, from its stats, are subtracted; it")
    a("fetched once during the warm-up and cached the keys). Values are the same in every measured run unless a range is shown.")
    a("")
    cols = [("discovery", "discovery"), ("device_authorization", "device authorization"),
            ("token_polls", "token polls"), ("slow_down", "slow_down"), ("jwks", "JWKS"),
            ("token_refresh", "refresh"), ("revocation", "revocation"), ("userinfo", "userinfo"),
            ("create", "create"), ("verify", "verify (GET id)"), ("cluster_other", "other cluster")]
    a("| implementation | " + " | ".join(c[1] for c in cols) + " | total |")
    a("| --- |" + " --- |" * (len(cols) + 1))

    def cell(vals):
        lo, hi = min(vals), max(vals)
        return str(lo) if lo == hi else f"{lo}–{hi}"
    for label, impl in IMPLS:
        if impl not in p:
            continue
        rs = p[impl]
        cells = [cell([r["requests"][k] for r in rs]) for k, _ in cols]
        totals = [sum(v for k, v in r["requests"].items() if k not in ("slow_down", "cluster_other_routes"))
                  for r in rs]
        a(f"| {label} | " + " | ".join(cells) + f" | {cell(totals)} |")
    a("| *protocol minimum, login + create* | 1 | 1 | 1 | 0 | 0 (1 if the ID token is verified) | 0 | 0 | 0 | 1 | 0 | 0 | 4 (5) |")
    a("| *protocol minimum, mint (+ verify)* | 1 | 1 | 1 | 0 | 0 (1 if the ID token is verified) | 0 | 0 | 0 | 1 | 1 | 0 | 5 (6) |")
    a("| *minimum, database-token mint that never orphans without server idempotency (+ verify)* | 1 | 1 | 1 | 0 | 0 (1 if the ID token is verified) | 0 | 0 | 0 | 1 | 1 | 1 (the list before the create) | 6 (7) |")
    a("")
    a(DB_MINT_NOTE)
    a("")
    other = {}
    for impl in p:
        for r in p[impl]:
            for k, v in r["requests"]["cluster_other_routes"].items():
                other.setdefault(impl, {}).setdefault(k, []).append(v)
    if other:
        a("Other cluster routes: " + "; ".join(
            f"{impl}: " + ", ".join(f"`{k}` {cell(v)}" for k, v in routes.items()) for impl, routes in other.items()))
        a("")
    a("One poll is the minimum with an approval inside the first interval (RFC 8628 §3.5 asks the client to wait")
    a("`interval` before polling). Only ours verifies the ID token's signature (hence its one JWKS fetch); openid-client")
    a("6 does not check ID-token signatures from a TLS-protected token endpoint by default, and authlib's `fetch_token`")
    a("does not look at the ID token at all.")
    a("")

    # 3
    c = res["cold"]
    a("## 3. Cold start")
    a("")
    a(f"`hyperfine -N --warmup {P['hf_warmup']} --runs {P['hf_runs']}`; `config show` reads a profile file (no network).")
    a("")
    a("| command | median (ms) | mean ± σ (ms) | min–max (ms) |")
    a("| --- | --- | --- | --- |")
    for r in c["ours"] + c["peers"]:
        a(f"| `{r['command']}` | **{r['median_ms']:.1f}** | {r['mean_ms']:.1f} ± {r['stddev_ms']:.1f} | "
          f"{r['min_ms']:.1f}–{r['max_ms']:.1f} |")
    a("")
    a("The last four rows are the floor of the peers: their runtime starting and loading their libraries, nothing else.")
    a("")
    a("A whole small command against the scale cluster while it holds one token (`management list`, management token, "
      "plain http on loopback), with the system trust store and with a trust store of one certificate:")
    a("")
    a("| command | median (ms) | mean ± σ (ms) | min–max (ms) |")
    a("| --- | --- | --- | --- |")
    for r in res["scale"]["small_list"]:
        a(f"| `{r['command']}` | **{r['median_ms']:.1f}** | {r['mean_ms']:.1f} ± {r['stddev_ms']:.1f} | "
          f"{r['min_ms']:.1f}–{r['max_ms']:.1f} |")
    a("")
    a("| release binary (strip, thin LTO) | bytes | MiB |")
    a("| --- | --- | --- |")
    for k, v in c["sizes"].items():
        a(f"| `target/release/{k}` | {v:,} | {v / 1048576:.2f} |")
    a("")

    # 4
    s = res["scale"]
    a(f"## 4. Scale: {s['tokens']:,} tokens on one reference cluster")
    a("")
    a(f"Created with 4 keep-alive connections (Python `http.client`, management-token credential, unique "
      f"`Idempotency-Key` each): {s['create_seconds']:.1f} s, {fmt(s['create_rate'])} creates/s. The list is "
      f"{s['raw_list_bytes']:,} bytes of JSON ({s['raw_list_items']:,} items); fetching it raw (new connection, "
      f"read the whole body) takes {fmt(median(s['raw_list_ms']))} ms median.")
    a("")
    a(f"`influx-bootstrap management list` with `INFLUX_BOOTSTRAP_MGMT_TOKEN` (no IdP involved), stdout to /dev/null; "
      f"wall: hyperfine `--runs {P['list_runs']}`; peak RSS: `/usr/bin/time -f %M`, {P['list_runs']} runs.")
    a("")
    a("| command | wall median (ms) | min–max (ms) | peak RSS median (MiB) | RSS max (MiB) | stdout bytes |")
    a("| --- | --- | --- | --- | --- | --- |")
    for w, rss, ob in zip(s["wall"], s["rss_kib"], s["output_bytes"]):
        a(f"| `{w['command']}` | **{fmt(w['median_ms'])}** | {fmt(w['min_ms'])}–{fmt(w['max_ms'])} | "
          f"**{median(rss) / 1024:.1f}** | {max(rss) / 1024:.1f} | {ob:,} |")
    sm = s["server_mem_after_lists"]
    a("")
    a(f"Cluster after the creates and all the lists: VmRSS {sm['VmRSS'] / 1024:.1f} MiB, VmHWM (peak) {sm['VmHWM'] / 1024:.1f} MiB.")
    a("")
    ld = res["load"]["run"]
    a(f"### Reference cluster under load: creates, {P['load_connections']} connections, {P['load_seconds']} s per phase")
    a("")
    a(f"`wrk -t2 -c{P['load_connections']} -d{P['load_seconds']}s --timeout 10s -s bench/wrk/create.lua` (POST "
      "`{\"description\":\"wrk load\",\"expiresAt\":null}`, a unique `Idempotency-Key` per request unless said otherwise). "
      "Two clusters, each with a file database (WAL) and a fresh start: A and B. wrk runs on the same 2 cores as "
      "the server (closed loop: latency includes queueing).")
    a("")
    a("| phase | requests | throughput (req/s) | p50 (ms) | p90 (ms) | p99 (ms) | max (ms) | errors (non-2xx, timeouts, sockets) | load avg before → after |")
    a("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in ld["phases"]:
        e = r["errors"]
        sock = e["connect"] + e["read"] + e["write"]
        lat = r["latency_us"]
        a(f"| {r['phase']}. {r['label']} | {r['requests']:,} | **{fmt(r['rps'])}** | {lat['p50'] / 1000:.2f} | "
          f"{lat['p90'] / 1000:.2f} | **{lat['p99'] / 1000:.2f}** | {lat['max'] / 1000:.1f} | "
          f"{e['status']}, {e['timeout']}, {sock} | {r['loadavg_before']} → {r['loadavg_after']} |")
    a("")
    a("| cluster memory (from /proc/PID/status) | VmRSS (MiB) | VmHWM (MiB) | tokens | idempotency records held | JWKS fetches during the phase |")
    a("| --- | --- | --- | --- | --- | --- |")
    for name, mem in ld["idle_mem"].items():
        a(f"| {name}, idle after start (+1 create) | {mem['VmRSS'] / 1024:.1f} | {mem['VmHWM'] / 1024:.1f} | 1 | 1 | |")
    for r in ld["phases"]:
        a(f"| {r['cluster']}, after phase {r['phase']} | {r['mem_after']['VmRSS'] / 1024:.1f} | "
          f"{r['mem_after']['VmHWM'] / 1024:.1f} | {r['tokens_after']:,} | {r['idempotency_records']:,} | "
          f"{r['jwks_fetches_during']} |")
    a("")
    a("Raw numbers of this run: `bench/out/results.json` (not committed).")
    a("")
    # The sections other modes write (`--compare`) are kept.
    old = open(path).read() if os.path.exists(path) else ""
    with open(path, "w") as f:
        f.write("\n".join(L))
    if COMPARE_BEGIN in old and COMPARE_END in old:
        kept = COMPARE_BEGIN + old.split(COMPARE_BEGIN, 1)[1].split(COMPARE_END, 1)[0] + COMPARE_END
        replace_section(COMPARE_BEGIN, COMPARE_END, kept, "## 1. Pipeline overhead")


DB_MINT_NOTE = (
    "The database-token `mint` is the same pipeline as the management-token one; on the wire it adds one "
    "`GET /api/v0/tokens` (under *other cluster*) before the create: the documented API has no "
    "idempotency, so that list is what lets a create whose answer is lost be reconciled (the token it "
    "made is found by the listing difference and revoked, then the create is sent once more) instead of "
    "orphaned. Its verify reads the token back with the session, since a database token cannot call the "
    "Management API.")
DB_MINT_BEGIN = "<!-- db-mint: begin (scripts/bench.sh --db-mint-only) -->"
DB_MINT_END = "<!-- db-mint: end -->"


def db_mint_only():
    """`mint` of a management token and of a database token, interleaved,
    nothing else (no hyperfine or wrk needed): the section between the
    db-mint markers of RESULTS.md is replaced; the rest is left as the last
    full run wrote it."""
    started = time.time()
    load_start = other_load()
    stack = start_stack()
    ctx = {"issuer": stack["STACK_ISSUER"], "cluster": stack["STACK_CLUSTER_URL"],
           "profile": stack["INFLUX_BOOTSTRAP_CONFIG"],
           "idp_log": LogTail(stack["STACK_IDP_LOG"]),
           "cluster_log": LogTail(stack["STACK_CLUSTER_LOG"]),
           "one_cert": None}
    impls = [("ours: mint (management token)", "ours-mint"),
             ("ours: mint --write-database (database token)", "ours-dbmint")]
    for _, impl in impls:
        run_pipeline(impl, ctx)
    results = {impl: [] for _, impl in impls}
    for i in range(RUNS):
        order = impls[i % 2:] + impls[:i % 2]
        for _, impl in order:
            results[impl].append(run_pipeline(impl, ctx))
        log(f"db-mint: round {i + 1}/{RUNS}")
    load_end = other_load()
    m = {"commit": sh("git rev-parse --short HEAD"),
         "dirty": bool(sh("git status --porcelain --untracked-files=no"))}
    L = [DB_MINT_BEGIN, "## 1b. `mint` of a database token beside the management-token pipeline", ""]
    a = L.append
    a(run_header(f"`scripts/bench.sh --db-mint-only` on {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} "
                 f"(git {m['commit']}{' + uncommitted changes' if m['dirty'] else ''}), {RUNS} runs each, interleaved, after one "
                 f"warm-up each; {time.time() - started:.0f} s.", load_start, load_end,
                 "on a shared 2-core machine, compare the two rows with each other, not with the tables above."))
    a("")
    a("Same setup as section 1 (device-flow login included, fresh session cache per run, one reference cluster "
      "serving both our management-token API and the documented API).")
    a("")
    a("| implementation | wall median (ms) | overhead median (ms) | overhead min–max (ms) | after the waits (ms) | servers' share (ms) | cluster requests | of which |")
    a("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for label, impl in impls:
        rs = results[impl]
        oh = [r["overhead_ms"] for r in rs]
        req = rs[-1]["requests"]
        n = req["create"] + req["verify"] + req["cluster_other"]
        of = [f"create {req['create']}", f"verify {req['verify']}"] + [
            f"`{k}` {v}" for k, v in req["cluster_other_routes"].items()]
        a(f"| {label} | {fmt(median([r['wall_ms'] for r in rs]))} | **{fmt(median(oh))}** | {fmt(min(oh))}–{fmt(max(oh))} | "
          f"{fmt(median([r['after_waits_ms'] for r in rs]))} | {fmt(median([r['idp_ms'] + r['cluster_ms'] for r in rs]))} | "
          f"{n} | {', '.join(of)} |")
    a("")
    idp = results["ours-dbmint"][-1]["requests"]
    a(f"IdP requests are the same for both (discovery {idp['discovery']}, device authorization "
      f"{idp['device_authorization']}, token polls {idp['token_polls']}, JWKS {idp['jwks']}).")
    a("")
    a(DB_MINT_NOTE)
    a(DB_MINT_END)
    replace_section(DB_MINT_BEGIN, DB_MINT_END, "\n".join(L), "## 2. Requests on the wire")
    log("wrote the db-mint section of bench/RESULTS.md")


def replace_section(begin, end, section, before):
    """Put `section` (from the `begin` marker to the `end` one) into
    RESULTS.md in place of the one there, else before the heading `before`
    (else at the end); the rest is left as the last full run wrote it."""
    path = os.path.join(BENCH, "RESULTS.md")
    text = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + section + rest.split(end, 1)[1]
    elif before in text:
        text = text.replace(before, section + "\n\n" + before, 1)
    else:
        text = text + "\n" + section + "\n"
    with open(path, "w") as f:
        f.write(text)


def rss_cell(rs):
    vals = [r["rss_kib"] for r in rs if r.get("rss_kib")]
    return f"{median(vals) / 1024:.1f}" if vals else "—"


# ---------------------------------------------------------------------------
# --compare BIN: issue 21's figures, before (BIN) and after (this tree), interleaved

COMPARE_BEGIN = "<!-- compare: begin (scripts/bench.sh --compare BIN) -->"
COMPARE_END = "<!-- compare: end -->"


def with_time(cmd):
    """`cmd` under /usr/bin/time, which writes its peak RSS (KiB) and user and
    system seconds to a file: (the command, the file). The RSS a child of this
    driver reports itself (wait4) counts this Python process's pages from
    before the exec."""
    out = os.path.join(WORK, f"rss-{uuid.uuid4().hex}")
    return ["/usr/bin/time", "-f", "%M %U %S", "-o", out] + cmd, out


def read_time(path):
    """(peak RSS in KiB, user + system ms at /usr/bin/time's 10 ms resolution)."""
    with open(path) as f:
        fields = f.read().strip().splitlines()[-1].split()
    os.unlink(path)
    cpu = sum(float(x) for x in fields[1:3]) * 1000 if len(fields) >= 3 else None
    return int(fields[0]), cpu


def read_rss(path):
    return read_time(path)[0]


def wait_cpu_ms(p):
    """Wait for Popen `p` (a command under /usr/bin/time): its exit status and
    the user + system ms of /usr/bin/time and everything it waited for (the
    command, and what the command waited for: curl and jq under the bash
    peer), from wait4, to the microsecond. Includes /usr/bin/time's own start,
    about the same for every command (`time_floor_cpu_ms` of the compare run)."""
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, (ru.ru_utime + ru.ru_stime) * 1000


def timed(cmd, env, cwd=ROOT):
    """Wall ms (including /usr/bin/time's own start, the same for every
    command) and peak RSS (KiB) of one command, stdout and stderr to /dev/null."""
    cmd, rss_file = with_time(cmd)
    t0 = time.perf_counter()
    rc = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    ms = (time.perf_counter() - t0) * 1000
    if rc != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {rc}")
    return ms, read_rss(rss_file)


def interleaved(cmds, env, rounds):
    """{name: [(ms, rss_kib)]}, every command once per round, order rotated."""
    out = {name: [] for name, _ in cmds}
    for i in range(rounds):
        for name, cmd in cmds[i % len(cmds):] + cmds[:i % len(cmds)]:
            out[name].append(timed(cmd, env))
    return out


def bulk_create_db(base, credential, n, threads=4):
    """n database tokens (documented API), mixed expiries and permissions."""
    def request(i):
        body = {"description": f"db token {i:05d} for telegraf-{i % 97}",
                "permissions": [{"action": "write", "resource": f"db{i % 7}"}]}
        if i % 3:
            body["expiresAt"] = f"2031-01-01T00:{i % 60:02d}:00Z"
        return ("/api/v0/tokens", body,
                {"Authorization": f"Bearer {credential}", "Content-Type": "application/json"})
    return bulk_post(base, n, request, (200, 201), threads)


def compare_lists(jwt, rounds):
    """`management list` / `token list` of SCALE_N tokens, table and JSON, before
    and after, beside curl fetching the same list with the same token."""
    cluster = start_cluster("lists")
    url = cluster["STACK_CLUSTER_URL"]
    mgmt = create_token(url, jwt, "bench list credential")["accessToken"]
    log(f"compare: {SCALE_N} management and {SCALE_N} database tokens")
    bulk_create(url, mgmt, SCALE_N - 1)
    bulk_create_db(url, mgmt, SCALE_N)
    env = {"PATH": os.environ["PATH"], "HOME": WORK, "LANG": "C.UTF-8",
           "INFLUX_BOOTSTRAP_CONFIG": cluster["INFLUX_BOOTSTRAP_CONFIG"],
           "INFLUX_BOOTSTRAP_CACHE_DIR": os.path.join(WORK, "lists-cache"),
           "INFLUX_BOOTSTRAP_MGMT_TOKEN": mgmt}
    # curl gets the token from a header file (never argv), as a script would.
    header = os.path.join(WORK, "lists-auth-header")
    with open(os.open(header, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
        f.write(f"Authorization: Bearer {mgmt}\n")
    rows = []
    for what, route in (("management list", "/api/v0/management/tokens"), ("token list", "/api/v0/tokens")):
        curl = ["curl", "-sS", "-o", "/dev/null", "-H", f"@{header}", url + route]
        for fmt_args, fmt_name in (([], "table"), (["--format", "json"], "JSON")):
            verb = what.split()
            cmds = [("before", [BEFORE_BIN] + verb + fmt_args), ("after", [BIN] + verb + fmt_args),
                    ("curl", curl)]
            for _, c in cmds:  # warm-up
                timed(c, env)
            res = interleaved(cmds, env, rounds)
            rows.append({"what": f"{what} ({fmt_name})", "res": res})
            log(f"compare: {what} ({fmt_name}): " + ", ".join(
                f"{k} {median([m for m, _ in v]):.0f} ms" for k, v in res.items()))
    return rows


def compare_noop(stack, rounds):
    """A scheduled run with nothing to do, before and after: `rotate
    --when-remaining 14d` and `mint --if-missing` of a management token (30
    days left), each host its own HOME and state directory."""
    url = stack["STACK_CLUSTER_URL"]
    jwt = harness_login(stack["STACK_ISSUER"])
    mgmt = create_token(url, jwt, "bench no-op credential")["accessToken"]
    base_env = {"PATH": os.environ["PATH"], "LANG": "C.UTF-8",
                "INFLUX_BOOTSTRAP_CONFIG": stack["INFLUX_BOOTSTRAP_CONFIG"]}
    homes = {}
    for name, binary in (("before", BEFORE_BIN), ("after", BIN)):
        home = os.path.join(WORK, f"noop-{name}")
        os.makedirs(home)
        env = dict(base_env, HOME=home, INFLUX_BOOTSTRAP_CACHE_DIR=os.path.join(home, "cache"),
                   INFLUX_BOOTSTRAP_STATE_DIR=os.path.join(home, "state"))
        subprocess.run([binary, "mint", "--description", f"bench no-op {name}", "--expires-in", "30d",
                        "--store", f"file:{home}/token"], env=dict(env, INFLUX_BOOTSTRAP_MGMT_TOKEN=mgmt),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        homes[name] = (binary, env, home)
    runs = {}
    for verb, args in (("rotate --when-remaining 14d", ["rotate", "--when-remaining", "14d"]),
                       ("mint --if-missing", ["mint", "--description", "bench no-op", "--if-missing",
                                              "--min-remaining", "14d"])):
        for name, (binary, env, home) in homes.items():
            timed([binary] + args + ["--store", f"file:{home}/token"], env)  # warm-up
        res = {name: [] for name in homes}
        for i in range(rounds):
            order = list(homes.items())
            for name, (binary, env, home) in order[i % 2:] + order[:i % 2]:
                before = cluster_stats(url)["requests"]
                ms, rss = timed([binary] + args + ["--store", f"file:{home}/token"], env)
                req = diff_counts(cluster_stats(url)["requests"], before)
                res[name].append((ms, rss, sum(req.values()), req))
        runs[verb] = res
        log(f"compare: {verb}: " + ", ".join(f"{k} {median([r[0] for r in v]):.1f} ms, "
                                            f"{v[-1][2]} request(s)" for k, v in res.items()))
    return runs


def compare_mint(stack, rounds):
    """`mint` (management token, database token) with a device-flow login,
    before and after, beside the bash + curl peer: overhead, requests, peak
    RSS, client CPU; each also with the servers kept warm (IMPL+warm), all
    interleaved."""
    ctx = {"issuer": stack["STACK_ISSUER"], "cluster": stack["STACK_CLUSTER_URL"],
           "profile": stack["INFLUX_BOOTSTRAP_CONFIG"],
           "idp_log": LogTail(stack["STACK_IDP_LOG"]),
           "cluster_log": LogTail(stack["STACK_CLUSTER_LOG"]),
           "one_cert": None}
    impls = ["before-ours-mint", "ours-mint", "before-ours-dbmint", "ours-dbmint", "curl"]
    for impl in impls:
        run_pipeline(impl, ctx)
    variants = [(impl, warm) for impl in impls for warm in (False, True)]
    res = {impl + ("+warm" if warm else ""): [] for impl, warm in variants}
    for i in range(rounds):
        for impl, warm in variants[i % len(variants):] + variants[:i % len(variants)]:
            res[impl + ("+warm" if warm else "")].append(run_pipeline(impl, ctx, keep_warm=warm))
        log(f"compare: mint round {i + 1}/{rounds}")
    return res


IDLE_S = 1.05


def machine_penalty(stack, rounds):
    """What this machine charges the first activity after IDLE_S of idle: per
    probe, `rounds` times a sleep of IDLE_S then one timed call ("idle"), then
    three back to back ("warm"), in ms; the probes' order rotates per round. The probes stay light on the driver's
    side (a raw socket, posix_spawn: urllib's own first call after idle costs
    tens of ms here): the IdP's discovery document (its counters are reset
    before each pipeline run), the cluster's `/__test/stats` (test routes are
    not counted), spawning /bin/true, and the IdP then the cluster in a row
    (what a `mint` does after its wait). Also the CPU ms wait4 reports for
    `/usr/bin/time /bin/true`: the floor of every client CPU figure."""
    def get(url):
        u = urllib.parse.urlsplit(url)
        req = f"GET {u.path} HTTP/1.1\r\nHost: {u.netloc}\r\nConnection: close\r\n\r\n".encode()

        def call():
            with socket.create_connection((u.hostname, u.port), timeout=30) as s:
                s.sendall(req)
                head = s.recv(65536)
                while s.recv(65536):
                    pass
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"GET {url}: {head[:40]!r}")
        return call

    def spawn():
        pid = os.posix_spawn("/bin/true", ["/bin/true"], {})
        os.waitpid(pid, 0)

    def ms(call):
        t = time.perf_counter()
        call()
        return (time.perf_counter() - t) * 1000

    idp = get(f"{stack['STACK_ISSUER']}/.well-known/openid-configuration")
    cluster = get(f"{stack['STACK_CLUSTER_URL']}/__test/stats")
    parts = []  # (d): ms of its IdP and cluster calls

    def idp_then_cluster():
        parts.append((ms(idp), ms(cluster)))

    # (e): the IdP's /token doing a token grant's work (a refresh grant: the
    # same signing and storage as the device grant's answer, repeatable).
    _, meta = http_json("GET", f"{stack['STACK_ISSUER']}/.well-known/openid-configuration")
    refresh = [device_login(stack["STACK_ISSUER"])["refresh_token"]]
    tok = urllib.parse.urlsplit(meta["token_endpoint"])

    def token():
        body = urllib.parse.urlencode({"grant_type": "refresh_token", "refresh_token": refresh[0],
                                       "client_id": CLIENT_ID, "resource": AUDIENCE}).encode()
        req = (f"POST {tok.path} HTTP/1.1\r\nHost: {tok.netloc}\r\nConnection: close\r\n"
               "Content-Type: application/x-www-form-urlencoded\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body
        with socket.create_connection((tok.hostname, tok.port), timeout=30) as s:
            s.sendall(req)
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        head, _, payload = data.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"POST {meta['token_endpoint']}: {head[:40]!r}")
        # A provider that rotates refresh tokens answers a new one.
        refresh[0] = json.loads(payload).get("refresh_token", refresh[0])

    def token_then_cluster():
        token()
        cluster()

    probes = [("idp_discovery", idp), ("cluster_stats", cluster), ("spawn_true", spawn),
              ("idp_then_cluster", idp_then_cluster), ("idp_token", token),
              ("token_then_cluster", token_then_cluster)]
    out = {name: {"warm": [], "idle": []} for name, _ in probes}
    out["idp_then_cluster"]["idle_parts"] = []
    for i in range(rounds):
        for name, call in probes[i % len(probes):] + probes[:i % len(probes)]:
            time.sleep(IDLE_S)
            out[name]["idle"].append(ms(call))
            if name == "idp_then_cluster":
                out[name]["idle_parts"].append(parts[-1])
            out[name]["warm"] += [ms(call) for _ in range(3)]
    floor = []
    for _ in range(rounds):
        cmd, path = with_time(["/bin/true"])
        floor.append(wait_cpu_ms(subprocess.Popen(cmd))[1])
        read_time(path)
    out["time_floor_cpu_ms"] = floor
    out["idle_s"] = IDLE_S
    log("compare: this machine after idle: " + ", ".join(
        f"{name} {median(out[name]['warm']):.1f} -> {median(out[name]['idle']):.1f} ms" for name, _ in probes))
    return out


def compare(before_bin):
    global BEFORE_BIN, SCALE_N
    BEFORE_BIN = os.path.abspath(before_bin)
    # The figure is for 10,000 tokens, BENCH_QUICK or not.
    SCALE_N = int(os.environ.get("BENCH_SCALE", "10000"))
    started = time.time()
    for f in (BIN, CLUSTER_BIN, BEFORE_BIN):
        if not os.path.exists(f):
            raise SystemExit(f"missing {f}: run scripts/bench.sh --compare BIN (it builds first)")
    load_start = other_load()
    rounds = 5 if QUICK else 15
    stack = start_stack()
    noop = compare_noop(stack, rounds)
    penalty = machine_penalty(stack, 10 if QUICK else 15)
    mint = compare_mint(stack, 3 if QUICK else RUNS)
    lists = compare_lists(harness_login(stack["STACK_ISSUER"]), rounds)
    load_end = other_load()
    res = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "before": BEFORE_BIN, "commit": sh("git rev-parse --short HEAD"),
           "dirty": bool(sh("git status --porcelain --untracked-files=no")),
           "load": [load_start, load_end], "noop": noop, "mint": mint, "lists": lists, "penalty": penalty,
           "seconds": time.time() - started, "rounds": rounds, "quick": QUICK, "scale": SCALE_N}
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "compare.json"), "w") as f:
        json.dump(res, f, indent=1)
    write_compare(res)


def run_header(what, load_start, load_end, caveat):
    """A section's first paragraph: what ran, the load around it, how to read it."""
    return (f"{what} Load average at the start {load_start['loadavg']} (CPU busy "
            f"{load_start['busy_pct']:.0f} %), at the end {load_end['loadavg']}: {caveat}")


def write_compare(res):
    scale = res.get("scale", SCALE_N)
    L = [COMPARE_BEGIN, "## Issue 21: before → after", ""]
    a = L.append
    a(run_header(f"`scripts/bench.sh --compare {res['before']}` on {res['date']} (after = git {res['commit']}"
                 f"{' + uncommitted changes' if res['dirty'] else ''}, this tree's release build; before = that binary)"
                 f"{', BENCH_QUICK=1: fewer runs' if res['quick'] else ''}; {res['seconds']:.0f} s. Before and after run "
                 "interleaved, same stack.", res['load'][0], res['load'][1],
                 "on two shared cores, compare the columns of one row, not runs of different days."))
    a("")
    a("| figure | target | before | after | how |")
    a("| --- | --- | ---: | ---: | --- |")
    ms = lambda xs: f"{median(xs):.1f} ms"
    mib = lambda xs: f"{median(xs) / 1024:.1f} MiB"
    for verb, r in res["noop"].items():
        b, f = r["before"], r["after"]
        a(f"| `{verb}`, nothing to do: wall | ≤ 10 ms | {ms([x[0] for x in b])} | **{ms([x[0] for x in f])}** | "
          f"median of {len(f)}, process start to exit |")
        a(f"| `{verb}`, nothing to do: cluster requests | ≤ 1 | {b[-1][2]} | **{f[-1][2]}** | "
          f"reference cluster `/__test/stats`; after: {', '.join(f'`{k}` {v}' for k, v in f[-1][3].items())} |")
        a(f"| `{verb}`, nothing to do: peak RSS | | {mib([x[1] for x in b])} | {mib([x[1] for x in f])} | /usr/bin/time %M |")
    m = res["mint"]
    pen = res.get("penalty")
    oh = lambda rs: median([r["overhead_ms"] for r in rs])
    has_cpu = lambda *rss: all(rs and all("client_cpu_ms" in r for r in rs) for rs in rss)
    cpu = lambda rs: f"{median([r['client_cpu_ms'] for r in rs]):.1f} ms"
    cpu_how = ("user + sys of the client and what it waited for (wait4 of /usr/bin/time, which adds "
               + (f"{median(pen['time_floor_cpu_ms']):.1f} ms around /bin/true" if pen else "its own")
               + f"), median of {len(m['curl'])}")
    warm_how = (f"interleaved with the rows above; a GET every {WARM_EVERY * 1000:.0f} ms to the IdP's `{WARM_ROUTES[0]}` "
                f"and the cluster's `{WARM_ROUTES[1]}` (counted nowhere) during the run")
    srv = lambda rs: median([r["idp_ms"] + r["cluster_ms"] for r in rs])
    srv_how = ("the IdP's and the cluster's own request logs for this run (whole ms per request, "
               "test routes left out), median: their work, and the machine's after-idle charge on it")
    said = set()

    def once(text):
        """`text` the first time, then a pointer to it."""
        if text in said:
            return "as for `mint --store file:`"
        said.add(text)
        return text

    for label, impl, target in (("`mint --store file:` (management token)", "ours-mint", "≤ 20 ms"),
                                ("`mint --write-database` (database token)", "ours-dbmint", "≤ 22 ms")):
        b, f = m["before-" + impl], m[impl]
        tot = lambda rs: rs[-1]["requests"]["discovery"] + rs[-1]["requests"]["device_authorization"] + \
            rs[-1]["requests"]["token_polls"] + rs[-1]["requests"]["jwks"] + rs[-1]["requests"]["create"] + \
            rs[-1]["requests"]["verify"] + rs[-1]["requests"]["cluster_other"]
        a(f"| {label}: overhead | {target} | {oh(b):.0f} ms | **{oh(f):.0f} ms** | wall − polls × 1 s, median of {len(f)} |")
        if m.get(f"before-{impl}+warm") and m.get(f"{impl}+warm"):
            a(f"| {label}: overhead, servers kept warm | | {oh(m[f'before-{impl}+warm']):.0f} ms | "
              f"{oh(m[f'{impl}+warm']):.0f} ms | {once(warm_how)} |")
        a(f"| {label}: servers' share | | {srv(b):.0f} ms | {srv(f):.0f} ms | {once(srv_how)} |")
        a(f"| {label}: client's share | | {oh(b) - srv(b):.0f} ms | **{oh(f) - srv(f):.0f} ms** | overhead − servers' share |")
        a(f"| {label}: requests | | {tot(b)} | {tot(f)} | IdP + cluster stats |")
        a(f"| {label}: peak RSS | ≤ 9 MiB | {rss_cell(b)} MiB | **{rss_cell(f)} MiB** | /usr/bin/time %M |")
        if has_cpu(b, f):
            a(f"| {label}: client CPU | | {cpu(b)} | {cpu(f)} | {once(cpu_how)} |")
    c = m["curl"]
    peer = "peer: bash + curl + jq, same pipeline"
    a(f"| {peer} | | | {oh(c):.0f} ms, "
      f"{c[-1]['requests']['discovery'] + c[-1]['requests']['device_authorization'] + c[-1]['requests']['token_polls'] + c[-1]['requests']['create']} requests, "
      f"{rss_cell(c)} MiB | overhead, requests, peak RSS (bash and what it waited for) |")
    a(f"| {peer}: servers' share, client's share | | | {srv(c):.0f} ms, {oh(c) - srv(c):.0f} ms | {once(srv_how)} |")
    if m.get("curl+warm"):
        a(f"| {peer}: overhead, servers kept warm | | | {oh(m['curl+warm']):.0f} ms | {once(warm_how)} |")
    if has_cpu(c):
        a(f"| {peer}: client CPU | | | {cpu(c)} | bash, curl and jq it waited for; {once(cpu_how)} |")
    for row in res["lists"]:
        r = row["res"]
        curl = median([x[0] for x in r["curl"]])
        b, f = r["before"], r["after"]
        a(f"| `{row['what']}` of {scale:,}: wall ÷ curl | ≤ 1.5 | {median([x[0] for x in b]) / curl:.2f} "
          f"({ms([x[0] for x in b])}) | **{median([x[0] for x in f]) / curl:.2f}** ({ms([x[0] for x in f])}) | "
          f"curl {curl:.1f} ms, same list, same token; median of {len(f)}, stdout to /dev/null |")
        a(f"| `{row['what']}` of {scale:,}: peak RSS | ≤ 12 MiB | {mib([x[1] for x in b])} | "
          f"**{mib([x[1] for x in f])}** | /usr/bin/time %M (curl: {mib([x[1] for x in r['curl']])}) |")
    a("")
    a("The lists: `INFLUX_BOOTSTRAP_MGMT_TOKEN` (no IdP involved), a reference cluster holding "
      f"{scale:,} management and {scale:,} database tokens; curl gets the same token from a header file. "
      "The no-op: a management token minted with 30 days left, `file:` store, each binary its own HOME and "
      "state directory. `mint`: device-flow login approved at once (IdP interval 1 s), fresh session cache.")
    if pen:
        a("")
        a(f"### This machine: the first request after {pen['idle_s']} s idle")
        a("")
        a(f"| median of {len(pen['spawn_true']['idle'])} | warm | after {pen['idle_s']} s idle | penalty |")
        a("| --- | ---: | ---: | ---: |")
        cost = {}
        for key, what in (("idp_discovery", "(a) IdP `GET /.well-known/openid-configuration`"),
                          ("cluster_stats", "(b) cluster `GET /__test/stats`"),
                          ("spawn_true", "(c) spawn `/bin/true`"),
                          ("idp_then_cluster", "(d) (a) then (b)"),
                          ("idp_token", "(e) IdP `POST /token` (refresh grant: a token answer's signing and storage)"),
                          ("token_then_cluster", "(f) (e) then (b), as `mint` after its wait")):
            if key not in pen:
                continue
            w, i = median(pen[key]["warm"]), median(pen[key]["idle"])
            cost[key] = i - w
            a(f"| {what} | {w:.1f} ms | {i:.1f} ms | {i - w:.1f} ms |")
        a("")
        d, paid = next(((row, cost[key]) for key, row in (
            ("token_then_cluster", "row (f)"), ("idp_then_cluster", "row (d)")) if key in cost),
            ("(a) + (b)", cost["idp_discovery"] + cost["cluster_stats"]))
        kept = ""
        if m.get("ours-mint+warm") and m.get("curl+warm"):
            kept = (f" and its \"servers kept warm\" row, which removes part of the penalty, not all "
                    f"({oh(m['ours-mint']) - oh(m['ours-mint+warm']):.0f} ms off `mint` (after), "
                    f"{oh(c) - oh(m['curl+warm']):.0f} ms off the peer)")
            if has_cpu(c, m["curl+warm"]):
                kept += (f"; the pings also take {median([r['client_cpu_ms'] for r in c]) - median([r['client_cpu_ms'] for r in m['curl+warm']]):.0f} ms "
                         "off the peer's client CPU, so the effect is the machine's, not only the servers'")
        a("This machine (a Firecracker VM) charges the first activity of a process after about a second idle "
          f"(warm: three calls back to back; after idle: the first call after a {pen['idle_s']} s sleep of the driver, "
          "which uses a raw socket and posix_spawn to keep its own share small). The device flow sleeps 1 s by protocol, "
          "so every run, ours and the peer's, pays it after the wait: the client waking, the IdP's `/token`, the "
          f"cluster's first request — {d}, {paid:.0f} ms. The charge grows with the work done after the idle "
          "second: the IdP's `/token` (a few ms warm) pays far more than its discovery document. "
          "A client's own share of an overhead row "
          + (f"lies roughly between overhead − {paid:.0f} ms{kept}." if kept else f"is roughly overhead − {paid:.0f} ms.")
          + " Client CPU waits on no server: compare it across machines, "
          "knowing it too grows on a cold machine.")
    a(COMPARE_END)
    replace_section(COMPARE_BEGIN, COMPARE_END, "\n".join(L), "## 1. Pipeline overhead")
    log("wrote the compare section of bench/RESULTS.md")


def main():
    if sys.argv[1:2] == ["--compare"] and len(sys.argv) == 3:
        compare(sys.argv[2])
        return
    if sys.argv[1:] == ["--compare-report"]:
        with open(os.path.join(OUT, "compare.json")) as f:
            write_compare(json.load(f))
        return
    if sys.argv[1:] == ["--db-mint-only"]:
        db_mint_only()
        return
    if sys.argv[1:] == ["--report-only"]:
        # Rewrite RESULTS.md from the raw numbers of the last run.
        with open(os.path.join(OUT, "results.json")) as f:
            write_report(json.load(f), os.path.join(BENCH, "RESULTS.md"))
        return
    started = time.time()
    bench_started = float(os.environ.get("BENCH_STARTED", started))
    os.makedirs(OUT, exist_ok=True)
    for f in (BIN, CLUSTER_BIN, VENV_PY, os.path.join(PEER_NODE_DIR, "node_modules", "openid-client")):
        if not os.path.exists(f):
            raise SystemExit(f"missing {f}: run scripts/bench.sh (it builds and installs everything)")
    res = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "quick": QUICK, "params": params(),
           "load": {"start": other_load()}}
    res["machine"] = machine_info()
    stack = start_stack()
    issuer = stack["STACK_ISSUER"]
    log(f"IdP {issuer}, cluster {stack['STACK_CLUSTER_URL']}")
    res["pipeline"] = bench_pipeline(stack)
    res["cold"] = bench_cold_start(stack)
    jwt = harness_login(issuer)
    res["scale"] = bench_scale(jwt)
    res["load"]["before_load_test"] = other_load()
    res["load"]["run"] = bench_load(jwt)
    res["load"]["end"] = other_load()
    res["bench_duration_s"] = time.time() - started
    res["duration_s"] = time.time() - bench_started
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(res, f, indent=1)
    write_report(res, os.path.join(BENCH, "RESULTS.md"))
    log(f"wrote bench/RESULTS.md ({res['bench_duration_s']:.0f} s of measuring)")


if __name__ == "__main__":
    main()
