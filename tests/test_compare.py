"""Comparing clusterings (paper section 4.3): element-centric similarity and the unused-unit policies."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unitclust.compare import element_similarity, prepare_labels, similarity_matrix

labels = st.lists(st.integers(-1, 4), min_size=2, max_size=12)


def test_prepare_labels_singletons_gives_each_unused_unit_its_own_new_cluster():
    out = prepare_labels([0, -1, 1, -1, 0], "singletons")
    assert out.tolist() == [0, 2, 1, 3, 0]


def test_prepare_labels_shared_keeps_one_minus_one_cluster():
    assert prepare_labels([0, -1, 1, -1], "shared").tolist() == [0, -1, 1, -1]


def test_prepare_labels_rejects_unknown_policy():
    with pytest.raises(ValueError, match="unused-unit mode"):
        prepare_labels([0, 1], "drop")


def test_identical_clusterings_are_similar_one_and_relabelling_does_not_matter():
    a = np.array([0, 0, 1, 1, 2, 2])
    assert element_similarity(a, a) == pytest.approx(1.0)
    assert element_similarity(a, (a + 1) % 3) == pytest.approx(1.0)


def test_unused_units_policy_changes_the_score_as_documented():
    """One measure finds units 4-7 dead, the other puts them in one live cluster: 'shared' (one
    -1 cluster) calls that perfect agreement, 'singletons' does not reward lumping dead units."""
    a = np.array([0, 0, 1, 1, -1, -1, -1, -1])
    b = np.array([0, 0, 1, 1, 2, 2, 2, 2])
    assert element_similarity(a, b, unused="shared") == pytest.approx(1.0)
    assert element_similarity(a, b, unused="singletons") < 0.9


def test_same_dead_units_agree_under_both_policies():
    a = np.array([0, 0, 1, 1, -1, -1])
    b = np.array([0, 1, 0, 1, -1, -1])
    assert element_similarity(a, b, unused="shared") == pytest.approx(element_similarity(a, b))


def test_known_value_one_unit_moved():
    """Reference value from clusim for a small, hand-checkable case (alpha 0.9, r 1)."""
    a = [0, 0, 0, 1, 1, 1]
    b = [0, 0, 1, 1, 1, 1]
    from clusim.clustering import Clustering
    from clusim.sim import element_sim

    ref = element_sim(Clustering().from_membership_list(a), Clustering().from_membership_list(b), alpha=0.9)
    assert element_similarity(a, b) == pytest.approx(ref, abs=1e-12)
    assert 0.5 < ref < 1.0


def test_different_sizes_are_an_error():
    with pytest.raises(ValueError, match="different numbers of units"):
        element_similarity([0, 1, 1], [0, 1])


@settings(max_examples=40, deadline=None)
@given(labels, st.data())
def test_similarity_is_symmetric_and_in_unit_interval(a, data):
    b = data.draw(st.lists(st.integers(-1, 4), min_size=len(a), max_size=len(a)))
    for unused in ("singletons", "shared"):
        ab, ba = element_similarity(a, b, unused=unused), element_similarity(b, a, unused=unused)
        assert ab == pytest.approx(ba, abs=1e-12)
        assert -1e-12 <= ab <= 1 + 1e-12


def test_similarity_matrix_is_symmetric_with_unit_diagonal_in_measure_order():
    assignments = {"x": np.array([0, 0, 1, 1]), "y": np.array([0, 1, 0, 1]), "z": np.array([1, 1, 0, 0])}
    mat = similarity_matrix(assignments, ["x", "y", "z"])
    assert mat.shape == (3, 3)
    np.testing.assert_allclose(np.diag(mat), 1.0)
    np.testing.assert_allclose(mat, mat.T)
    assert mat[0, 2] == pytest.approx(1.0)  # x and z are the same partition
    assert mat[0, 1] < 1.0


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(-1, 6), min_size=1, max_size=40), st.data(), st.sampled_from(["singletons", "shared"]),
       st.sampled_from([0.9, 0.5, 1.0]))
def test_closed_form_equals_clusim_element_sim(a, data, unused, alpha):
    """Our closed form against the library it replaces (clusim 0.4's element_sim, its partition path)."""
    from clusim.clustering import Clustering
    from clusim.sim import element_sim

    b = data.draw(st.lists(st.integers(-1, 6), min_size=len(a), max_size=len(a)))
    pa, pb = prepare_labels(a, unused), prepare_labels(b, unused)
    ref = element_sim(Clustering().from_membership_list(pa.tolist()), Clustering().from_membership_list(pb.tolist()),
                      alpha=alpha)
    assert element_similarity(a, b, unused=unused, alpha=alpha) == pytest.approx(ref, abs=1e-12)


def test_many_rows_at_once_equal_one_at_a_time():
    from unitclust.compare import element_similarity_codes

    rng = np.random.default_rng(1)
    a, rows = rng.integers(0, 3, 20), np.stack([rng.permutation(np.repeat(np.arange(4), 5)) for _ in range(7)])
    together = element_similarity_codes(a, rows, 3, 4)
    assert together.shape == (7,)
    for r, value in zip(rows, together):
        assert value == pytest.approx(element_similarity(a, r), abs=1e-14)
