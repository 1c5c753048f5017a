#!/usr/bin/env python3
"""How long after approval does `login` return? Starts the local IdP
(tests/idp) with the given poll interval, runs `influx-bootstrap login` N
times, approves each code through the provider's pages, and reports the time
from the approval finishing to the `authorized` event (median, min, max).

usage: bench/approval_latency.py BINARY [--interval 1] [--runs 7]
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time, urllib.request

ap = argparse.ArgumentParser()
ap.add_argument("binary")
ap.add_argument("--interval", type=int, default=1)
ap.add_argument("--runs", type=int, default=7)
a = ap.parse_args()
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
idp = subprocess.Popen(["node", f"{root}/tests/idp/server.mjs", "--interval", str(a.interval)],
                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
issuer = json.loads(idp.stdout.readline())["issuer"]
lat = []
with tempfile.TemporaryDirectory() as d:
    cfg = os.path.join(d, "c.toml")
    open(cfg, "w").write(f'[[profile]]\nname="default"\nhost="127.0.0.1"\nport="8086"\n'
                         f'[profile.auth.oauth2]\nclient_id="influx-bootstrap"\nissuer="{issuer}"\n')
    env = {"PATH": os.environ["PATH"], "HOME": d, "INFLUX_BOOTSTRAP_CONFIG": cfg,
           "INFLUX_BOOTSTRAP_CACHE_DIR": os.path.join(d, "cache")}
    for _ in range(a.runs):
        p = subprocess.Popen([a.binary, "login", "--force", "--format", "json", "--browser", "never"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
        code = json.loads(p.stdout.readline())["user_code"]
        req = urllib.request.Request(f"{issuer}/__test/approve", method="POST",
                                     data=json.dumps({"user_code": code, "user": "admin"}).encode(),
                                     headers={"content-type": "application/json"})
        urllib.request.urlopen(req).read()
        t0 = time.monotonic()
        ev = json.loads(p.stdout.readline())
        t1 = time.monotonic()
        assert ev["event"] == "authorized", ev
        p.wait()
        lat.append(t1 - t0)
idp.terminate()
print(f"interval {a.interval}s, {a.runs} runs: approval -> authorized median {statistics.median(lat)*1000:.0f} ms, "
      f"min {min(lat)*1000:.0f} ms, max {max(lat)*1000:.0f} ms")
