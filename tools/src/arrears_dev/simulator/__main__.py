"""`python -m arrears_dev.simulator --loans N --days D --seed S --case-url URL [...]`."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import httpx

from arrears_dev.simulator.driver import mint_tokens
from arrears_dev.simulator.model import loan_id
from arrears_dev.simulator.run import SimulationConfig, render, simulate


def _jwt_secret(given: str | None, secrets_dir: str | None) -> str | None:
    """--jwt-secret, else $JWT_SECRET, else secrets.json in --secrets-dir or the embedded
    system's data folder (.data/ or $ARREARS_DATA_DIR)."""
    if given or os.environ.get("JWT_SECRET"):
        return given or os.environ["JWT_SECRET"]
    from arrears_dev.devstack import data_dir, load_or_create_secrets

    folder = Path(secrets_dir) if secrets_dir else data_dir()
    if (folder / "secrets.json").exists():
        return load_or_create_secrets(folder).jwt_secret
    return None


def _already_seeded(config: SimulationConfig) -> bool:
    """Whether the portfolio's first loan already has a case (a second `make run`)."""
    token = mint_tokens(config.jwt_secret)["origination"]
    response = httpx.get(
        f"{config.case_url.rstrip('/')}/v1/cases",
        params={"loan_id": loan_id(config.prefix, config.seed, 0)},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30.0,
    )
    response.raise_for_status()
    return bool(response.json()["items"])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m arrears_dev.simulator",
        description="Drive a simulated delinquent portfolio through the Arrears HTTP APIs.",
    )
    parser.add_argument("--loans", type=int, default=1_000, help="loans that fall delinquent")
    parser.add_argument("--days", type=int, default=60, help="simulated days, ending today")
    parser.add_argument("--seed", type=int, default=1, help="one seed, one portfolio")
    parser.add_argument("--case-url", default="http://127.0.0.1:8001")
    parser.add_argument("--contact-url", default=None, help="route contacts and promises here")
    parser.add_argument("--legal-url", default=None, help="route legal steps here")
    parser.add_argument("--jwt-secret", default=None, help="default: $JWT_SECRET or .data/")
    parser.add_argument("--secrets-dir", default=None, help="a folder with secrets.json")
    parser.add_argument(
        "--skip-if-seeded", action="store_true", help="do nothing if the first loan has a case"
    )
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight")
    parser.add_argument("--prefix", default="SIM", help="loan ids are <prefix><seed>-<n>")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    parser.add_argument(
        "--clock-file",
        default=None,
        help="the services' CLOCK_FILE: move their clock day by day (promises can then break)",
    )
    args = parser.parse_args(argv)
    if args.loans < 1 or args.days < 1:
        parser.error("--loans and --days must be at least 1")
    secret = _jwt_secret(args.jwt_secret, args.secrets_dir)
    if secret is None:
        parser.error("no JWT secret: pass --jwt-secret, set JWT_SECRET, or start `make run`")
    config = SimulationConfig(
        loans=args.loans,
        days=args.days,
        seed=args.seed,
        case_url=args.case_url,
        jwt_secret=secret,
        contact_url=args.contact_url,
        legal_url=args.legal_url,
        concurrency=args.concurrency,
        prefix=args.prefix,
        clock_file=args.clock_file,
    )
    if args.skip_if_seeded and _already_seeded(config):
        print(f"already seeded: loan {loan_id(args.prefix, args.seed, 0)} has a case; skipping")
        return 0
    summary = asyncio.run(simulate(config, progress=None if args.quiet else sys.stderr))
    print(json.dumps(summary.as_dict(), indent=2) if args.json else render(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
