"""The AES-GCM nonces (case_service.cipher.fresh_nonce) are read from the OS in blocks: each
must still be handed out once, also across threads and to a forked child."""

from __future__ import annotations

import os
import threading

from case_service.cipher import NONCE_BYTES, fresh_nonce


def test_nonces_are_never_handed_out_twice_across_threads_and_refills() -> None:
    taken: list[list[bytes]] = [[] for _ in range(4)]

    def take(mine: list[bytes]) -> None:
        for _ in range(3_000):  # several refills each
            mine.append(fresh_nonce())

    threads = [threading.Thread(target=take, args=(mine,)) for mine in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [nonce for mine in taken for nonce in mine]
    assert all(len(nonce) == NONCE_BYTES for nonce in every)
    assert len(set(every)) == len(every)


def test_a_forked_child_does_not_reuse_the_parents_unread_nonces() -> None:
    fresh_nonce()  # the parent now holds a block of unread nonces
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report the nonces it would use
        os.close(read)
        os.write(write, b"".join(fresh_nonce() for _ in range(50)))
        os._exit(0)
    os.close(write)
    child = b""
    while chunk := os.read(read, 4096):
        child += chunk
    os.close(read)
    os.waitpid(pid, 0)
    parents = {fresh_nonce() for _ in range(50)}
    childs = {child[i : i + NONCE_BYTES] for i in range(0, len(child), NONCE_BYTES)}
    assert len(childs) == 50
    assert not parents & childs
