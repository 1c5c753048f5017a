"""Authlib (Flask) as an RFC 8628 device-flow authorization server, for tests.

A plain OAuth 2.0 server (no OpenID Connect): its metadata is the RFC 8414
document at /.well-known/oauth-authorization-server; access tokens are opaque.
Storage is in memory. Once it listens it prints one JSON line on stdout:
{"issuer": "http://127.0.0.1:PORT", "port": PORT}.

Authlib leaves `slow_down` to the application (`should_slow_down`): here a poll
sooner than --enforce-interval seconds after the previous one is answered
`slow_down`, and POST /__test/slow-down {"polls": n} forces it for the next n
polls whenever they come (so a test need not race the clock).

Test-only routes (never in a real deployment):
  POST /__test/approve    {"user_code", "user"}
  POST /__test/deny       {"user_code", "user"}
  POST /__test/slow-down  {"polls"}
  GET  /__test/stats      counters and pending user codes

Flags: --port N (0 = any), --interval S, --enforce-interval S, --code-ttl S,
--access-token-ttl S, --no-device-grant (the client lacks the device grant).
"""

import argparse
import json
import logging
import os
import hmac
import sys
import threading
import time

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc8628 import (
    DEVICE_CODE_GRANT_TYPE,
    DeviceAuthorizationEndpoint,
    DeviceCodeGrant,
    DeviceCredentialDict,
)
from flask import Flask, jsonify, request

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, default=0)
parser.add_argument("--interval", type=int, default=1)
parser.add_argument("--enforce-interval", type=int, default=0)
parser.add_argument("--code-ttl", type=int, default=600)
parser.add_argument("--access-token-ttl", type=int, default=3600)
parser.add_argument("--no-device-grant", action="store_true")
args = parser.parse_args()

CLIENT_ID = "influx-bootstrap"
USERS = {"admin": "ada@example.test", "viewer": "vic@example.test"}

LOCK = threading.RLock()
DEVICES = {}  # device_code -> DeviceCredentialDict
DECISIONS = {}  # user_code -> (user, approved)
LAST_POLL = {}  # device_code -> monotonic time
TOKENS = {}  # access or refresh token -> Token
STATS = {"device_authorization": 0, "token_device_code": 0, "token_refresh": 0, "slow_down": 0, "revocation": 0}
FORCED_SLOW_DOWN = [0]


class Client:
    def get_client_id(self):
        return CLIENT_ID

    def get_default_redirect_uri(self):
        return None

    def get_allowed_scope(self, scope):
        return scope

    def check_redirect_uri(self, redirect_uri):
        return False

    def check_client_secret(self, client_secret):
        return False

    def check_endpoint_auth_method(self, method, endpoint):
        # A public client (RFC 6749 §2.1): no secret anywhere.
        return method == "none"

    def check_response_type(self, response_type):
        return False

    def check_grant_type(self, grant_type):
        if grant_type == DEVICE_CODE_GRANT_TYPE:
            return not args.no_device_grant
        return grant_type == "refresh_token"


class Token(dict):
    def check_client(self, client):
        return self["client_id"] == client.get_client_id()

    def get_scope(self):
        return self.get("scope", "")

    def get_expires_in(self):
        return self["expires_in"]

    def is_expired(self):
        return self["issued_at"] + self["expires_in"] < time.time()

    def is_revoked(self):
        return self.get("revoked", False)

    def get_user(self):
        return self["user"]


# A confidential client for the client credentials grant (RFC 6749 §4.4;
# issue 20). The secret is a test fixture's, known to the tests.
WORKLOAD_CLIENT_ID = "workload-secret"
WORKLOAD_SECRET = "authlib-workload-secret-for-tests"


class WorkloadClient(Client):
    def get_client_id(self):
        return WORKLOAD_CLIENT_ID

    def check_client_secret(self, client_secret):
        return hmac.compare_digest(client_secret, WORKLOAD_SECRET)

    def check_endpoint_auth_method(self, method, endpoint):
        return method in ("client_secret_basic", "client_secret_post")

    def check_grant_type(self, grant_type):
        return grant_type == "client_credentials"


def query_client(client_id):
    if client_id == WORKLOAD_CLIENT_ID:
        return WorkloadClient()
    return Client() if client_id == CLIENT_ID else None


def save_token(token, req):
    with LOCK:
        t = Token(
            client_id=req.client.get_client_id() if req.client else CLIENT_ID,
            user=req.user,
            scope=token.get("scope", ""),
            issued_at=time.time(),
            expires_in=token["expires_in"],
            access_token=token["access_token"],
            refresh_token=token.get("refresh_token"),
        )
        TOKENS[token["access_token"]] = t
        if token.get("refresh_token"):
            TOKENS[token["refresh_token"]] = t


class DeviceEndpoint(DeviceAuthorizationEndpoint):
    CLIENT_AUTH_METHODS = ["none"]
    EXPIRES_IN = args.code_ttl
    INTERVAL = args.interval

    def get_verification_uri(self):
        return request.host_url.rstrip("/") + "/device"

    def save_device_credential(self, client_id, scope, data):
        with LOCK:
            STATS["device_authorization"] += 1
            DEVICES[data["device_code"]] = DeviceCredentialDict(
                client_id=client_id,
                scope=scope,
                expires_at=time.time() + data["expires_in"],
                **data,
            )


class DeviceGrant(DeviceCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["none"]

    def query_device_credential(self, device_code):
        with LOCK:
            STATS["token_device_code"] += 1
            return DEVICES.get(device_code)

    def query_user_grant(self, user_code):
        with LOCK:
            return DECISIONS.get(user_code)

    def should_slow_down(self, credential):
        with LOCK:
            now = time.monotonic()
            last = LAST_POLL.get(credential["device_code"])
            LAST_POLL[credential["device_code"]] = now
            slow = False
            if FORCED_SLOW_DOWN[0] > 0:
                FORCED_SLOW_DOWN[0] -= 1
                slow = True
            elif last is not None and now - last < args.enforce_interval:
                slow = True
            if slow:
                STATS["slow_down"] += 1
            return slow


class RefreshGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["none"]
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token):
        with LOCK:
            STATS["token_refresh"] += 1
            t = TOKENS.get(refresh_token)
            if t and t["refresh_token"] == refresh_token and not t.is_revoked():
                return t
            return None

    def authenticate_user(self, credential):
        return credential["user"]

    def revoke_old_credential(self, credential):
        with LOCK:
            credential["revoked"] = True


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = ["none"]

    def query_token(self, token_string, token_type_hint):
        with LOCK:
            STATS["revocation"] += 1
            return TOKENS.get(token_string)

    def revoke_token(self, token, req):
        with LOCK:
            token["revoked"] = True


app = Flask(__name__)
app.config.update(
    OAUTH2_SCOPES_SUPPORTED=["openid", "profile", "email", "offline_access"],
    OAUTH2_REFRESH_TOKEN_GENERATOR=True,
    OAUTH2_TOKEN_EXPIRES_IN={
        DEVICE_CODE_GRANT_TYPE: args.access_token_ttl,
        "refresh_token": args.access_token_ttl,
        "client_credentials": args.access_token_ttl,
    },
)
server = AuthorizationServer(app, query_client=query_client, save_token=save_token)
server.register_endpoint(DeviceEndpoint)
server.register_endpoint(Revocation)
server.register_grant(DeviceGrant)
server.register_grant(RefreshGrant)


class WorkloadGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


server.register_grant(WorkloadGrant)


@app.post("/device_authorization")
def device_authorization():
    return server.create_endpoint_response(DeviceEndpoint.ENDPOINT_NAME)


@app.post("/token")
def token():
    return server.create_token_response()


@app.post("/revoke")
def revoke():
    return server.create_endpoint_response(Revocation.ENDPOINT_NAME)


@app.get("/.well-known/oauth-authorization-server")
def metadata():
    base = request.host_url.rstrip("/")
    # RFC 8414 §2 (and RFC 8628 §4 for the device endpoint).
    return jsonify(
        issuer=base,
        token_endpoint=base + "/token",
        device_authorization_endpoint=base + "/device_authorization",
        revocation_endpoint=base + "/revoke",
        grant_types_supported=[DEVICE_CODE_GRANT_TYPE, "refresh_token", "client_credentials"],
        token_endpoint_auth_methods_supported=["none", "client_secret_basic", "client_secret_post"],
        scopes_supported=app.config["OAUTH2_SCOPES_SUPPORTED"],
        response_types_supported=[],
    )


def _decide(approved):
    body = request.get_json(force=True)
    code, user = body.get("user_code"), body.get("user")
    if user not in USERS:
        return jsonify(error="no such user"), 404
    with LOCK:
        if not any(d["user_code"] == code for d in DEVICES.values()):
            return jsonify(error="no such user code"), 404
        if code in DECISIONS:
            return jsonify(error="already decided"), 409
        DECISIONS[code] = (user, approved)
    return jsonify(ok=True)


@app.post("/__test/approve")
def approve():
    return _decide(True)


@app.post("/__test/deny")
def deny():
    return _decide(False)


@app.post("/__test/slow-down")
def slow_down():
    with LOCK:
        FORCED_SLOW_DOWN[0] = int(request.get_json(force=True).get("polls", 1))
    return jsonify(ok=True)


@app.get("/__test/stats")
def stats():
    with LOCK:
        out = dict(STATS)
        out["pending_user_codes"] = [d["user_code"] for d in DEVICES.values() if d["user_code"] not in DECISIONS]
    return jsonify(out)


def main():
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    srv = make_server("127.0.0.1", args.port, app, threaded=True)
    port = srv.server_port
    print(json.dumps({"issuer": f"http://127.0.0.1:{port}", "port": port}), flush=True)
    # The test harness holds our stdin; its end (the harness died) ends us.
    threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
