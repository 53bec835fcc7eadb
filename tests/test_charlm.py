"""The character-level language model recipe: text data, the two models against torch with the same
weights, sampling, and ``chainrule train --model charlm`` then ``chainrule sample`` end to end."""
import math
import json
import os
import shlex
import signal
import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import data
from chainrule.cli import main
from chainrule.train.charlm import load_language_model, sample, unigram_bits
from chainrule.train.language_models import CharLSTM, CharTransformer, next_token_loss

TEXT = ("It is a truth universally acknowledged, that a single man in possession of a good fortune, "
        "must be in want of a wife.\n%\n") * 40


def test_vocabulary_round_trip_and_unknown_characters():
    vocabulary = data.CharVocabulary.from_text("hello, world")
    assert vocabulary.chars == " ,dehlorw"
    ids = vocabulary.encode("world")
    assert ids.dtype == np.int64 and ids.tolist() == [8, 6, 7, 5, 2]
    assert vocabulary.decode(ids) == "world"
    with pytest.raises(KeyError, match="2 character.*'!', 'z'"):
        vocabulary.encode("z!")


def test_windows_predict_the_next_character():
    vocabulary = data.CharVocabulary.from_text(TEXT)
    windows = data.CharDataset(TEXT, vocabulary, context=16)
    assert len(windows) == (len(TEXT) - 1) // 16
    x, y = windows[3]
    assert vocabulary.decode(x.numpy()) == TEXT[48:64] and vocabulary.decode(y.numpy()) == TEXT[49:65]
    with pytest.raises(ValueError, match="holds no window of 20"):
        data.CharDataset("short tent", vocabulary, context=20)


def test_unigram_entropy_by_hand():
    assert unigram_bits("aabb") == pytest.approx(1.0)
    assert unigram_bits("aaab") == pytest.approx(-(0.75 * math.log2(0.75) + 0.25 * math.log2(0.25)))
    assert unigram_bits("αβγδ") == pytest.approx(2.0)  # beyond ASCII, one code point each


def test_fortunes_files_without_indexes_or_control_characters(tmp_path):
    (tmp_path / "b").write_bytes(b"second\x08_ fortune\n%\n")
    (tmp_path / "a").write_text("first\n%\n")
    (tmp_path / "a.dat").write_bytes(b"\x00\x00\x00\x02 index")
    (tmp_path / "a.u8").symlink_to(tmp_path / "a")
    assert data.fortunes_text(tmp_path) == "first\n%\nsecond_ fortune\n%\n"


def test_words_one_per_line_without_possessives_in_a_fixed_order(tmp_path):
    words = tmp_path / "words"
    words.write_text("Aaron\nAaron's\napple\nbanana\nbanana's\ncherry\n")
    text = data.words_text(words)
    assert sorted(text.split()) == ["Aaron", "apple", "banana", "cherry"] and text.endswith("\n")
    assert data.words_text(words) == text


def test_missing_corpus_says_how_to_install_it(tmp_path):
    with pytest.raises(data.DatasetNotFoundError, match="apt-get install fortunes.*--text FILE"):
        data.fortunes_text(tmp_path / "nowhere")


def test_text_that_is_not_utf8_names_the_byte(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("café".encode("latin-1"))
    with pytest.raises(data.DataFormatError, match=r"latin1.txt: not UTF-8 text \(byte 3"):
        data.read_text(path)


def _debian_corpus(path: str):
    if not os.path.exists(path):
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {path} is missing: make test installs Debian's fortunes and wamerican")
        pytest.skip(f"{path} is not installed")


def test_debian_corpora_are_read():
    _debian_corpus(data.text.FORTUNES_DIRS[0])
    _debian_corpus(data.text.WORDS_FILES[0])
    fortunes = data.fortunes_text()
    assert len(fortunes) > 2_000_000 and "\n%\n" in fortunes and "\x08" not in fortunes
    words = data.words_text().split("\n")[:-1]
    assert len(words) > 50_000 and not any(word.endswith("'s") for word in words)


torch = pytest.importorskip("torch")


def _load_into_torch(theirs: dict, ours) -> None:
    for name, value in ours.state_dict().items():
        theirs[name].data = torch.tensor(value)


def test_char_lstm_matches_torch_with_the_same_weights():
    cr.manual_seed(0)
    model = CharLSTM(11, hidden_size=6, num_layers=2, embedding_dim=5).double()
    embedding, lstm, head = torch.nn.Embedding(11, 5), torch.nn.LSTM(5, 6, 2, batch_first=True), torch.nn.Linear(6, 11)
    modules = {"embedding": embedding, "lstm": lstm, "head": head}
    parameters = {f"{prefix}.{name}": p for prefix, m in modules.items() for name, p in m.double().named_parameters()}
    _load_into_torch(parameters, model)
    tokens = np.random.default_rng(0).integers(0, 11, (3, 7))
    targets = np.random.default_rng(1).integers(0, 11, (3, 7))
    loss = next_token_loss(model(cr.tensor(tokens)), cr.tensor(targets))
    logits = head(lstm(embedding(torch.tensor(tokens)))[0])
    expected = torch.nn.functional.cross_entropy(logits.reshape(-1, 11), torch.tensor(targets).reshape(-1))
    np.testing.assert_allclose(loss.item(), expected.item(), rtol=1e-12)
    loss.backward()
    expected.backward()
    for name, parameter in model.named_parameters():
        np.testing.assert_allclose(parameter.grad, parameters[name].grad.numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=name)


def test_char_transformer_is_a_causal_gpt_matching_torch():
    cr.manual_seed(0)
    model = CharTransformer(9, d_model=8, nhead=2, num_layers=2, context=6).double()
    token_embedding, position_embedding = torch.nn.Embedding(9, 8), torch.nn.Embedding(6, 8)
    blocks = torch.nn.ModuleList(torch.nn.TransformerEncoderLayer(8, 2, 32, 0.0, "gelu", batch_first=True,
                                                                 norm_first=True) for _ in range(2))
    norm, head = torch.nn.LayerNorm(8), torch.nn.Linear(8, 9)
    modules = {"token_embedding": token_embedding, "position_embedding": position_embedding, "blocks": blocks,
               "norm": norm, "head": head}
    parameters = {f"{prefix}.{name}": p for prefix, m in modules.items() for name, p in m.double().named_parameters()}
    assert set(parameters) == set(model.state_dict())
    _load_into_torch(parameters, model)
    tokens = np.random.default_rng(0).integers(0, 9, (2, 5))
    logits = model(cr.tensor(tokens))
    x = token_embedding(torch.tensor(tokens)) + position_embedding(torch.arange(5))
    mask = torch.nn.Transformer.generate_square_subsequent_mask(5, dtype=torch.float64)
    for block in blocks:
        x = block(x, src_mask=mask, is_causal=True)
    expected = head(norm(x))
    np.testing.assert_allclose(logits.numpy(), expected.detach().numpy(), rtol=1e-9, atol=1e-12)
    upstream = np.random.default_rng(2).standard_normal(expected.shape)
    (logits * cr.tensor(upstream)).sum().backward()
    (expected * torch.tensor(upstream)).sum().backward()
    for name, parameter in model.named_parameters():
        np.testing.assert_allclose(parameter.grad, parameters[name].grad.numpy(), rtol=1e-8, atol=1e-11,
                                   err_msg=name)
    changed = tokens.copy()
    changed[:, 3:] = (changed[:, 3:] + 1) % 9  # a later token never moves an earlier position's logits
    np.testing.assert_array_equal(model(cr.tensor(changed)).numpy()[:, :3], logits.numpy()[:, :3])
    with pytest.raises(cr.ShapeError, match="7 tokens exceed its context of 6"):
        model(cr.tensor(np.zeros((1, 7), dtype=np.int64)))


@pytest.mark.parametrize("model", [CharLSTM(7, hidden_size=5), CharTransformer(7, d_model=4, nhead=2, context=4)],
                         ids=["lstm", "transformer"])
def test_next_logits_one_token_at_a_time_equal_the_whole_sequence(model):
    tokens = np.random.default_rng(0).integers(0, 7, (1, 6))
    model.eval()
    with cr.no_grad():
        state = None
        for t in range(6):
            logits, state = model.next_logits(cr.tensor(tokens[:, t:t + 1]), state)
            window = tokens[:, max(0, t + 1 - getattr(model, "context", 99)):t + 1]
            np.testing.assert_allclose(logits.numpy(), model(cr.tensor(window)).numpy()[0, -1], rtol=1e-5, atol=1e-6)


def test_sample_is_seeded_and_temperature_zero_is_greedy():
    vocabulary = data.CharVocabulary.from_text(TEXT)
    cr.manual_seed(0)
    model = CharLSTM(len(vocabulary), hidden_size=8)
    model.eval()
    first = sample(model, vocabulary, "It ", length=30, temperature=1.0, seed=3)
    assert first.startswith("It ") and len(first) == 33
    assert sample(model, vocabulary, "It ", length=30, temperature=1.0, seed=3) == first
    assert sample(model, vocabulary, "It ", length=30, temperature=1.0, seed=4) != first
    greedy, text = sample(model, vocabulary, "It ", length=5, temperature=0), "It "
    with cr.no_grad():
        for _ in range(5):  # the argmax of the whole sequence's last logits, by hand
            logits = model(cr.tensor(vocabulary.encode(text)[None])).numpy()[0, -1]
            text += vocabulary.chars[int(logits.argmax())]
    assert greedy == text
    with pytest.raises(ValueError, match="temperature"):
        sample(model, vocabulary, "It", temperature=-1.0)


def test_train_then_sample_from_the_command_line(tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT)
    out = tmp_path / "run"
    args = ["train", "--model", "charlm", "--text", str(corpus), "--width", "32", "--context", "16", "--epochs", "2",
            "--batch-size", "8", "--lr", "0.01", "--out", str(out), "--no-progress"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "val bits/char" in printed and (out / "checkpoint.npz").is_file()
    hint = next(line for line in printed.splitlines() if line.startswith("sample it: "))
    assert main(shlex.split(hint.removeprefix("sample it: "))[1:]) == 0  # the command it suggests works
    capsys.readouterr()
    history = json.loads((out / "history.json").read_text())
    assert history[-1]["test_bits"] == pytest.approx(history[-1]["test_loss"] / math.log(2))
    # A repetitive text is far below its unigram entropy after two epochs.
    assert history[-1]["test_bits"] < 0.5 * unigram_bits(TEXT)
    model, vocabulary, recipe = load_language_model(out / "checkpoint.npz")
    assert recipe["arch"] == "lstm" and vocabulary.chars == data.CharVocabulary.from_text(TEXT).chars
    assert main(["sample", str(out / "checkpoint.npz"), "--prompt", "It is", "--length", "40", "--seed", "1"]) == 0
    generated = capsys.readouterr().out
    assert generated.startswith("It is") and len(generated) == 45 + 1  # and print's newline
    assert generated == subprocess.run(
        [sys.executable, "-m", "chainrule.cli", "sample", str(out / "checkpoint.npz"), "--prompt", "It is",
         "--length", "40", "--seed", "1"], capture_output=True, text=True, check=True).stdout
    assert main(["evaluate", str(out / "checkpoint.npz")]) == 0
    assert f"{history[-1]['test_bits']:.3f} bits/char" in capsys.readouterr().out


def test_interrupted_run_resumes_to_the_weights_of_an_uninterrupted_one(tmp_path):
    from chainrule.train import TrainingInterrupted, train
    from chainrule.train.checkpoint import load_checkpoint

    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT)
    options = dict(model="charlm", text=str(corpus), arch="transformer", width=8, heads=2, layers=1, context=8,
                   batch_size=16, epochs=2, progress=False)
    train(out=str(tmp_path / "whole"), log=lambda line: None, **options)

    def interrupt_after_epoch_1(line: str) -> None:
        if line.split()[0] == "1":  # the table's first row: the next step stops, saves and raises
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(TrainingInterrupted):
        train(out=str(tmp_path / "part"), log=interrupt_after_epoch_1, **options)
    checkpoint = tmp_path / "part" / "checkpoint.npz"
    assert (load_checkpoint(checkpoint)[2]["epoch"], load_checkpoint(checkpoint)[2]["step"]) == (1, 1)
    cr.manual_seed(999)
    train(out=str(tmp_path / "part"), resume=str(checkpoint), progress=False, log=lambda line: None)
    expected = load_checkpoint(tmp_path / "whole" / "checkpoint.npz")[0]
    for name, value in load_checkpoint(checkpoint)[0].items():
        np.testing.assert_array_equal(value, expected[name], err_msg=name)


@pytest.mark.parametrize("args, message", [
    (["--model", "charlm", "--hidden", "8"], "hidden does not apply to the charlm model"),
    (["--model", "charlm", "--text", "/nonexistent/corpus.txt"], "cannot use /nonexistent/corpus.txt"),
    (["--model", "charlm", "--arch", "transformer", "--width", "10", "--heads", "4"], "width 10 must divide into 4"),
])
def test_charlm_usage_errors_exit_2(args, message, tmp_path, capsys):
    assert main(["train", *args, "--out", str(tmp_path / "run")]) == 2
    assert message in capsys.readouterr().err


def test_sampling_a_classifier_or_an_unknown_prompt_exits_2(tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT)
    assert main(["train", "--text", str(corpus), "--width", "8", "--context", "8", "--epochs", "1", "--out",
                 str(tmp_path / "run"), "--no-progress"]) == 0
    assert main(["sample", str(tmp_path / "run" / "checkpoint.npz"), "--prompt", "Zebra"]) == 2
    assert "characters the model never saw: 'Z'" in capsys.readouterr().err
    from chainrule import nn
    from chainrule.train.checkpoint import save_checkpoint

    save_checkpoint(tmp_path / "mlp.npz", nn.Linear(2, 2).state_dict(), meta={"recipe": {"model": "linear"}})
    assert main(["sample", str(tmp_path / "mlp.npz")]) == 2
    assert "holds a linear model, not a charlm one" in capsys.readouterr().err
