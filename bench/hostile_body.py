#!/usr/bin/env python3
"""Peak memory and time of `influx-bootstrap login` against a hostile
identity provider whose discovery document is huge (issue 11, item 11).

    python3 bench/hostile_body.py [BINARY] [PADDING_BYTES]

Streams a valid discovery document padded to PADDING_BYTES (default 1.5 GiB)
from a loopback socket, without holding it in memory, and runs BINARY
(default target/release/influx-bootstrap, else target/debug) under
/usr/bin/time. Prints exit code, peak RSS and wall time. Not run in CI.
"""
import os
import socket
import subprocess
import sys
import tempfile
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def default_binary():
    for kind in ("release", "debug"):
        p = os.path.join(ROOT, "target", kind, "influx-bootstrap")
        if os.path.exists(p):
            return p
    sys.exit("build the CLI first (cargo build --release)")


def serve(sock, pad):
    chunk = b"a" * 65536
    base = "http://127.0.0.1:%d" % sock.getsockname()[1]
    head = (
        '{"issuer":"%s","device_authorization_endpoint":"%s/d",'
        '"token_endpoint":"%s/t","padding":"' % (base, base, base)
    ).encode()
    while True:
        conn, _ = sock.accept()

        def one(c):
            try:
                c.recv(65536)
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                          b"Connection: close\r\n\r\n" + head)
                left = pad
                while left > 0:
                    n = min(left, len(chunk))
                    c.sendall(chunk[:n])
                    left -= n
                c.sendall(b'"}')
            except OSError:
                pass
            finally:
                c.close()

        threading.Thread(target=one, args=(conn,), daemon=True).start()


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else default_binary()
    pad = int(sys.argv[2]) if len(sys.argv) > 2 else 3 << 29
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    threading.Thread(target=serve, args=(sock, pad), daemon=True).start()
    with tempfile.TemporaryDirectory() as home:
        config = os.path.join(home, "config.toml")
        with open(config, "w") as f:
            f.write('[[profile]]\nname = "default"\nproduct = "clustered"\n'
                    'host = "127.0.0.1"\nport = "8086"\n[profile.auth.oauth2]\n'
                    'client_id = "x"\nissuer = "http://127.0.0.1:%d"\n'
                    % sock.getsockname()[1])
        env = {"HOME": home, "INFLUX_BOOTSTRAP_CONFIG": config,
               "INFLUX_BOOTSTRAP_CACHE_DIR": os.path.join(home, "cache"),
               "PATH": os.environ.get("PATH", "")}
        r = subprocess.run(
            ["/usr/bin/time", "-f", "peak_rss_kib=%M wall_s=%e", binary,
             "login", "--browser", "never", "--format", "json"],
            env=env, capture_output=True, text=True)
    print("padding %d bytes: exit %d; %s" % (pad, r.returncode, r.stderr.strip().splitlines()[-1]))
    print("  " + (r.stderr.strip().splitlines() or [""])[0])


if __name__ == "__main__":
    main()
