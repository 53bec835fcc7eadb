"""cr.draw_graph: the DOT text has exactly the nodes and edges of the network that was
built (known from its structure), gradient norms equal NumPy's norms of the gradients,
and Graphviz turns it into SVG/PNG when ``dot`` is installed (CI installs it)."""
import re
import shutil

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

N, D_IN, HIDDEN, CLASSES = 8, 12, 16, 4
NODE = re.compile(r"^  (\w+) \[.*label=\"((?:[^\"\\]|\\.)*)\"\];$", re.MULTILINE)
EDGE = re.compile(r"^  (\w+) -> (\w+)(?: \[label=\"((?:[^\"\\]|\\.)*)\"\])?;$", re.MULTILINE)


def parse(dot_text: str):
    """(label lines by node id, set of edges as (source's first label line, target's))."""
    labels = {node: label.split("\\n") for node, label in NODE.findall(dot_text)}
    edges = [(labels[a][0], labels[b][0], label) for a, b, label in EDGE.findall(dot_text)]
    return labels, edges


def mlp_and_loss(hidden_layers: int = 1):
    cr.manual_seed(0)
    layers = [nn.Linear(D_IN, HIDDEN), nn.ReLU()]
    for _ in range(hidden_layers - 1):
        layers += [nn.Linear(HIDDEN, HIDDEN), nn.ReLU()]
    model = nn.Sequential(*layers, nn.Linear(HIDDEN, CLASSES))
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal((N, D_IN)).astype(np.float32))
    y = cr.tensor(rng.integers(0, CLASSES, N))
    return model, nn.CrossEntropyLoss()(model(x), y)


def test_dot_nodes_and_edges_match_the_mlp(tmp_path):
    model, loss = mlp_and_loss()
    (path,) = cr.draw_graph(loss, tmp_path / "mlp.dot", model=model)
    labels, edges = parse(path.read_text())
    assert sorted(label[0] for label in labels.values()) == sorted([
        "Linear#1", "ReLU#1", "Linear#2", "SoftmaxCrossEntropy#1",
        "0.weight", "0.bias", "2.weight", "2.bias", "input", "labels", "output"])
    assert sorted((a, b) for a, b, _ in edges) == sorted([
        ("input", "Linear#1"), ("0.weight", "Linear#1"), ("0.bias", "Linear#1"),
        ("Linear#1", "ReLU#1"), ("ReLU#1", "Linear#2"), ("2.weight", "Linear#2"), ("2.bias", "Linear#2"),
        ("Linear#2", "SoftmaxCrossEntropy#1"), ("labels", "SoftmaxCrossEntropy#1"),
        ("SoftmaxCrossEntropy#1", "output")])
    shapes = {(a, b): label for a, b, label in edges}
    assert shapes[("Linear#1", "ReLU#1")] == f"({N}×{HIDDEN})"
    assert shapes[("Linear#2", "SoftmaxCrossEntropy#1")] == f"({N}×{CLASSES})"
    by_name = {label[0]: label for label in labels.values()}
    assert by_name["0.weight"][1] == f"({HIDDEN}×{D_IN})"
    assert by_name["output"][1] == f"() = {loss.item():.4g}"


def test_gradient_norms_after_backward(tmp_path):
    model, loss = mlp_and_loss()
    loss.backward(retain_graph=True)
    (path,) = cr.draw_graph(loss, tmp_path / "mlp.dot", model=model)
    labels, _ = parse(path.read_text())
    by_name = {label[0]: label for label in labels.values()}
    for name, parameter in model.named_parameters():
        expected = np.linalg.norm(parameter.grad.astype(np.float64))
        assert by_name[name][2] == f"‖grad‖ = {expected:.3g}"
    assert len(by_name["input"]) == 2  # data has no gradient


def test_no_gradient_norms_from_an_earlier_step(tmp_path):
    """Drawn before its own backward, a graph must not show the previous step's gradients."""
    model, loss = mlp_and_loss()
    loss.backward()  # the parameters now hold this step's gradients
    x = cr.tensor(np.ones((N, D_IN), np.float32))
    next_loss = nn.CrossEntropyLoss()(model(x), cr.tensor(np.zeros(N, np.int64)))
    (path,) = cr.draw_graph(next_loss, tmp_path / "next.dot", model=model)
    labels, _ = parse(path.read_text())
    assert not any("‖grad‖" in line for label in labels.values() for line in label)
    next_loss.backward(retain_graph=True)
    (path,) = cr.draw_graph(next_loss, tmp_path / "after.dot", model=model)
    labels, _ = parse(path.read_text())
    assert sum("‖grad‖" in line for label in labels.values() for line in label) >= 4


def test_a_tensor_used_twice_is_one_node_with_one_edge(tmp_path):
    x = cr.tensor(np.ones(3), requires_grad=True)
    (path,) = cr.draw_graph((x * x).sum(), tmp_path / "square.gv")
    labels, edges = parse(path.read_text())
    assert len(labels) == 4  # x, Mul, Sum, output
    assert sorted((a, b) for a, b, _ in edges) == [("Mul#1", "Sum#1"), ("Sum#1", "output"), ("parameter", "Mul#1")]


def test_repeated_layers_collapse(tmp_path):
    model, loss = mlp_and_loss(hidden_layers=9)  # Linear, ReLU, then [Linear → ReLU] × 8, Linear, loss
    (path,) = cr.draw_graph(loss, tmp_path / "deep.dot", model=model)
    labels, edges = parse(path.read_text())
    repeats = [label for label in labels.values() if label[0].startswith("[")]
    assert repeats == [["[Linear → ReLU] × 8", f"({N}×{HIDDEN}) → ({N}×{HIDDEN})", "16 parameters"]]
    firsts = sorted(label[0] for label in labels.values())
    assert firsts == sorted(["Linear#1", "ReLU#1", repeats[0][0], "Linear#10", "SoftmaxCrossEntropy#1",
                             "0.weight", "0.bias", "18.weight", "18.bias", "input", "labels", "output"])
    assert ("ReLU#1", repeats[0][0]) in {(a, b) for a, b, _ in edges}
    assert (repeats[0][0], "Linear#10") in {(a, b) for a, b, _ in edges}
    (path,) = cr.draw_graph(loss, tmp_path / "flat.dot", model=model, collapse=False)
    assert sum(label[0].startswith("Linear#") for label in parse(path.read_text())[0].values()) == 10


def test_small_graphs_do_not_collapse(tmp_path):
    model, loss = mlp_and_loss(hidden_layers=2)  # 7 ops, repeats or not
    (path,) = cr.draw_graph(loss, tmp_path / "mlp.dot", model=model)
    assert not any(label[0].startswith("[") for label in parse(path.read_text())[0].values())


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed (CI installs it)")
@pytest.mark.parametrize("suffix, magic", [(".svg", b"<svg"), (".png", b"\x89PNG\r\n\x1a\n")])
def test_svg_and_png_when_dot_is_installed(tmp_path, suffix, magic):
    model, loss = mlp_and_loss()
    written = cr.draw_graph(loss, tmp_path / f"mlp{suffix}", model=model)
    assert written == [tmp_path / "mlp.dot", tmp_path / f"mlp{suffix}"]
    picture = written[1].read_bytes()
    assert (magic in picture[:400]) if suffix == ".svg" else picture.startswith(magic)
    if suffix == ".svg":
        assert picture.count(b'class="node"') == 11 and picture.count(b'class="edge"') == 10


def test_without_dot_only_the_dot_file_is_written(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    _, loss = mlp_and_loss()
    with pytest.warns(RuntimeWarning, match="apt-get install graphviz"):
        written = cr.draw_graph(loss, tmp_path / "mlp.svg")
    assert written == [tmp_path / "mlp.dot"] and not (tmp_path / "mlp.svg").exists()


def test_draw_graph_needs_the_graph(tmp_path):
    _, loss = mlp_and_loss()
    loss.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        cr.draw_graph(loss, tmp_path / "g.dot")


def test_one_element_tensors_show_their_values(tmp_path):
    x = cr.tensor(3.0, dtype=np.float64, requires_grad=True)
    x.name = "x"
    (path,) = cr.draw_graph((x * x).sigmoid(), tmp_path / "scalar.dot")
    labels, edges = parse(path.read_text())
    by_name = {label[0]: label for label in labels.values()}
    assert by_name["x"][1] == "() = 3"
    assert by_name["output"][1] == f"() = {1 / (1 + np.exp(-9.0)):.4g}"
    assert ("Mul#1", "Sigmoid#1", "() = 9") in edges
