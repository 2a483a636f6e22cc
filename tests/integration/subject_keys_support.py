"""A test's view of the single subject-key requests a `SubjectKeyClient` makes: shared by
the messaging and contact-service tests that prove reads come in batches."""

from __future__ import annotations

from arrears.messaging.personal import SubjectKeyClient


def count_single_key_requests(keys: SubjectKeyClient) -> list[str]:
    """Empty `keys`' cache and note, from now on, the path of each single key request it
    makes to case-service (batch reads are not noted)."""
    keys.forget()
    singles: list[str] = []
    fetch = keys.fetch

    async def counted(path: str, headers: dict[str, str]) -> tuple[int, bytes]:
        singles.append(path)
        return await fetch(path, headers)

    keys.fetch = counted  # type: ignore[method-assign]
    return singles
