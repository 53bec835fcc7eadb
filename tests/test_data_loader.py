"""DataLoader: batches, shuffling that is reproducible per epoch, drop_last, len, and exact resume."""
import numpy
import pytest

import chainrule as cr
from chainrule import data


def arrays(n=10):
    x = numpy.arange(n * 2, dtype=numpy.uint8).reshape(n, 2)
    y = numpy.arange(n, dtype=numpy.int32)
    return x, y


def epoch_labels(loader):
    """The labels of one epoch, batch by batch."""
    return [y.numpy().tolist() for _, y in loader]


class FakeDataset:
    def __init__(self, transform=None):
        self.images, self.labels = arrays(6)
        self.transform = transform


def test_batches_in_order_with_the_default_transform():
    x, y = arrays(10)
    loader = data.DataLoader((x, y), batch_size=4)
    assert len(loader) == 3
    batches = list(loader)
    assert [len(yb) for _, yb in batches] == [4, 4, 2]
    xb, yb = batches[2]
    assert isinstance(xb, cr.Tensor) and isinstance(yb, cr.Tensor)
    assert xb.dtype == numpy.float32 and yb.dtype == numpy.int64
    assert not xb.requires_grad
    numpy.testing.assert_array_equal(xb.numpy(), numpy.array([[16, 17], [18, 19]], numpy.float32) / numpy.float32(255))
    assert yb.tolist() == [8, 9]


def test_drop_last_drops_the_short_batch():
    loader = data.DataLoader(arrays(10), batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert epoch_labels(loader) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert len(data.DataLoader(arrays(8), batch_size=4, drop_last=True)) == 2
    assert len(data.DataLoader(arrays(3), batch_size=4, drop_last=True)) == 0
    assert len(data.DataLoader(arrays(3), batch_size=4)) == 1


def test_default_batch_size_is_one():
    loader = data.DataLoader(arrays(3))
    assert len(loader) == 3 and epoch_labels(loader) == [[0], [1], [2]]


def test_a_dataset_transform_is_used_unless_the_loader_has_its_own():
    flatten_to_float = data.Compose([data.ToFloat(numpy.float64), data.Flatten()])
    xb, _ = next(iter(data.DataLoader(FakeDataset(flatten_to_float), batch_size=2)))
    assert xb.dtype == numpy.float64
    xb, _ = next(iter(data.DataLoader(FakeDataset(flatten_to_float), batch_size=2, transform=lambda a: a * 2)))
    assert xb.dtype == numpy.uint8 and xb.tolist() == [[0, 2], [4, 6]]
    xb, _ = next(iter(data.DataLoader(FakeDataset(), batch_size=2)))
    assert xb.dtype == numpy.float32


def test_float_inputs_become_float32_unscaled():
    x = numpy.array([[0.5], [2.0]])
    xb, _ = next(iter(data.DataLoader((x, numpy.array([0, 1])), batch_size=2)))
    assert xb.dtype == numpy.float32 and xb.tolist() == [[0.5], [2.0]]


def test_shuffled_epoch_is_a_permutation_and_differs_between_epochs():
    loader = data.DataLoader(arrays(50), batch_size=8, shuffle=True, seed=3)
    first, second = epoch_labels(loader), epoch_labels(loader)
    for epoch in (first, second):
        assert sorted(sum(epoch, [])) == list(range(50))
        assert [len(b) for b in epoch] == [8] * 6 + [2]
    assert sum(first, []) != list(range(50))
    assert first != second


def test_images_stay_paired_with_their_labels_when_shuffled():
    x, y = arrays(20)
    for xb, yb in data.DataLoader((x, y), batch_size=6, shuffle=True, seed=1, transform=lambda a: a):
        numpy.testing.assert_array_equal(xb.numpy(), x[yb.numpy()])


def test_same_seed_same_orders_other_seed_other_orders():
    def orders(seed):
        loader = data.DataLoader(arrays(30), batch_size=7, shuffle=True, seed=seed)
        return [epoch_labels(loader) for _ in range(3)]

    assert orders(5) == orders(5)
    assert orders(5) != orders(6)


def test_without_a_seed_the_order_follows_manual_seed():
    def first_epoch():
        return epoch_labels(data.DataLoader(arrays(30), batch_size=30, shuffle=True))

    cr.manual_seed(11)
    a = first_epoch()
    cr.manual_seed(11)
    assert first_epoch() == a


def test_state_dict_is_plain_ints_and_resumes_the_next_epoch_exactly():
    reference = data.DataLoader(arrays(30), batch_size=7, shuffle=True, seed=9)
    epochs = [epoch_labels(reference) for _ in range(3)]

    first_run = data.DataLoader(arrays(30), batch_size=7, shuffle=True, seed=9)
    epoch_labels(first_run)
    state = first_run.state_dict()
    assert state == {"seed": 9, "epoch": 1, "batch": 0}
    assert all(type(value) is int for value in state.values())

    resumed = data.DataLoader(arrays(30), batch_size=7, shuffle=True, seed=123)
    resumed.load_state_dict(state)
    assert [epoch_labels(resumed), epoch_labels(resumed)] == epochs[1:]


def test_resume_in_the_middle_of_an_epoch():
    reference = data.DataLoader(arrays(30), batch_size=7, shuffle=True, seed=2)
    epoch_labels(reference)
    second_epoch = epoch_labels(reference)

    interrupted = data.DataLoader(arrays(30), batch_size=7, shuffle=True, seed=2)
    epoch_labels(interrupted)
    batches = iter(interrupted)
    seen = [next(batches)[1].tolist(), next(batches)[1].tolist()]
    state = interrupted.state_dict()
    assert state == {"seed": 2, "epoch": 1, "batch": 2}

    resumed = data.DataLoader(arrays(30), batch_size=7, shuffle=True, seed=2)
    resumed.load_state_dict(state)
    assert seen + epoch_labels(resumed) == second_epoch


def test_state_during_the_last_batch_points_at_the_next_epoch():
    loader = data.DataLoader(arrays(10), batch_size=5, shuffle=True, seed=0)
    states = [loader.state_dict() for _ in loader]
    assert states == [{"seed": 0, "epoch": 0, "batch": 1}, {"seed": 0, "epoch": 1, "batch": 0}]


def test_an_abandoned_iteration_is_not_resumed_by_a_new_one():
    reference = data.DataLoader(arrays(30), batch_size=7, shuffle=True, seed=4)
    epochs = [epoch_labels(reference) for _ in range(2)]
    loader = data.DataLoader(arrays(30), batch_size=7, shuffle=True, seed=4)
    next(iter(loader))
    assert epoch_labels(loader) == epochs[1]


def test_load_state_dict_checks_what_it_gets():
    loader = data.DataLoader(arrays(10), batch_size=5)
    with pytest.raises(KeyError, match=r"missing \['batch'\]"):
        loader.load_state_dict({"seed": 0, "epoch": 0})
    with pytest.raises(ValueError, match="epoch 0, batch 2 do not fit a loader of 2 batches"):
        loader.load_state_dict({"seed": 0, "epoch": 0, "batch": 2})


@pytest.mark.parametrize(
    "args, kwargs, error, phrase",
    [
        ((arrays(4),), {"batch_size": 0}, ValueError, "batch_size must be a positive integer"),
        ((arrays(4),), {"seed": -1}, ValueError, "seed must be a non-negative integer"),
        (((numpy.zeros((4, 2)), numpy.zeros(3, numpy.int64)),), {}, ValueError, "x has 4 samples but y has 3"),
        ((numpy.zeros((4, 2)),), {}, TypeError, r"wrap arrays in data.TensorDataset\(x, y\)"),
        ((object(),), {}, TypeError, "a dataset with __len__ and __getitem__; got object"),
    ],
)
def test_bad_arguments_are_explained(args, kwargs, error, phrase):
    with pytest.raises(error, match=phrase):
        data.DataLoader(*args, **kwargs)


# -- PyTorch's dataset protocol, TensorDataset, regression targets, token ids ----------------------------------
class SquaresDataset:
    """A dataset as PyTorch users write one: __len__, and __getitem__ returning (features, target)."""

    def __len__(self):
        return 7

    def __getitem__(self, index):
        return numpy.array([index, index + 0.5], numpy.float32), float(index * index)


def test_a_protocol_dataset_is_batched_sample_by_sample_and_stacked():
    loader = data.DataLoader(SquaresDataset(), batch_size=3)
    assert len(loader) == 3
    batches = list(loader)
    xb, yb = batches[0]
    assert xb.shape == (3, 2) and xb.dtype == numpy.float32 and xb.tolist() == [[0, 0.5], [1, 1.5], [2, 2.5]]
    assert yb.dtype == numpy.float64 and yb.tolist() == [0.0, 1.0, 4.0]
    assert batches[2][1].tolist() == [36.0]


def test_a_protocol_dataset_shuffles_and_resumes_like_arrays():
    shuffled = data.DataLoader(SquaresDataset(), batch_size=2, shuffle=True, seed=4)
    first = [yb.tolist() for _, yb in shuffled]
    assert sorted(sum(first, [])) == [i * i for i in range(7)]
    resumed = data.DataLoader(SquaresDataset(), batch_size=2, shuffle=True, seed=4)
    resumed.load_state_dict({"seed": 4, "epoch": 0, "batch": 2})
    assert [yb.tolist() for _, yb in resumed] == first[2:]


def test_tensor_dataset_holds_rows_and_the_loader_slices_it():
    x, y = numpy.arange(12.0).reshape(6, 2), numpy.arange(6) % 2
    dataset = data.TensorDataset(cr.tensor(x), y)
    assert len(dataset) == 6
    row_x, row_y = dataset[4]
    assert row_x.tolist() == [8.0, 9.0] and int(row_y.item()) == 0
    xb, yb = next(iter(data.DataLoader(dataset, batch_size=4)))
    assert xb.tolist() == x[:4].astype(numpy.float32).tolist() and yb.dtype == numpy.int64
    with pytest.raises(ValueError, match=r"same first dimension, got shapes \(6, 2\), \(5,\)"):
        data.TensorDataset(x, numpy.zeros(5))


def test_regression_targets_of_any_shape_are_kept_as_floats():
    x, y = numpy.random.default_rng(0).random((5, 3)), numpy.random.default_rng(1).random((5, 2, 2))
    xb, yb = next(iter(data.DataLoader((x, y), batch_size=5)))
    assert yb.shape == (5, 2, 2) and yb.dtype == numpy.float64
    numpy.testing.assert_array_equal(yb.numpy(), y)


def test_integer_token_inputs_pass_without_a_transform():
    tokens, targets = numpy.arange(20, dtype=numpy.int64).reshape(4, 5), numpy.arange(4)
    xb, yb = next(iter(data.DataLoader((tokens, targets), batch_size=4)))
    assert xb.dtype == numpy.int64 and xb.tolist() == tokens.tolist()
    assert yb.tolist() == [0, 1, 2, 3]


def test_a_loader_over_arrays_still_shows_them_as_x_and_y():
    x, y = arrays(6)
    loader = data.DataLoader((x, y), batch_size=2)
    numpy.testing.assert_array_equal(loader.x, x)
    assert loader.y.dtype == numpy.int64 and loader.y.tolist() == y.tolist()
    with pytest.raises(AttributeError, match="holds no whole arrays"):
        data.DataLoader(SquaresDataset()).y
