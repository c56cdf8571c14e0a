"""Container VLAN tags (pyovn/northd/tags.py): a pure function of one parent's children."""

from __future__ import annotations

from pyovn.northd.model import PortInfo
from pyovn.northd.tags import MAX_TAG, TagResult, allocate_tags


def child(
    name: str, tag_request: int | None, nb_tag: int | None = None, parent: str = "vm"
) -> PortInfo:
    return PortInfo(
        uuid=f"u-{name}",
        name=name,
        switch="sw",
        parent=parent,
        tag_request=tag_request,
        nb_tag=nb_tag,
    )


def tags(*ports: PortInfo) -> dict[str, int | None]:
    return {n: r.tag for n, r in allocate_tags(ports).items()}


def test_dynamic_tags_are_the_lowest_free_in_name_order() -> None:
    assert tags(child("b", 0), child("a", 0), child("c", 0)) == {"a": 1, "b": 2, "c": 3}


def test_dynamic_tags_skip_explicit_ones() -> None:
    assert tags(child("a", 0), child("b", 1), child("c", 0), child("d", 3)) == {
        "a": 2,
        "b": 1,
        "c": 4,
        "d": 3,
    }


def test_a_tag_once_given_is_kept() -> None:
    # "z" got tag 1 earlier (it is in NB); "a" arrives later and must not take it
    assert tags(child("z", 0, nb_tag=1), child("a", 0)) == {"z": 1, "a": 2}


def test_freed_tag_is_reused() -> None:
    first = tags(child("a", 0), child("b", 0), child("c", 0))
    assert first == {"a": 1, "b": 2, "c": 3}
    # "b" is deleted: its tag goes to the next port that asks
    after = tags(child("a", 0, 1), child("c", 0, 3), child("d", 0))
    assert after == {"a": 1, "c": 3, "d": 2}


def test_explicit_conflict_established_holder_wins() -> None:
    results = allocate_tags([child("a", 7), child("b", 7, nb_tag=7)])
    assert results["b"] == TagResult(7)
    assert results["a"].tag is None
    assert results["a"].error == "tag 7 is already used by port b under parent vm"


def test_explicit_conflict_without_history_first_name_wins() -> None:
    results = allocate_tags([child("b", 7), child("a", 7)])
    assert results["a"] == TagResult(7)
    assert results["b"].tag is None and "already used by port a" in (results["b"].error or "")


def test_explicit_request_displaces_a_dynamic_tag() -> None:
    # "d" held 5 dynamically; "e" asks for 5 explicitly: the explicit request wins
    assert tags(child("d", 0, nb_tag=5), child("e", 5)) == {"d": 1, "e": 5}


def test_changing_tag_request_moves_the_tag() -> None:
    assert tags(child("a", 9, nb_tag=7)) == {"a": 9}


def test_no_tag_request_no_tag() -> None:
    assert allocate_tags([child("a", None, nb_tag=3)]) == {"a": TagResult(None)}


def test_out_of_range_request() -> None:
    result = allocate_tags([child("a", MAX_TAG + 1)])["a"]
    assert result.tag is None and "out of range" in (result.error or "")


def test_tags_run_out() -> None:
    ports = [child(f"p{i:04d}", 0) for i in range(MAX_TAG + 1)]
    results = allocate_tags(ports)
    given = sorted(r.tag for r in results.values() if r.tag is not None)
    assert given == list(range(1, MAX_TAG + 1))
    last = results[f"p{MAX_TAG:04d}"]
    assert last.tag is None and "no free tag" in (last.error or "")


def test_invalid_kept_tag_is_not_kept() -> None:
    assert tags(child("a", 0, nb_tag=0)) == {"a": 1}
