"""`chainrule train --trace` prints the trace of one training step of the recipe's model,
with the shapes and saved bytes its recipe dictates, before training as usual."""
from synthetic import write_fashion_like

from chainrule.cli import main

BATCH, HIDDEN = 64, 32


def test_train_trace_prints_one_step(tmp_path, capsys):
    root = write_fashion_like(tmp_path, train_count=128, test_count=64)
    code = main(["train", "--trace", "--data-root", str(root), "--out", str(tmp_path / "run"), "--epochs", "1",
                 "--hidden", str(HIDDEN), "--batch-size", str(BATCH), "--no-progress"])
    assert code == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("#  op"))
    rows = [line.split() for line in lines[start + 2:start + 7]]
    assert [row[1] for row in rows] == ["Flatten", "Linear", "ReLU", "Linear", "SoftmaxCrossEntropy"]
    assert " ".join(rows[1][3:7]) == f"({BATCH}×784) ({HIDDEN}×784) ({HIDDEN}) ({BATCH}×{HIDDEN})"
    saved = BATCH * 784 * 4 + HIDDEN * 784 * 4  # x and W, float32
    assert " ".join(rows[1][8:10]) == f"{saved / 1024:.1f} KiB"
    assert lines[start + 7].startswith("5 ops (4 on the graph, 4 backpropagated)")
    assert "test accuracy" in out  # and then it trained


def test_the_console_script_traces_each_op_to_the_layer_not_to_its_own_stub(tmp_path):
    import os
    import subprocess
    import sysconfig

    script = os.path.join(sysconfig.get_paths()["scripts"], "chainrule")
    if not os.path.isfile(script):  # installed without console scripts: the module form is tested above
        script = None
    root = write_fashion_like(tmp_path, train_count=128, test_count=64)
    command = ([script] if script else [__import__("sys").executable, "-m", "chainrule.cli"]) + [
        "train", "--trace", "--data-root", str(root), "--out", str(tmp_path / "run"), "--epochs", "1",
        "--hidden", str(HIDDEN), "--batch-size", str(BATCH), "--no-progress"]
    out = subprocess.run(command, capture_output=True, text=True, timeout=300, check=True).stdout
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("#  op"))
    sources = [line.split()[2] for line in lines[start + 2:start + 7]]
    assert not any(source.startswith("chainrule:") for source in sources), sources
    assert all(source.split(":")[0].endswith(".py") for source in sources), sources
