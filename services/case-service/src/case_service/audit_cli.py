"""`arrears-audit`: an auditor's view of a case, read straight from the event store.

arrears-audit history --loan-id L-1001
arrears-audit state <case-id> --version 12
arrears-audit state --loan-id L-1001 --as-of 2026-10-01T00:00:00Z
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from uuid import UUID

from case_service.application import CaseApplication
from case_service.commands import CaseNotFound
from case_service.domain import CollectionCase, event_payload
from case_service.settings import CaseServiceSettings


def _case_id(args: argparse.Namespace) -> UUID:
    if args.loan_id:
        return CollectionCase.id_for_loan(args.loan_id)
    if args.case_id:
        return UUID(args.case_id)
    raise SystemExit("give a case id or --loan-id")


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
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("case_id", nargs="?")
        p.add_argument("--loan-id")
        if name == "state":
            at = p.add_mutually_exclusive_group()
            at.add_argument("--version", type=int)
            at.add_argument("--as-of", type=_instant)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    app = CaseApplication(CaseServiceSettings())
    try:
        case_id = _case_id(args)
        if args.command == "history":
            for event in app.history(case_id):
                line = {
                    "version": event.originator_version,
                    "type": type(event).__name__,
                    "recorded_at": event.timestamp.isoformat(),
                    "data": event_payload(event),
                }
                print(json.dumps(line, ensure_ascii=False))
        else:
            if args.as_of is not None:
                case = app.case_as_of(case_id, args.as_of)
                day = args.as_of.date()
            else:
                case = app.case(case_id, version=args.version)
                day = case.modified_on.date() if args.version else app.today()
            print(json.dumps(case.view(day), indent=2, ensure_ascii=False))
    except CaseNotFound as exc:
        print(f"arrears-audit: {exc}", file=sys.stderr)
        return 1
    finally:
        app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
