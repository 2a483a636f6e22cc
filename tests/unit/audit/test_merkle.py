"""RFC 6962 Merkle proofs: known answers, and every proof verifies while any change fails."""

from __future__ import annotations

import hashlib

import pytest
from case_service.audit import merkle
from case_service.audit.merkle import (
    CompactRange,
    ProofError,
    Tree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root,
    verify_consistency,
    verify_inclusion,
)
from hypothesis import given
from hypothesis import strategies as st


def _leaves(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


# RFC 6962's test vectors as used by Certificate Transparency (certificate-transparency-go,
# merkle/testonly): the eight leaves "", 00, 10, 2021, 3031, 40414243, 5051525354555657,
# 606162636465666768696a6b6c6d6e6f, and the roots of their prefixes.
CT_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_match_the_certificate_transparency_vectors(size: int) -> None:
    leaves = [leaf_hash(data) for data in CT_LEAVES[:size]]

    assert root(leaves).hex() == CT_ROOTS[size - 1]
    assert Tree(leaves).root().hex() == CT_ROOTS[size - 1]


def test_the_empty_tree_is_the_hash_of_nothing() -> None:
    assert root([]) == hashlib.sha256(b"").digest() == Tree([]).root()


@given(st.integers(min_value=1, max_value=70))
def test_a_compact_range_follows_the_root_leaf_by_leaf(n: int) -> None:
    leaves = _leaves(n)
    compact = CompactRange()
    for i, leaf in enumerate(leaves):
        compact.append(leaf)
        assert compact.root() == root_recursive(leaves[: i + 1])


def root_recursive(leaves: list[bytes]) -> bytes:
    """MTH exactly as RFC 6962 §2.1 writes it."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return merkle.node_hash(root_recursive(leaves[:k]), root_recursive(leaves[k:]))


@given(
    st.integers(min_value=1, max_value=70).flatmap(
        lambda n: st.tuples(st.just(n), st.integers(0, n - 1))
    )
)
def test_every_inclusion_proof_verifies(case: tuple[int, int]) -> None:
    n, index = case
    leaves = _leaves(n)
    proof = inclusion_proof(index, leaves)

    assert Tree(leaves).inclusion_proof(index) == proof
    verify_inclusion(index, n, leaves[index], proof, root(leaves))


@given(
    st.integers(min_value=2, max_value=40).flatmap(
        lambda n: st.tuples(st.just(n), st.integers(0, n - 1), st.integers(0, 31))
    )
)
def test_an_inclusion_proof_fails_for_another_leaf_index_or_a_changed_node(
    case: tuple[int, int, int],
) -> None:
    n, index, byte = case
    leaves = _leaves(n)
    proof = inclusion_proof(index, leaves)
    good_root = root(leaves)

    with pytest.raises(ProofError):
        verify_inclusion(index, n, leaves[(index + 1) % n], proof, good_root)
    with pytest.raises(ProofError):
        verify_inclusion((index + 1) % n, n, leaves[index], proof, good_root)
    if proof:
        damaged = [bytearray(p) for p in proof]
        damaged[0][byte] ^= 1
        with pytest.raises(ProofError):
            verify_inclusion(index, n, leaves[index], [bytes(p) for p in damaged], good_root)
    with pytest.raises(ProofError):
        verify_inclusion(index, n, leaves[index], [*proof, good_root], good_root)


@given(
    st.integers(min_value=1, max_value=70).flatmap(
        lambda n: st.tuples(st.integers(1, n), st.just(n))
    )
)
def test_every_consistency_proof_verifies(sizes: tuple[int, int]) -> None:
    m, n = sizes
    leaves = _leaves(n)
    proof = consistency_proof(m, leaves)

    verify_consistency(m, n, proof, root(leaves[:m]), root(leaves))


@given(
    st.integers(min_value=2, max_value=50).flatmap(
        lambda n: st.tuples(st.integers(1, n - 1), st.just(n))
    )
)
def test_a_consistency_proof_fails_for_a_rewritten_old_tree(sizes: tuple[int, int]) -> None:
    m, n = sizes
    leaves = _leaves(n)
    proof = consistency_proof(m, leaves)
    rewritten = [leaf_hash(b"forged"), *leaves[1:m]]

    with pytest.raises(ProofError):
        verify_consistency(m, n, proof, root(rewritten), root(leaves))
    with pytest.raises(ProofError):
        verify_consistency(m, n, proof[:-1], root(leaves[:m]), root(leaves))


def test_a_proof_between_equal_trees_is_empty() -> None:
    leaves = _leaves(5)

    assert consistency_proof(5, leaves) == []
    verify_consistency(5, 5, [], root(leaves), root(leaves))
    with pytest.raises(ProofError):
        verify_consistency(5, 5, [], root(leaves), root(leaves[:4]))
