"""Second and higher order: known answers, PyTorch's create_graph/autograd.grad semantics,
third order on a few ops, and gradient penalties and Hessian-vector products through every
nn layer and loss, against torch with create_graph=True (float64, to 1e-8)."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from nn_reference import copy_into_torch
from op_cases import CASES
from oracle import check_second_order_torch, check_third_order_finite_differences


def scalar(value: float) -> cr.Tensor:
    return cr.tensor(value, dtype=np.float64, requires_grad=True)


# -- known answers ---------------------------------------------------------------------------
def test_second_derivative_of_x_cubed_at_2_is_12():
    x = scalar(2.0)
    (dy,) = cr.autograd.grad(x**3, x, create_graph=True)
    assert dy.item() == pytest.approx(12.0, abs=1e-12)  # 3x²
    (d2y,) = cr.autograd.grad(dy, x)
    assert d2y.item() == pytest.approx(12.0, abs=1e-12)  # 6x


def test_the_gradient_of_dy_dx_for_x4_minus_2x2_at_2_is_44():
    x = scalar(2.0)
    y = x**4 - 2 * x**2
    y.backward(create_graph=True)
    dy = x.grad
    assert isinstance(dy, cr.Tensor) and dy.item() == pytest.approx(24.0)  # 4x³ − 4x
    x.grad = None
    dy.backward()
    assert x.grad.item() == pytest.approx(44.0, abs=1e-12)  # 12x² − 4


def test_dezero_step_36_gives_100():
    """z = (dy/dx)³ + y with y = x², at x = 2: dz/dx = 3(2x)²·2 + 2x = 96 + 4."""
    x = scalar(2.0)
    y = x**2
    (gx,) = cr.autograd.grad(y, x, create_graph=True)
    z = gx**3 + y
    z.backward()
    assert x.grad.item() == pytest.approx(100.0, abs=1e-12)


def test_fourth_derivative_of_tanh():
    """With t = tanh x: t⁽¹⁾ = 1 − t², t⁽²⁾ = −2t(1 − t²), t⁽³⁾ = (6t² − 2)(1 − t²),
    t⁽⁴⁾ = (16t − 24t³)(1 − t²); at x = 0.3, through four nested autograd.grad calls."""
    x = scalar(0.3)
    t = float(np.tanh(0.3))
    y = cr.tanh(x)
    for _ in range(4):
        (y,) = cr.autograd.grad(y, x, create_graph=True)
    assert y.item() == pytest.approx((16 * t - 24 * t**3) * (1 - t * t), rel=1e-12)


# -- semantics (PyTorch's) ---------------------------------------------------------------------
def test_without_create_graph_grad_holds_arrays_and_with_it_tensors():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    assert isinstance(x.grad, np.ndarray)
    x.grad = None
    (x * x).sum().backward(create_graph=True)
    assert isinstance(x.grad, cr.Tensor) and x.grad.requires_grad
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])
    assert x.grad.dtype == np.float32


def test_create_graph_keeps_the_graph_by_default_and_retain_graph_false_frees_it():
    x = scalar(1.5)
    y = cr.exp(x) * x
    y.backward(create_graph=True)
    y.backward(create_graph=True)  # retain_graph defaults to create_graph, as in PyTorch
    z = cr.exp(x) * x
    cr.autograd.grad(z, x, retain_graph=False)
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        cr.autograd.grad(z, x)


def test_autograd_grad_leaves_every_grad_alone_and_sums_over_outputs():
    x, w = scalar(0.5), scalar(-2.0)
    a, b = x * w, cr.sin(x)
    gx, gw = cr.autograd.grad([a, b], [x, w], grad_outputs=[None, None])
    assert x.grad is None and w.grad is None
    assert gx.item() == pytest.approx(-2.0 + float(np.cos(0.5)))
    assert gw.item() == pytest.approx(0.5)


def test_autograd_grad_of_a_non_leaf_and_unused_inputs():
    x, unused = scalar(3.0), scalar(1.0)
    h = x * x
    y = h * 2.0
    (gh,) = cr.autograd.grad(y, h, retain_graph=True)
    assert gh.item() == 2.0
    with pytest.raises(RuntimeError, match="input 1 .* was not used.*allow_unused=True"):
        cr.autograd.grad(y, [x, unused], retain_graph=True)
    gx, none = cr.autograd.grad(y, [x, unused], allow_unused=True)
    assert gx.item() == 12.0 and none is None


def test_a_function_without_backward_graph_names_itself_under_create_graph():
    class Cube(cr.Function):
        def forward(self, x):
            self.save_for_backward(x)
            return x**3

        def backward(self, dy):
            (x,) = self.saved_tensors
            return 3 * x**2 * dy

    x = scalar(2.0)
    y = Cube()(x)
    (g,) = cr.autograd.grad(y, x, retain_graph=True)
    assert g.item() == 12.0
    with pytest.raises(RuntimeError, match="Cube cannot be differentiated twice: it has no backward_graph"):
        cr.autograd.grad(y, x, create_graph=True)


def test_a_user_function_with_backward_graph_goes_to_any_order():
    class Cube(cr.Function):
        def forward(self, x):
            self.save_for_backward(x)
            return x**3

        def backward(self, dy):
            (x,) = self.saved_tensors
            return 3 * x**2 * dy

        def backward_graph(self, dy):
            (x,) = self.inputs
            return 3 * x**2 * dy

    x = scalar(2.0)
    (g,) = cr.autograd.grad(Cube()(x), x, create_graph=True)
    (h,) = cr.autograd.grad(g, x)
    assert (g.item(), h.item()) == (12.0, 12.0)


def test_the_first_order_path_gives_the_same_bits_with_and_without_create_graph():
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal((4, 6)), requires_grad=True)
    w = cr.tensor(rng.standard_normal((3, 6)), requires_grad=True)
    labels = np.array([0, 2, 1, 2])

    def loss():
        return cr.softmax_cross_entropy(cr.tanh(cr.linear(x, w)), labels)

    loss().backward()
    plain = w.grad.copy()
    w.grad = None
    loss().backward(create_graph=True)
    np.testing.assert_allclose(w.grad.numpy(), plain, rtol=1e-15, atol=1e-15)


# -- third order on a few ops, against torch ----------------------------------------------------
THIRD_ORDER = {"exp", "tanh(randn)", "sigmoid(randn)", "softmax((3, 4),axis=-1,scale=1.0)", "log_softmax((3, 4),axis=-1,scale=1.0)",
               "matmul(3, 4)@(4, 5)", "layer_norm((4, 5)over(5,))", "gelu(none,randn)", "div(x,x)",
               "conv2d((2, 3, 7, 5)*(4, 3, 3, 3)+b,{'stride': 2, 'padding': 1})", "batch_norm(x*x)"}
TORCH_THIRD_ORDER_DIFFERS = {"layer_norm((4, 5)over(5,))", "batch_norm(x*x)"}
"""torch 2.13's third derivatives of layer_norm and batch_norm (training) differ from finite differences of
the second derivative, its own and ours, by up to 1.6 and 116 on these cases, where ours agree with them
(5e-9 for layer_norm): these two are checked at third order by finite differences only."""


@pytest.mark.parametrize("case", [c for c in CASES if c.id in THIRD_ORDER], ids=str)
def test_third_order_against_finite_differences_of_the_second(case):
    check_third_order_finite_differences(case)


@pytest.mark.parametrize("case", [c for c in CASES if c.id in THIRD_ORDER - TORCH_THIRD_ORDER_DIFFERS], ids=str)
def test_third_order_against_torch(case):
    pytest.importorskip("torch")
    check_second_order_torch(case, order=3)


def test_the_third_order_list_names_existing_cases():
    assert {c.id for c in CASES} >= set(THIRD_ORDER)


# -- every nn layer and loss: gradient penalty and Hessian-vector product vs torch --------------
def _layers():
    import torch.nn as tnn

    rng = np.random.default_rng(7)
    image = rng.standard_normal((2, 3, 6, 6))
    rows = rng.standard_normal((5, 4))
    return [
        ("Linear", nn.Linear(4, 3), tnn.Linear(4, 3), rows),
        ("Conv2d", nn.Conv2d(3, 2, 3, padding=1, stride=2), tnn.Conv2d(3, 2, 3, padding=1, stride=2), image),
        ("BatchNorm1d", nn.BatchNorm1d(4), tnn.BatchNorm1d(4), rows),
        ("BatchNorm2d(eval)", nn.BatchNorm2d(3).eval(), tnn.BatchNorm2d(3).eval(), image),
        ("BatchNorm2d", nn.BatchNorm2d(3), tnn.BatchNorm2d(3), image),
        ("LayerNorm", nn.LayerNorm(4), tnn.LayerNorm(4), rows),
        ("MaxPool2d", nn.MaxPool2d(2), tnn.MaxPool2d(2), image),
        ("AvgPool2d", nn.AvgPool2d(3, stride=2, padding=1), tnn.AvgPool2d(3, stride=2, padding=1), image),
        ("AdaptiveAvgPool2d", nn.AdaptiveAvgPool2d(1), tnn.AdaptiveAvgPool2d(1), image),
        ("Flatten", nn.Flatten(), tnn.Flatten(), image),
        ("Dropout(eval)", nn.Dropout(0.5).eval(), tnn.Dropout(0.5).eval(), rows),
        *[(name, getattr(nn, name)(), getattr(tnn, name)(), rows)
          for name in ["ReLU", "LeakyReLU", "Sigmoid", "Tanh", "GELU", "SiLU", "ELU", "Softplus", "Identity"]],
        ("Softmax", nn.Softmax(dim=1), tnn.Softmax(dim=1), rows),
        ("LogSoftmax", nn.LogSoftmax(dim=1), tnn.LogSoftmax(dim=1), rows),
        ("Sequential", nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3)),
         tnn.Sequential(tnn.Linear(4, 6), tnn.Tanh(), tnn.Linear(6, 3)), rows),
        ("CNN", nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                              nn.Linear(36, 3)),
         tnn.Sequential(tnn.Conv2d(3, 4, 3, padding=1), tnn.BatchNorm2d(4), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(),
                        tnn.Linear(36, 3)), image),
    ]


def _penalty_grads_ours(layer, x, G):
    """P = ‖∂⟨G, layer(x)⟩/∂x‖² (WGAN-GP's penalty) and its gradients w.r.t. x and the parameters."""
    x = cr.Tensor(x, requires_grad=True)
    params = list(layer.parameters())
    (gx,) = cr.autograd.grad(layer(x), x, grad_outputs=G, create_graph=True)
    penalty = (gx * gx).sum()
    if not penalty.requires_grad:  # ∂⟨G, layer(x)⟩/∂x is a constant (Flatten, a pool): P has no gradient
        return penalty.item(), [np.zeros(t.shape) for t in [x, *params]]
    grads = cr.autograd.grad(penalty, [x, *params], allow_unused=True)
    return penalty.item(), [np.zeros(t.shape) if g is None else g.numpy() for g, t in zip(grads, [x, *params])]


def _penalty_grads_torch(layer, x, G):
    import torch

    x = torch.tensor(x, requires_grad=True)
    params = list(layer.parameters())
    (gx,) = torch.autograd.grad(layer(x), x, grad_outputs=torch.tensor(G), create_graph=True)
    penalty = (gx * gx).sum()
    if not penalty.requires_grad:
        return penalty.item(), [np.zeros(t.shape) for t in [x, *params]]
    grads = torch.autograd.grad(penalty, [x, *params], allow_unused=True)
    return penalty.item(), [np.zeros(t.shape) if g is None else g.detach().numpy(force=True)
                            for g, t in zip(grads, [x, *params])]


@pytest.mark.parametrize("fused", [False, True], ids=["eager", "Fused"])
def test_gradient_penalty_through_every_layer_agrees_with_torch(fused):
    pytest.importorskip("torch")
    for name, ours, theirs, x in _layers():
        ours.double()
        theirs.double()
        copy_into_torch(ours, theirs)
        theirs.train(ours.training)
        model = nn.Fused(ours) if fused else ours
        G = np.random.default_rng(1).standard_normal(theirs(__import__("torch").tensor(x)).shape)
        p_ours, g_ours = _penalty_grads_ours(model, x, G)
        p_torch, g_torch = _penalty_grads_torch(theirs, x, G)
        assert p_ours == pytest.approx(p_torch, rel=1e-10, abs=1e-12), name
        for i, (a, b) in enumerate(zip(g_ours, g_torch)):
            np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10, err_msg=f"{name}: gradient {i} of the penalty")


LOSSES = [
    ("CrossEntropyLoss", lambda: nn.CrossEntropyLoss(), "CrossEntropyLoss", np.array([0, 2, 1, 2, 0])),
    ("CrossEntropyLoss(smoothing)", lambda: nn.CrossEntropyLoss(label_smoothing=0.2),
     "CrossEntropyLoss(label_smoothing=0.2)", np.array([0, 2, 1, 2, 0])),
    ("NLLLoss", lambda: nn.NLLLoss(reduction="sum"), "NLLLoss(reduction='sum')", np.array([1, 0, 2, 2, 1])),
    ("MSELoss", lambda: nn.MSELoss(), "MSELoss", np.random.default_rng(2).standard_normal((5, 3))),
    ("BCEWithLogitsLoss", lambda: nn.BCEWithLogitsLoss(), "BCEWithLogitsLoss",
     np.random.default_rng(3).uniform(0, 1, (5, 3))),
]


@pytest.mark.parametrize("name, make, torch_expr, target", LOSSES, ids=[loss[0] for loss in LOSSES])
def test_hessian_vector_product_of_every_loss_after_an_mlp_agrees_with_torch(name, make, torch_expr, target):
    """Hv = ∂⟨∂L/∂θ, v⟩/∂θ for the parameters θ of a small MLP under each loss."""
    torch = pytest.importorskip("torch")
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3)).double()
    reference = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 3)).double()
    copy_into_torch(model, reference)
    x = np.random.default_rng(4).standard_normal((5, 4))
    params = list(model.parameters())
    v = [np.random.default_rng(10 + i).standard_normal(p.shape) for i, p in enumerate(params)]

    loss = make()(model(cr.Tensor(x)), cr.Tensor(target))
    grads = cr.autograd.grad(loss, params, create_graph=True)
    # allow_unused: a loss whose gradient is constant in the last bias (NLL's) leaves it out of H·v
    hv = cr.autograd.grad(sum(((g * cr.Tensor(u)).sum() for g, u in zip(grads, v)), cr.tensor(0.0, dtype="float64")),
                          params, allow_unused=True)

    torch_loss = eval("torch.nn." + torch_expr if "(" in torch_expr else f"torch.nn.{torch_expr}()")
    torch_params = list(reference.parameters())
    t_loss = torch_loss(reference(torch.tensor(x)), torch.tensor(target))
    t_grads = torch.autograd.grad(t_loss, torch_params, create_graph=True)
    t_hv = torch.autograd.grad(sum((g * torch.tensor(u)).sum() for g, u in zip(t_grads, v)), torch_params,
                               allow_unused=True)
    for ours, theirs, p in zip(hv, t_hv, params):
        ours = np.zeros(p.shape) if ours is None else ours.numpy()
        theirs = np.zeros(p.shape) if theirs is None else theirs.numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=1e-10, err_msg=name)


@pytest.mark.parametrize("make", [lambda ps: cr.optim.SGD(ps, lr=0.1, momentum=0.9), lambda ps: cr.optim.Adam(ps, lr=0.1),
                                  lambda ps: cr.optim.RMSprop(ps, lr=0.1), lambda ps: cr.optim.Adagrad(ps, lr=0.1)],
                         ids=["SGD", "Adam", "RMSprop", "Adagrad"])
def test_optimizers_and_clipping_step_on_the_tensor_gradients_create_graph_leaves(make):
    """After backward(create_graph=True) a parameter's grad is a Tensor, as in PyTorch: a step and
    clipping use its values, exactly as after a plain backward."""
    steps = []
    for create_graph in (False, True):
        w = nn.Parameter(cr.tensor([[0.5, -1.0], [2.0, 0.25]], dtype="float64"))
        opt = make([w])
        for _ in range(2):
            opt.zero_grad()
            (cr.tanh(w) ** 2).sum().backward(create_graph=create_graph)
            nn.utils.clip_grad_norm_([w], 0.5)
            nn.utils.clip_grad_value_([w], 0.3)
            opt.step()
        steps.append(w.numpy().copy())
    np.testing.assert_array_equal(steps[0], steps[1])


def test_autograd_grad_of_outputs_that_depend_on_each_other_against_torch():
    """z is computed from y: the walk must reach y after z's contribution to it (one topological order)."""
    torch = pytest.importorskip("torch")
    x = cr.tensor([0.5, -1.0, 2.0], dtype="float64", requires_grad=True)
    y = cr.tanh(x) * x
    z = (y * y).sum()
    g = np.array([1.0, -2.0, 0.5])
    ours = cr.autograd.grad([y, z], x, grad_outputs=[g, None], retain_graph=True)[0].numpy()
    xt = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64, requires_grad=True)
    yt = torch.tanh(xt) * xt
    zt = (yt * yt).sum()
    theirs = torch.autograd.grad([yt, zt], xt, grad_outputs=[torch.tensor(g), None])[0].numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-14)
    for first in ([z, y], [y, z]):  # either order of the outputs
        again = cr.autograd.grad(first, x, grad_outputs=[None, g] if first[0] is z else [g, None],
                                 retain_graph=True)[0].numpy()
        np.testing.assert_allclose(again, theirs, rtol=1e-14)
