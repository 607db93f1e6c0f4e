"""Bad input to the chapters' helpers raises an error naming the argument (issue 17), and floats
are never silently truncated to ints."""
import numpy as np
import pytest

from nnbook.teach import cnn, logic
from nnbook.teach.restarts import hidden_unit_sweep, restarts
from nnbook.teach.sequence_runs import train_sequence_model
from nnbook.teach.sequences import (jacobian_product, scheduled_inputs, sine_sequences,
                                    teacher_forcing_inputs)
from nnbook import rnn_params

X2 = np.array([[0.0, 0], [0, 1], [1, 0], [1, 1]])
T2 = np.array([[0.0], [1], [1], [0]])


@pytest.mark.parametrize("call, name", [
    (lambda: cnn.equivariance_gap(np.ones((8, 8)), np.ones((3, 3)), (6, 1)), "shift"),
    (lambda: cnn.equivariance_gap(np.ones((2, 2)), np.ones((3, 3)), (0, 0)), "kernel"),
    (lambda: cnn.equivariance_gap(np.ones((20, 20)), np.ones((3, 3)), (1.5, 1)), "shift"),
    (lambda: cnn.confusion_matrix([0, 1], [0, 3], 3), "labels"),
    (lambda: cnn.digits_cnn(channels=(2,)), "channels"),
    (lambda: cnn.digits_cnn(channels=(2, 2.5)), "channels"),
    (lambda: cnn.digits_cnn(batchnorm="no"), "batchnorm"),
    (lambda: logic.all_inputs(64), "n"),
    (lambda: logic.all_inputs(True), "n"),
    (lambda: logic.gate("not", True), "n"),
    (lambda: logic.gate("and", True), "n"),
    (lambda: jacobian_product(np.zeros((3, 2, 2)), True, 0), "t"),
    (lambda: sine_sequences(4, 5, periods=(1, np.inf)), "periods"),
    (lambda: sine_sequences(4, 5, periods=(1,)), "periods"),
    (lambda: teacher_forcing_inputs(np.ones((5, 2, 3)), np.ones((4, 3))), "first"),
    (lambda: teacher_forcing_inputs(np.ones((5, 3)), np.ones(2)), "first"),
    (lambda: scheduled_inputs(rnn_params(1, 3, 1), np.ones((5, 2, 1)), np.ones(1), 0.5, None),
     "rng"),
    (lambda: scheduled_inputs(rnn_params(1, 3, 1), np.ones((5, 2, 1)), np.ones(1), 1.5,
                              np.random.default_rng(0)), "p_truth"),
    (lambda: train_sequence_model("rnn", np.ones((5, 4, 1)), (np.ones((5, 4, 1)), np.ones((4, 1))),
                                  Dh=3, epochs=1), "train"),
    (lambda: restarts([2, 2, 1], ["tanh", "identity"], X2, T2, "sse", 0.1, 1, [1.7]), "seeds"),
    (lambda: hidden_unit_sweep([2.9], X2, T2, X2, T2, "sse", 0.1, 1, 1), "Ms"),
])
def test_bad_teaching_input_names_the_argument(call, name):
    with pytest.raises((ValueError, TypeError), match=name):
        call()


def test_confusion_matrix_of_no_examples_is_zero():
    np.testing.assert_array_equal(cnn.confusion_matrix([], [], 3), np.zeros((3, 3), int))


def test_whole_number_arguments_of_numpy_integer_type_are_accepted():
    sweep = hidden_unit_sweep(np.array([2]), X2, T2, X2, T2, "sse", 0.1, 1, n_restarts=1)
    assert sweep.Ms.tolist() == [2]
    assert len(restarts([2, 2, 1], ["tanh", "identity"], X2, T2, "sse", 0.1, 1,
                        np.array([0, 1]))) == 2
