"""nnbook.teach.cnn and the image loaders of nnbook.data.datasets."""
import numpy as np
import pytest

from nnbook.teach import cnn
from nnbook.kernels.conv import conv2d_backward
from nnbook.data.datasets import digits_image_splits, digits_images, sample_image, split3
from nnbook.train.optimizers import Adam


def _loops(img, k, true_convolution=False):
    """Plain loops over the valid part, stride 1 (reference): cross-correlation
    sum_mn I(i + m, j + n) K(m, n), or true convolution sum_mn I(i - m, j - n) K(m, n), which on the
    valid part is sum_mn I(i + m, j + n) K(kh - 1 - m, kw - 1 - n)."""
    H, W = img.shape
    kh, kw = k.shape
    out = np.zeros((H - kh + 1, W - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            for m in range(kh):
                for n in range(kw):
                    km = k[kh - 1 - m, kw - 1 - n] if true_convolution else k[m, n]
                    out[i, j] += img[i + m, j + n] * km
    return out


def test_filter_image_is_cross_correlation_and_true_convolution_flips():
    rng = np.random.default_rng(0)
    img, k = rng.normal(size=(7, 6)), rng.normal(size=(3, 2))
    assert np.allclose(cnn.filter_image(img, k), _loops(img, k))
    assert np.allclose(cnn.filter_image(img, k, true_convolution=True), _loops(img, k, true_convolution=True))
    assert cnn.filter_image(img, k, stride=2, padding=1).shape == (4, 4)
    assert np.allclose(cnn.filter_image(img, cnn.kernel("identity")), img[1:-1, 1:-1])
    with pytest.raises(ValueError, match="unknown kernel"):
        cnn.kernel("emboss")
    with pytest.raises(ValueError, match="dimension"):
        cnn.filter_image(img[None], k)


def test_receptive_field_growth():
    r, j = cnn.receptive_field([(3, 1)] * 4)
    assert list(r) == [3, 5, 7, 9] and list(j) == [1, 1, 1, 1]
    r, j = cnn.receptive_field([(3, 1), (2, 2), (3, 1), (2, 2), (3, 1)])
    assert list(r) == [3, 4, 8, 10, 18] and list(j) == [1, 2, 2, 4, 4]
    with pytest.raises(ValueError, match="pair"):
        cnn.receptive_field([3])
    with pytest.raises(ValueError, match="positive"):
        cnn.receptive_field([(3, 0)])


def test_parameter_counts():
    assert cnn.dense_params(1000 * 1000 * 3, 1000, bias=False) == 3 * 10 ** 9
    assert cnn.conv_params(3, 64, 3) == 64 * 27 + 64
    assert cnn.conv_params(3, 64, (3, 5), bias=False) == 64 * 45


def test_equivariance_gap_is_round_off():
    img = sample_image("china", scale=8)
    gap, scale = cnn.equivariance_gap(img, cnn.kernel("vertical edges (Sobel x)"), (5, -3))
    assert gap < 1e-12 * scale * 100 and scale > 0.1


def test_equivariance_gap_compares_exactly_the_pixels_the_wrap_around_leaves_alone():
    """On an 8x8 image with a 3x3 kernel (6x6 output) a shift (dy, dx) leaves (6 - |dy|) x
    (6 - |dx|) output pixels untouched by the wrap-around: there filtering and shifting commute
    exactly, and every pixel outside that block differs for a random image."""
    rng = np.random.default_rng(3)
    img, k = rng.normal(size=(8, 8)), rng.normal(size=(3, 3))
    for dy, dx in [(0, 0), (1, 0), (-2, 3), (5, -5)]:
        gap, scale = cnn.equivariance_gap(img, k, (dy, dx))
        assert gap == 0.0 and scale > 0
        a = cnn.filter_image(np.roll(img, (dy, dx), axis=(0, 1)), k)
        b = np.roll(cnn.filter_image(img, k), (dy, dx), axis=(0, 1))
        same = a == b
        assert same.sum() == (6 - abs(dy)) * (6 - abs(dx))   # the compared block, no more


def test_kernel_gradient_sums_over_positions():
    rng = np.random.default_rng(1)
    x, w = rng.normal(size=(1, 1, 7, 7)), rng.normal(size=(1, 1, 3, 3))
    for stride in (1, 2):
        n = (7 - 3) // stride + 1
        dy = rng.normal(size=(1, 1, n, n))
        terms = cnn.kernel_gradient_terms(dy[0, 0], x[0, 0], (3, 3), stride)
        assert terms.shape == (n, n, 3, 3)
        _, dw, _ = conv2d_backward(dy, x, w, stride=stride)
        assert np.allclose(terms.sum(axis=(0, 1)), dw[0, 0])
    with pytest.raises(ValueError, match="dy must have shape"):
        cnn.kernel_gradient_terms(np.zeros((4, 4)), x[0, 0], (3, 3))


def test_accuracy_and_confusion_matrix():
    t, p = np.array([0, 1, 2, 2, 1]), np.array([0, 2, 2, 2, 1])
    assert cnn.accuracy(t, p) == 0.8
    C = cnn.confusion_matrix(t, p, 3)
    assert C.tolist() == [[1, 0, 0], [0, 1, 1], [0, 0, 2]]
    with pytest.raises(ValueError, match="0..2"):
        cnn.confusion_matrix(t, np.array([0, 3, 2, 2, 1]), 3)
    with pytest.raises(ValueError, match="equal length"):
        cnn.accuracy(t, p[:3])


def test_loaders():
    Xtr, ytr, Xte, yte = digits_images(test_fraction=0.25, seed=0)
    assert Xtr.shape[1:] == (1, 8, 8) and len(Xtr) + len(Xte) == 1797
    assert abs(len(Xte) - 0.25 * 1797) < 1 and Xtr.max() <= 1 and Xtr.min() >= 0
    assert ytr.dtype == np.int64 and set(np.unique(yte)) == set(range(10))
    again = digits_images(seed=0)
    assert np.array_equal(again[0], Xtr)
    img = sample_image("flower", scale=4)
    assert img.shape == (106, 160) and 0 <= img.min() and img.max() <= 1
    assert sample_image("china", gray=False).shape == (427, 640, 3)
    with pytest.raises(ValueError, match="unknown sample image"):
        sample_image("lena")


def test_three_way_split_is_disjoint_seeded_and_complete():
    X = np.arange(50)[:, None] * np.ones((1, 3))
    T = np.arange(50)
    parts = split3(X, T, val_fraction=0.2, test_fraction=0.3, seed=4)
    Xtr, Ttr, Xva, Tva, Xte, Tte = parts
    assert (len(Xtr), len(Xva), len(Xte)) == (25, 10, 15)
    assert sorted(np.concatenate([Ttr, Tva, Tte]).tolist()) == list(range(50))  # disjoint, complete
    assert all(np.array_equal(a[:, 0], t) for a, t in ((Xtr, Ttr), (Xva, Tva), (Xte, Tte)))
    again = split3(X, T, 0.2, 0.3, seed=4)
    assert all(np.array_equal(a, b) for a, b in zip(parts, again))
    assert not np.array_equal(split3(X, T, 0.2, 0.3, seed=5)[5], Tte)
    with pytest.raises(ValueError, match="below 1"):
        split3(X, T, 0.5, 0.5)
    with pytest.raises(ValueError, match="val_fraction"):
        split3(X, T, 0.0, 0.2)
    with pytest.raises(ValueError, match="every part"):
        split3(X[:3], T[:3], 0.1, 0.1)
    with pytest.raises(ValueError, match="rows"):
        split3(X, T[:10])


def test_digits_image_splits():
    Xtr, ytr, Xva, yva, Xte, yte = digits_image_splits(val_fraction=0.2, test_fraction=0.2, seed=0)
    assert (len(Xtr), len(Xva), len(Xte)) == (1079, 359, 359)
    assert Xtr.shape[1:] == Xva.shape[1:] == Xte.shape[1:] == (1, 8, 8)
    assert all(y.dtype == np.int64 and set(np.unique(y)) == set(range(10)) for y in (ytr, yva, yte))
    # every image of the bundled set lands in exactly one part (compared as multisets of rows)
    everything = digits_images(test_fraction=0.25, seed=0)
    ref = np.concatenate([everything[0], everything[2]]).reshape(1797, -1)
    got = np.concatenate([Xtr, Xva, Xte]).reshape(1797, -1)
    assert np.array_equal(np.unique(ref, axis=0, return_counts=True)[1],
                          np.unique(got, axis=0, return_counts=True)[1])
    assert np.array_equal(digits_image_splits(seed=0)[4], Xte)
    assert not np.array_equal(digits_image_splits(seed=1)[4], Xte)


def test_digits_cnn_learns_at_a_small_budget():
    Xtr, ytr, Xva, yva, Xte, yte = digits_image_splits(seed=0)
    data = (Xtr, ytr, Xva, yva)
    model = cnn.digits_cnn()
    assert model.shapes[-1] == (10,)
    run = cnn.train_digits_cnn(model, data, Adam(3e-3), epochs=4, batch_size=32, seed=0,
                               snapshot=lambda p, e: (e, p["conv1.w"].copy()))
    assert run.val_accuracy > 0.85
    assert [e for e, _ in run.snapshots] == [0, 1, 2, 3, 4]
    assert np.array_equal(run.snapshots[-1][1], run.params["conv1.w"])
    assert not np.array_equal(run.snapshots[0][1], run.snapshots[-1][1])
    again = cnn.train_digits_cnn(cnn.digits_cnn(), data, Adam(3e-3), epochs=1, seed=0)
    first = cnn.train_digits_cnn(cnn.digits_cnn(), data, Adam(3e-3), epochs=1, seed=0)
    assert all(np.array_equal(again.params[k], first.params[k]) for k in first.params)  # seeded
    mm = run.log.metrics
    assert set(mm) == {"train_loss", "train_acc", "val_loss", "val_acc"}
    assert all(v.shape == (5,) for v in mm.values())
    assert mm["train_loss"][-1] < mm["train_loss"][0]
    # the recorded validation metrics are those of the final parameters, in inference mode
    pred = model.predict(run.params, Xva)
    assert np.isclose(run.val_accuracy, np.mean(pred == yva))
    assert run.val_accuracy == mm["val_acc"][-1]
    # the one final test evaluation
    ev = cnn.evaluate_digits_cnn(run, Xte, yte)
    assert ev.predictions.shape == (len(Xte),) and ev.probabilities.shape == (len(Xte), 10)
    assert np.allclose(ev.probabilities.sum(1), 1)
    assert np.array_equal(ev.probabilities.argmax(1), ev.predictions)
    assert np.isclose(ev.accuracy, np.mean(model.predict(run.params, Xte) == yte))
    assert np.isclose(ev.loss, -np.mean(np.log(ev.probabilities[np.arange(len(yte)), yte])))
    ev_val = cnn.evaluate_digits_cnn(run, Xva, yva)
    assert np.isclose(ev_val.loss, mm["val_loss"][-1])
    assert np.isclose(ev_val.accuracy, run.val_accuracy)
    # without a validation set (e.g. the final model on training + validation images)
    trval = (np.concatenate([Xtr, Xva]), np.concatenate([ytr, yva]))
    final = cnn.train_digits_cnn(cnn.digits_cnn(), trval, Adam(3e-3), epochs=1, seed=0)
    assert final.val_accuracy is None and set(final.log.metrics) == {"train_loss", "train_acc"}
    assert final.log.metrics["train_acc"].shape == (2,)


def test_train_and_evaluate_reject_bad_input():
    Xtr, ytr, Xva, yva, _, _ = digits_image_splits(seed=0)
    with pytest.raises(ValueError, match="data must be"):
        cnn.train_digits_cnn(cnn.digits_cnn(), (Xtr, ytr, Xva), Adam(3e-3), epochs=1)
    with pytest.raises(ValueError, match="labels"):
        cnn.train_digits_cnn(cnn.digits_cnn(), (Xtr, ytr, Xva, yva[:-1]), Adam(3e-3), epochs=1)
    with pytest.raises(ValueError, match="X_val"):
        cnn.train_digits_cnn(cnn.digits_cnn(), (Xtr, ytr, Xva[:, 0], yva), Adam(3e-3), epochs=1)
    with pytest.raises(ValueError, match="CNNRun"):
        cnn.evaluate_digits_cnn(cnn.digits_cnn(), Xva, yva)


def test_tile_mosaic():
    maps = np.arange(1, 1 + 5 * 2 * 3, dtype=float).reshape(5, 2, 3)
    T = cnn.tile(maps, ncols=2, pad=1, normalize=False)
    assert T.shape == (3 * 3 - 1, 2 * 4 - 1)
    assert np.array_equal(T[0:2, 4:7], maps[1]) and np.array_equal(T[6:8, 0:3], maps[4])
    assert np.all(np.isnan(T[6:8, 4:7])) and np.all(np.isnan(T[2, :]))
    assert np.nanmax(np.abs(cnn.tile(maps, 3))) == 1.0


def test_neighbour_correlation_by_hand_and_limits():
    x = np.array([[[1.0, 2.0], [3.0, 5.0]]])
    a = np.array([1.0, 3.0, 1.0, 2.0])   # left / upper entries of the four adjacent pairs
    b = np.array([2.0, 5.0, 3.0, 5.0])   # right / lower entries
    assert np.isclose(cnn.neighbour_correlation(x), np.corrcoef(a, b)[0, 1])
    ramp = np.add.outer(np.arange(6.0), np.arange(6.0))[None]
    assert cnn.neighbour_correlation(ramp) > 0.9
    checker = (-1.0) ** np.add.outer(np.arange(6), np.arange(6))[None]
    assert np.isclose(cnn.neighbour_correlation(checker), -1)
    noise = np.random.default_rng(0).normal(size=(200, 3, 3))
    assert abs(cnn.neighbour_correlation(noise)) < 0.1
    with pytest.raises(ValueError, match="H, W >= 2"):
        cnn.neighbour_correlation(np.ones((3, 1)))
    with pytest.raises(ValueError, match="constant"):
        cnn.neighbour_correlation(np.ones((2, 3, 3)))
