"""Loss modules against torch.nn's, in float64 and float32, and the class-label checks."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import ShapeError

torch = pytest.importorskip("torch")
tnn = torch.nn

rng = np.random.default_rng(5)
TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=1e-5, atol=1e-6)}
LABELS = np.array([2, 0, 1, 2, 2, 3])


def run_loss(ours, theirs, prediction, target, dtype):
    """Forward and the gradient of the prediction, in both libraries, with a random upstream gradient."""
    pc = cr.Tensor(prediction.astype(dtype), requires_grad=True)
    pt = torch.tensor(prediction.astype(dtype), requires_grad=True)
    lc = ours(pc, target)
    lt = theirs(pt, torch.from_numpy(target))
    G = rng.standard_normal(lc.shape).astype(dtype)
    lc.backward(G)
    lt.backward(torch.from_numpy(G))
    assert lc.dtype == dtype and pc.grad.dtype == dtype
    np.testing.assert_allclose(lc.data, lt.detach().numpy(), **TOL[dtype])
    np.testing.assert_allclose(pc.grad, pt.grad.numpy(), **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy(dtype, reduction, smoothing):
    run_loss(nn.CrossEntropyLoss(reduction=reduction, label_smoothing=smoothing), tnn.CrossEntropyLoss(reduction=reduction,
                                                                             label_smoothing=smoothing),
             rng.standard_normal((6, 4)) * 3, LABELS, dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll(dtype, reduction):
    log_probs = np.log(rng.dirichlet(np.ones(4), size=6))
    run_loss(nn.NLLLoss(reduction=reduction), tnn.NLLLoss(reduction=reduction), log_probs, LABELS, dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse(dtype, reduction):
    run_loss(nn.MSELoss(reduction), tnn.MSELoss(reduction=reduction), rng.standard_normal((5, 3)),
             rng.standard_normal((5, 3)).astype(dtype), dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_with_logits(dtype, reduction):
    run_loss(nn.BCEWithLogitsLoss(reduction), tnn.BCEWithLogitsLoss(reduction=reduction),
             rng.standard_normal((4, 5)) * 4, rng.uniform(0, 1, (4, 5)).astype(dtype), dtype)


def test_bce_with_logits_is_finite_for_huge_logits():
    z = cr.Tensor(np.array([-1000.0, 1000.0, -1000.0, 1000.0], dtype=np.float32), requires_grad=True)
    loss = nn.BCEWithLogitsLoss("none")(z, np.array([0.0, 1.0, 1.0, 0.0]))
    np.testing.assert_allclose(loss.data, [0.0, 0.0, 1000.0, 1000.0])  # −log σ(−1000) = 1000
    loss.sum().backward()
    np.testing.assert_allclose(z.grad, [0.0, 0.0, -1.0, 1.0])


def test_nll_after_log_softmax_equals_cross_entropy():
    logits = cr.Tensor(rng.standard_normal((6, 4)))
    np.testing.assert_allclose(nn.NLLLoss()(cr.log_softmax(logits, axis=1), LABELS).data,
                               nn.CrossEntropyLoss()(logits, LABELS).data, rtol=1e-12)


# -- class-label checks --------------------------------------------------------------
CLASSIFICATION = [nn.CrossEntropyLoss(), nn.NLLLoss()]


@pytest.mark.parametrize("loss", CLASSIFICATION, ids=lambda m: type(m).__name__)
def test_float_labels_are_rejected_naming_a_fractional_one(loss):
    with pytest.raises(TypeError, match=r"labels must be integers, got dtype float64 \(1.5 at position 2\)"):
        loss(cr.zeros(3, 4), np.array([0.0, 1.0, 1.5]))


@pytest.mark.parametrize("loss", CLASSIFICATION, ids=lambda m: type(m).__name__)
@pytest.mark.parametrize("labels, value, position", [([0, 3, -1, 2], -1, 2), ([0, 4, 1, 9], 4, 1)])
def test_out_of_range_labels_name_value_and_position(loss, labels, value, position):
    with pytest.raises(ValueError, match=rf"class label {value} at position {position} is out of range for 4 "
                                         rf"classes \(expected 0 ≤ label < 4\)"):
        loss(cr.zeros(4, 4), np.array(labels))


def test_label_shape_errors():
    with pytest.raises(ShapeError, match=r"expected logits \(N, C\) and labels \(N,\), got \(3, 4\) and \(2,\)"):
        nn.CrossEntropyLoss()(cr.zeros(3, 4), np.array([0, 1]))
    with pytest.raises(ShapeError, match="NLLLoss: expected log_probs"):
        nn.NLLLoss()(cr.zeros(3, 4, 2), np.array([0, 1, 2]))


def test_reduction_is_validated():
    with pytest.raises(ValueError, match="MSELoss: reduction must be one of"):
        nn.MSELoss("average")
    with pytest.raises(ValueError, match="label_smoothing must be in"):
        nn.CrossEntropyLoss(label_smoothing=1.5)


_WEIGHT = np.array([0.5, 2.0, 1.0, 1.5])
_IGNORED = np.array([2, -100, 1, 0, -100, 3])
_PROBABILITIES = rng.dirichlet(np.ones(4), 6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize("name, ours, theirs, prediction, target", [
    ("CE(weight, ignore, smoothing)",
     lambda d: nn.CrossEntropyLoss(weight=_WEIGHT.astype(d), ignore_index=-100, label_smoothing=0.1),
     lambda d: tnn.CrossEntropyLoss(weight=torch.tensor(_WEIGHT.astype(d)), ignore_index=-100, label_smoothing=0.1),
     rng.standard_normal((6, 4)), _IGNORED),
    ("CE(probabilities)", lambda d: nn.CrossEntropyLoss(), lambda d: tnn.CrossEntropyLoss(), rng.standard_normal((6, 4)),
     _PROBABILITIES),
    ("NLL(weight, ignore)", lambda d: nn.NLLLoss(weight=_WEIGHT, reduction="sum"),
     lambda d: tnn.NLLLoss(weight=torch.tensor(_WEIGHT.astype(d)), reduction="sum"), rng.standard_normal((6, 4)), _IGNORED),
    ("L1", lambda d: nn.L1Loss(), lambda d: tnn.L1Loss(), rng.standard_normal((3, 4)), rng.standard_normal((3, 4))),
    ("SmoothL1", lambda d: nn.SmoothL1Loss(beta=0.5), lambda d: tnn.SmoothL1Loss(beta=0.5), rng.standard_normal((3, 4)),
     rng.standard_normal((3, 4))),
    ("Huber", lambda d: nn.HuberLoss(delta=0.7, reduction="sum"), lambda d: tnn.HuberLoss(delta=0.7, reduction="sum"),
     rng.standard_normal((3, 4)), rng.standard_normal((3, 4))),
    ("BCE", lambda d: nn.BCELoss(), lambda d: tnn.BCELoss(), rng.uniform(0.05, 0.95, (3, 4)), rng.uniform(0, 1, (3, 4))),
    ("KLDiv", lambda d: nn.KLDivLoss(reduction="batchmean"), lambda d: tnn.KLDivLoss(reduction="batchmean"),
     np.log(rng.dirichlet(np.ones(4), 3)), rng.dirichlet(np.ones(4), 3)),
])
def test_more_losses_match_torch_eager_and_fused(name, ours, theirs, prediction, target, dtype, fused):
    target = target.astype(dtype) if target.dtype.kind == "f" else target
    loss = ours(dtype)
    model = nn.Fused(nn.Identity(), loss) if fused else loss
    run_loss(lambda p, t: model(p, cr.Tensor(t)), theirs(dtype), prediction, target, dtype)


def test_the_kl_div_reduction_is_checked_by_name():
    with pytest.raises(ValueError, match="KLDivLoss: reduction must be one of"):
        nn.KLDivLoss(reduction="batch")


@pytest.mark.parametrize("pad", [(1, 2), (1, 1, 0, 2), (0, 1, 2, 0, 1, 1)])
def test_functional_pad_pads_the_last_axes_first_as_torch(pad):
    data = rng.standard_normal((2, 3, 4))
    x, t = cr.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    ours, theirs = nn.functional.pad(x, pad, value=0.5), torch.nn.functional.pad(t, pad, value=0.5)
    np.testing.assert_array_equal(ours.numpy(), theirs.detach().numpy())
    weights = rng.standard_normal(theirs.shape)
    (ours * weights).sum().backward()
    (theirs * torch.tensor(weights)).sum().backward()
    np.testing.assert_array_equal(x.grad, t.grad.numpy())


@pytest.mark.parametrize("p, dim", [(2.0, 1), (1.0, 0), (3.0, -1)])
def test_functional_normalize_matches_torch(p, dim):
    data = rng.standard_normal((3, 4))
    x, t = cr.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    ours, theirs = nn.functional.normalize(x, p=p, dim=dim), torch.nn.functional.normalize(t, p=p, dim=dim)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-12)
    weights = rng.standard_normal(theirs.shape)
    (ours * weights).sum().backward()
    (theirs * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-10)
