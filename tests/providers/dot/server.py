"""django-oauth-toolkit (DOT) as a device-flow OpenID provider, for tests.

One file, no project layout: Django is configured in code, the database is a
SQLite file in a temp dir (tables made from the models at start), and the server is wsgiref on a
loopback port. Once it listens it prints one JSON line on stdout:
{"issuer": "http://127.0.0.1:PORT/o", "port": PORT}.

Stock DOT 3.4.1 behaviour is kept on purpose (the tests exist to meet it):
discovery documents without `device_authorization_endpoint`, no
`expired_token`, 404 `device_not_found`, case-sensitive user codes.

Test-only routes (never in a real deployment):
  POST /__test/approve  {"user_code", "user"}  approve as that user
  POST /__test/deny     {"user_code", "user"}  deny
  GET  /__test/stats    counters and pending user codes

Flags: --port N (0 = any), --interval S (DEVICE_FLOW_INTERVAL),
--code-ttl S (expires_in of device codes), --access-token-ttl S.
"""

import argparse
import json
import os
import sys
import tempfile
import threading

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, default=0)
parser.add_argument("--interval", type=int, default=1)
parser.add_argument("--code-ttl", type=int, default=600)
parser.add_argument("--access-token-ttl", type=int, default=3600)
args = parser.parse_args()

from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402

KEY = (
    rsa.generate_private_key(public_exponent=65537, key_size=2048)
    .private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    .decode()
)

DB_DIR = tempfile.mkdtemp(prefix="dot-idp-")
CLIENT_ID = "influx-bootstrap"
WORKLOAD_CLIENT_ID = "workload-secret"
WORKLOAD_SECRET = "dot-workload-secret-for-tests"
USERS = {
    "admin": "ada@example.test",
    "viewer": "vic@example.test",
}

import django  # noqa: E402
from django.conf import settings  # noqa: E402

settings.configure(
    DEBUG=False,
    SECRET_KEY="test-only-not-secret",
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    USE_TZ=True,
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=[
        "django.contrib.contenttypes",
        "django.contrib.auth",
        "oauth2_provider",
    ],
    MIDDLEWARE=[],
    DATABASES={
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.path.join(DB_DIR, "db.sqlite3"),
        }
    },
    LOGGING_CONFIG=None,
    # Tables straight from the models (`migrate --run-syncdb`), not by
    # replaying every migration: a fresh database per server, ready in a
    # fraction of the time.
    MIGRATION_MODULES={"contenttypes": None, "auth": None, "oauth2_provider": None},
    OAUTH2_PROVIDER={
        "OIDC_ENABLED": True,
        "OIDC_RSA_PRIVATE_KEY": KEY,
        "SCOPES": {
            "openid": "OpenID Connect",
            "profile": "Profile",
            "email": "Email",
            "offline_access": "Refresh tokens",
        },
        "DEFAULT_SCOPES": ["openid"],
        "DEVICE_FLOW_INTERVAL": args.interval,
        "ACCESS_TOKEN_EXPIRE_SECONDS": args.access_token_ttl,
        "OAUTH_DEVICE_VERIFICATION_URI": "http://127.0.0.1/o/device/",
        # The oauthlib validator class with the claims our tests look at.
        "OAUTH2_VALIDATOR_CLASS": "__main__.Validator",
    },
    PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
)
django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.http import JsonResponse  # noqa: E402
from django.urls import include, path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402
from oauthlib.oauth2.rfc8628.endpoints.device_authorization import (  # noqa: E402
    DeviceAuthorizationEndpoint,
)
from oauth2_provider.models import get_application_model, get_device_grant_model  # noqa: E402
from oauth2_provider.oauth2_validators import OAuth2Validator  # noqa: E402
import oauth2_provider.urls  # noqa: E402

STATS = {"device_authorization": 0, "token": 0, "revocation": 0}
STATS_LOCK = threading.Lock()


class Validator(OAuth2Validator):
    # OIDC Core 5.1 claims for the `profile`/`email` scopes.
    oidc_claim_scope = OAuth2Validator.oidc_claim_scope

    def get_additional_claims(self, request):
        return {
            "email": request.user.email,
            "preferred_username": request.user.username,
        }


# oauthlib's pre-configured device server takes no `expires_in` (always
# 1800 s); the tests need a short one to reach the end of a code's life.
_orig_init = DeviceAuthorizationEndpoint.__init__


def _init_with_ttl(self, *a, **kw):
    _orig_init(self, *a, **kw)
    self._expires_in = args.code_ttl


DeviceAuthorizationEndpoint.__init__ = _init_with_ttl


def count(name):
    with STATS_LOCK:
        STATS[name] += 1


def counting(view, name):
    @csrf_exempt
    def wrapped(request, *a, **kw):
        if request.method == "POST":
            count(name)
        return view(request, *a, **kw)

    return wrapped


def _decide(request, status):
    body = json.loads(request.body or b"{}")
    Device = get_device_grant_model()
    try:
        # DOT compares user codes literally: so do we.
        grant = Device.objects.get(user_code=body.get("user_code"))
    except Device.DoesNotExist:
        return JsonResponse({"error": "no such user code"}, status=404)
    if grant.status != Device.AUTHORIZATION_PENDING:
        return JsonResponse({"error": f"grant is {grant.status}"}, status=409)
    try:
        user = User.objects.get(username=body.get("user"))
    except User.DoesNotExist:
        return JsonResponse({"error": "no such user"}, status=404)
    grant.status = status
    grant.user = user
    grant.save()
    return JsonResponse({"ok": True})


@csrf_exempt
def approve(request):
    return _decide(request, get_device_grant_model().AUTHORIZED)


@csrf_exempt
def deny(request):
    return _decide(request, get_device_grant_model().DENIED)


def stats(request):
    Device = get_device_grant_model()
    pending = list(
        Device.objects.filter(status=Device.AUTHORIZATION_PENDING).values_list("user_code", flat=True)
    )
    with STATS_LOCK:
        out = dict(STATS)
    out["pending_user_codes"] = pending
    return JsonResponse(out)


from oauth2_provider import views as dot_views  # noqa: E402

urlpatterns = [
    path("__test/approve", approve),
    path("__test/deny", deny),
    path("__test/stats", stats),
    # Counted copies of the endpoints the CLI calls, ahead of DOT's own.
    path(
        "o/device-authorization/",
        counting(dot_views.DeviceAuthorizationView.as_view(), "device_authorization"),
    ),
    path("o/token/", counting(dot_views.TokenView.as_view(), "token")),
    path("o/revoke_token/", counting(dot_views.RevokeTokenView.as_view(), "revocation")),
    path("o/", include(oauth2_provider.urls)),
    path("", include((oauth2_provider.urls.metadata_urlpatterns, "metadata"))),
]


def setup_db():
    call_command("migrate", verbosity=0, interactive=False, run_syncdb=True)
    for name, email in USERS.items():
        User.objects.create_user(name, email=email, password="unused-" + name)
    Application = get_application_model()
    Application.objects.create(
        name="influx-bootstrap",
        client_id=CLIENT_ID,
        client_type=Application.CLIENT_PUBLIC,
        authorization_grant_type=Application.GRANT_DEVICE_CODE,
        algorithm=Application.RS256_ALGORITHM,
    )
    # A confidential client for the client credentials grant (RFC 6749
    # §4.4; issue 20). DOT stores the secret hashed; this one is a test
    # fixture's, known to the tests.
    Application.objects.create(
        name="workload",
        client_id=WORKLOAD_CLIENT_ID,
        client_secret=WORKLOAD_SECRET,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
    )


def main():
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from django.core.wsgi import get_wsgi_application

    setup_db()

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, fmt, *a):
            sys.stderr.write("%s\n" % (fmt % a))

    server = make_server("127.0.0.1", args.port, get_wsgi_application(), handler_class=QuietHandler)
    port = server.server_address[1]
    print(json.dumps({"issuer": f"http://127.0.0.1:{port}/o", "port": port}), flush=True)
    # The test harness holds our stdin; its end (the harness died) ends us.
    threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
