"""Creates tests/providers/.venv with the pinned packages of requirements.txt.

Used by the test support (test-support/src/pyidp.rs, under a cross-process
lock) and by .ci/run. Every package, transitive ones included, is pinned in
requirements.txt, so pip installs with --no-deps: nothing unpinned sneaks in.
The last step copies requirements.txt to .venv/installed-requirements.txt;
a venv without that copy (or with a different one) is rebuilt from scratch.
"""

import os
import shutil
import subprocess
import sys
import venv

HERE = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(HERE, ".venv")
REQS = os.path.join(HERE, "requirements.txt")
MARKER = os.path.join(VENV, "installed-requirements.txt")


def up_to_date():
    try:
        with open(MARKER, "rb") as a, open(REQS, "rb") as b:
            return a.read() == b.read()
    except OSError:
        return False


def main():
    if up_to_date():
        return 0
    shutil.rmtree(VENV, ignore_errors=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    pip = [os.path.join(VENV, "bin", "python"), "-m", "pip", "install", "--quiet",
           "--disable-pip-version-check", "--no-deps", "-r", REQS]
    if subprocess.call(pip) != 0:
        shutil.rmtree(VENV, ignore_errors=True)
        print("error: pip install -r tests/providers/requirements.txt failed "
              "(PyPI must be reachable)", file=sys.stderr)
        return 1
    shutil.copyfile(REQS, MARKER)
    return 0


if __name__ == "__main__":
    sys.exit(main())
