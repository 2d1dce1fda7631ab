#!/usr/bin/env python3
"""Write the compose stack's .env with generated secrets (``make stack-env``).

Every value that .env.example leaves as ``change-me`` gets a fresh random secret: a Fernet key
for Airflow, a 64-byte JWT secret (HS512 wants at least 64), an API secret and a password per
database role. Standard library only, so it runs before anything is installed. An existing .env
is never overwritten (``--force`` replaces it); the secrets are printed nowhere.
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import sys
from pathlib import Path

PLACEHOLDER = "change-me"
REPO = Path(__file__).resolve().parents[1]


def fernet_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def secret_for(name: str) -> str:
    if name == "AIRFLOW_FERNET_KEY":
        return fernet_key()
    if name == "AIRFLOW_JWT_SECRET":
        return secrets.token_urlsafe(64)  # 64 random bytes, 86 characters
    return secrets.token_urlsafe(32)


def render(example: str) -> str:
    out = []
    for line in example.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith("#") and value.strip() == PLACEHOLDER:
            line = f"{key}={secret_for(key.strip())}"
        out.append(line)
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--example", type=Path, default=REPO / ".env.example")
    ap.add_argument("--out", type=Path, default=REPO / ".env")
    ap.add_argument("--force", action="store_true", help="replace an existing file")
    args = ap.parse_args(argv)
    if args.out.exists() and not args.force:
        print(f"stack-env: {args.out} exists; keeping it (--force replaces it)", file=sys.stderr)
        return 1
    text = render(args.example.read_text(encoding="utf-8"))
    fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    print(f"stack-env: wrote {args.out} with generated secrets (mode 600)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
