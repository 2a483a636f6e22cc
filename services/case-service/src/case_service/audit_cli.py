"""`arrears-audit`: an auditor's view of a case, and the proof that the record is intact.

arrears-audit history --loan-id L-1001
arrears-audit state <case-id> --version 12
arrears-audit state --loan-id L-1001 --as-of 2026-10-01T00:00:00Z   (by recorded time)
arrears-audit verify [--public-key KEY] [--kept NOTE_FILE ...]
arrears-audit export --loan-id L-1001 --out case.bundle.json
arrears-audit verify-bundle case.bundle.json --public-key KEY   (no database, no network)
arrears-audit verify-consistency proof.json --public-key KEY     (GET /v1/audit/consistency)

KEY is a verifier key `<name>+<key id>+<base64>` (GET /v1/audit/public-key) or a file with
one; without --public-key, CHECKPOINT_PUBLIC_KEY is used.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

from case_service.audit.bundle import BundleError, export_bundle, render, verify_bundle
from case_service.audit.consistency import ConsistencyError
from case_service.audit.consistency import check as check_consistency
from case_service.audit.note import NoteError, VerifierKey


class AuditError(Exception):
    """Said in one line, exit status 1 (or `status`)."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def _case_id(args: argparse.Namespace) -> UUID:
    from case_service.domain import CollectionCase

    if args.loan_id:
        return CollectionCase.id_for_loan(args.loan_id)
    if args.case_id:
        try:
            return UUID(args.case_id)
        except ValueError:
            raise AuditError(f"not a case id: {args.case_id!r}", 2) from None
    raise AuditError("give a case id or --loan-id", 2)


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("give a time zone, e.g. 2026-10-01T00:00:00Z")
    return moment.astimezone(UTC)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="arrears-audit", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("history", "every event of the case, oldest first"),
        ("state", "the case's state"),
        ("export", "write the case's events, chain and proofs to a bundle"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("case_id", nargs="?")
        p.add_argument("--loan-id")
        if name == "state":
            at = p.add_mutually_exclusive_group()
            at.add_argument("--version", type=int)
            at.add_argument("--as-of", type=_instant, help="by recorded time")
        if name == "export":
            p.add_argument("--out", required=True)
    verify = sub.add_parser("verify", help="check every chain and checkpoint in the store")
    verify.add_argument("--public-key")
    verify.add_argument(
        "--kept",
        action="append",
        default=[],
        metavar="NOTE_FILE",
        help="a checkpoint kept from earlier (its note); the store must still hold its tree",
    )
    check = sub.add_parser("verify-bundle", help="check a bundle offline")
    check.add_argument("bundle")
    check.add_argument("--public-key")
    linked = sub.add_parser(
        "verify-consistency", help="check offline that an older checkpoint is a prefix of a newer"
    )
    linked.add_argument("proof", help="GET /v1/audit/consistency?from=M&to=N, saved")
    linked.add_argument("--public-key")
    return parser.parse_args(argv)


def _public_key(given: str | None) -> VerifierKey:
    text = given or os.environ.get("CHECKPOINT_PUBLIC_KEY", "")
    if not text:
        raise AuditError("no public key: pass --public-key or set CHECKPOINT_PUBLIC_KEY", 2)
    if "+" not in text and Path(text).is_file():
        text = Path(text).read_text()
    try:
        return VerifierKey.parse(text)
    except NoteError as exc:
        raise AuditError(f"--public-key: {exc}", 2) from None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.command == "verify-bundle":  # offline: no settings, no database
            data = Path(args.bundle).read_bytes()
            print(verify_bundle(data, _public_key(args.public_key)))
            return 0
        if args.command == "verify-consistency":  # offline too
            try:
                document = json.loads(Path(args.proof).read_text())
            except ValueError:
                raise ConsistencyError(f"{args.proof} is not a JSON document") from None
            print(check_consistency(document, _public_key(args.public_key)))
            return 0
        return _with_store(args)
    except (BundleError, ConsistencyError) as exc:
        print(f"arrears-audit: FAILED: {exc}", file=sys.stderr)
        return 1
    except AuditError as exc:
        print(f"arrears-audit: {exc}", file=sys.stderr)
        return exc.status
    except OSError as exc:
        print(f"arrears-audit: {exc}", file=sys.stderr)
        return 2


def _with_store(args: argparse.Namespace) -> int:
    from eventsourcing.persistence import OperationalError

    from case_service.application import CaseApplication
    from case_service.audit.store import AuditStore
    from case_service.audit.verify import verify_store
    from case_service.audit_read import print_history, print_state
    from case_service.commands import CaseNotFound
    from case_service.settings import CaseServiceSettings

    settings = CaseServiceSettings()
    key = _public_key(args.public_key) if args.command == "verify" else None
    try:
        app = CaseApplication(settings)
    except OperationalError as exc:
        raise AuditError(f"cannot reach the event store: {str(exc).splitlines()[0]}", 2) from None
    try:
        store = AuditStore(app.recorder_)
        if args.command == "verify":
            assert key is not None
            kept = [Path(path).read_text() for path in args.kept]
            report = verify_store(store, key, kept)
            if report.finding is not None:
                print(f"arrears-audit: FAILED: {report.finding}", file=sys.stderr)
                return 1
            print(
                f"verified: {report.events} events in {report.cases} cases, "
                f"{report.checkpoints} signed checkpoints"
            )
            return 0
        case_id = _case_id(args)
        if args.command == "export":
            bundle = export_bundle(store, case_id)
            if bundle["checkpoint"] is None:
                raise AuditError("no signed checkpoint yet: is the checkpointer running?")
            Path(args.out).write_bytes(render(bundle))
            waiting = sum(1 for e in bundle["events"] if e["inclusion_proof"] is None)
            print(
                f"wrote {args.out}: {len(bundle['events'])} events of case {case_id}"
                + (f" ({waiting} not yet in a checkpoint: export again later)" if waiting else "")
            )
            return 0
        if args.command == "history":
            print_history(app, case_id)
        else:
            print_state(app, case_id, version=args.version, as_of=args.as_of)
    except CaseNotFound as exc:
        raise AuditError(str(exc)) from None
    except (UnicodeDecodeError, ValueError) as exc:
        if not settings.cipher_key:
            raise AuditError(
                "cannot read the stored events: no CIPHER_KEY is set "
                "(on the embedded default, run `make audit` after `make run`)",
                2,
            ) from None
        raise AuditError(f"cannot read the stored events with this CIPHER_KEY ({exc})", 2) from None
    finally:
        app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
