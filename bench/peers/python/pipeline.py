#!/usr/bin/env python3
"""Peer implementation of influx-bootstrap's `login` + `management create`
pipeline on authlib (OAuth2Session, its requests integration), for bench/ only:
discovery -> device authorization (RFC 8628, with `resource`) -> poll the
token endpoint with OAuth2Session.fetch_token(grant_type=device_code),
honouring `interval` and `slow_down` -> POST {cluster}/api/v0/management/tokens
with requests.

authlib has no device-flow poller of its own, so the loop below is the RFC 8628
§3.4/§3.5 client: wait `interval` (5 s if absent) before every poll, the first
included; `slow_down` adds 5 s; `authorization_pending` keeps polling.

  python pipeline.py --issuer URL --client-id ID --resource URI --cluster URL \
      [--description TEXT] [--scope "openid profile email offline_access"]

stdout, one JSON object per line:
  {"event":"device_code","user_code":...}        as soon as the code is known (for the approver)
  {"event":"done","wall_ms":...,"polls":...,...}  at the end; wall_ms counts from process start
Exit status 0 on success, 1 on any failure (message on stderr).
"""
import time

# Process start as the kernel saw it is not portable; take the interpreter's
# earliest clock reading we can, before the (slow) imports.
_T0 = time.monotonic()

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import uuid  # noqa: E402
from collections import Counter  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

import requests  # noqa: E402
from authlib.integrations.requests_client import OAuth2Session, OAuthError  # noqa: E402

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--issuer", required=True)
    ap.add_argument("--client-id", required=True)
    ap.add_argument("--resource", required=True)
    ap.add_argument("--cluster", required=True)
    ap.add_argument("--description", default="bench peer (python)")
    ap.add_argument("--scope", default="openid profile email offline_access")
    a = ap.parse_args()

    marks = {"imported": round((time.monotonic() - _T0) * 1000)}

    def mark(name):
        marks[name] = round((time.monotonic() - _T0) * 1000)

    requests_by_path = Counter()

    def count(resp, *args, **kwargs):
        requests_by_path[urlsplit(resp.request.url).path] += 1
        return resp

    # One session (one connection pool) for everything, like the others.
    sess = OAuth2Session(client_id=a.client_id, token_endpoint_auth_method="none")
    sess.hooks["response"].append(count)

    issuer = a.issuer.rstrip("/")
    r = sess.get(f"{issuer}/.well-known/openid-configuration", withhold_token=True, timeout=30)
    r.raise_for_status()
    meta = r.json()
    if meta.get("issuer", "").rstrip("/") != issuer:
        raise SystemExit(f"discovery: issuer mismatch {meta.get('issuer')!r}")
    mark("discovered")

    r = sess.post(
        meta["device_authorization_endpoint"],
        data={"client_id": a.client_id, "scope": a.scope, "resource": a.resource},
        headers={"Accept": "application/json"},
        withhold_token=True,
        timeout=30,
    )
    da = r.json()
    if r.status_code != 200 or "device_code" not in da:
        raise SystemExit(f"device authorization: HTTP {r.status_code} {da.get('error')}")
    mark("device_code")
    print(json.dumps({"event": "device_code", "user_code": da["user_code"],
                      "verification_uri": da.get("verification_uri"),
                      "interval": da.get("interval")}), flush=True)

    interval = int(da.get("interval") or 5)
    deadline = time.monotonic() + int(da.get("expires_in") or 600)
    while True:
        time.sleep(interval)
        if time.monotonic() > deadline:
            raise SystemExit("device code expired")
        try:
            token = sess.fetch_token(
                meta["token_endpoint"],
                grant_type=DEVICE_CODE_GRANT,
                device_code=da["device_code"],
                timeout=30,
            )
            break
        except OAuthError as e:
            if e.error == "authorization_pending":
                continue
            if e.error == "slow_down":
                interval += 5
                continue
            raise
    mark("authorized")

    r = sess.post(
        f"{a.cluster.rstrip('/')}/api/v0/management/tokens",
        json={"description": a.description, "expiresAt": None},
        headers={"Idempotency-Key": str(uuid.uuid4()), "Accept": "application/json",
                 "Authorization": f"Bearer {token['access_token']}"},
        withhold_token=True,  # the header above; the cluster is not the AS
        timeout=30,
    )
    body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
    if r.status_code != 201 or not isinstance(body.get("accessToken"), str):
        raise SystemExit(f"create: HTTP {r.status_code} {body.get('code')} {body.get('message')}")
    mark("created")

    print(json.dumps({
        "event": "done",
        "wall_ms": marks["created"],
        "marks": marks,
        "polls": requests_by_path[urlsplit(meta["token_endpoint"]).path],
        "requests": dict(requests_by_path),
        "id": body.get("id"),
        "token_prefix": body.get("tokenPrefix"),
    }), flush=True)


if __name__ == "__main__":
    try:
        main()
    except SystemExit as e:
        if isinstance(e.code, str):
            print(f"peer-python: {e.code}", file=sys.stderr)
            sys.exit(1)
        raise
    except (OAuthError, requests.RequestException) as e:
        print(f"peer-python: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
