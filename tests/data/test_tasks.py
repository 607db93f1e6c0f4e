"""nnbook.data.tasks: sequence tasks with known answers."""
import numpy as np
import pytest

from nnbook.data.tasks import ADDING_BASELINE_MSE, adding_problem


# ---------------------------------------------------------------------------------- adding problem
def test_adding_problem_marks_one_step_in_each_half_and_sums_them():
    T, n = 9, 200
    X, y = adding_problem(n, T, seed=3)
    assert X.shape == (T, n, 2) and y.shape == (n, 1)
    values, marks = X[..., 0], X[..., 1]
    assert set(np.unique(marks)) == {0.0, 1.0}
    assert np.all(marks.sum(axis=0) == 2)
    assert np.all(marks[: T // 2].sum(axis=0) == 1) and np.all(marks[T // 2:].sum(axis=0) == 1)
    assert np.all((values >= 0) & (values < 1))
    for b in range(n):  # the target, by a plain loop
        assert y[b, 0] == sum(values[t, b] for t in range(T) if marks[t, b] == 1.0)


def test_adding_problem_is_seeded():
    a, b, c = adding_problem(5, 6, seed=1), adding_problem(5, 6, seed=1), adding_problem(5, 6, seed=2)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_adding_baseline_is_the_variance_of_the_target():
    _, y = adding_problem(200_000, 4, seed=0)
    # the best constant answer is the mean 1; its squared error is Var(v1 + v2) = 2/12
    assert abs(np.mean(y) - 1.0) < 0.01
    assert abs(np.mean((y - 1.0) ** 2) - ADDING_BASELINE_MSE) < 0.003


@pytest.mark.parametrize("kw, word", [({"n": 0, "T": 5}, "n"), ({"n": 3, "T": 1}, "T >= 2"),
                                      ({"n": 3, "T": 2.5}, "T"), ({"n": True, "T": 4}, "n")])
def test_adding_problem_rejects_bad_sizes(kw, word):
    with pytest.raises(ValueError, match=word):
        adding_problem(**kw)
