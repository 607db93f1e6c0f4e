r"""Chapter 13's laboratory: the book's prose as a corpus, n-gram baselines, a character LSTM,
and measurements of what attention heads and temperatures do.

* :func:`book_corpus` extracts readable prose from the markdown of ``book/*.ipynb`` and
  ``book/*.md`` (code, math, MyST roles and directives stripped), deterministically;
  :func:`frozen_corpus` is the snapshot of it that chapter 13 trains on, shipped in the package
  (``nnbook/data/book_corpus.txt``, written by ``scripts/freeze_corpus.py``), so that editing
  another chapter's prose never changes chapter 13's numbers;
  :func:`encode` / :func:`decode` map it to and from a fixed character vocabulary :data:`VOCAB`;
  :func:`split_blocks` holds out contiguous blocks; :func:`windows` cuts training sequences.
* :func:`unigram_bits`, :func:`bigram_bits`: add-:math:`k` smoothed n-gram models, evaluated in
  bits per character.
* :class:`CharLSTM`: the chapter-11 LSTM (:func:`nnbook.kernels.gated.lstm_bptt`) as a next-character
  model with the same ``loss_and_grads`` signature as :class:`nnbook.nn.transformer.TransformerLM`.
* :func:`head_patterns`: how much attention each head puts on the previous character, on itself,
  on the start of the current word and on the first position; :func:`uniform_attention`, the
  maps of a head that spreads its weight evenly over the prefix, to compare them with.
* :func:`ablate_heads`: validation bits per character with chosen heads removed;
  :func:`bits_by_position`: the loss at each position of the window;
  :func:`prediction_spread_bits`: how much the predictions differ between positions.
* :func:`entropy_bits`: the entropy of :math:`\mathrm{softmax}(\mathbf a/\mathcal T)`.
"""
from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import numpy as np

from ..checks import as_float_array, check_int, check_positive
from ..nn.activations import log_softmax, softmax
from ..nn.tokens import check_tokens
from ..kernels.gated import lstm_bptt, lstm_forward, lstm_params

__all__ = ["VOCAB", "book_corpus", "frozen_corpus", "FROZEN_CORPUS", "clean_markdown", "encode", "decode", "split_blocks", "windows",
           "unigram_bits", "bigram_bits", "tune_bigram_k", "CharLSTM", "head_patterns",
           "uniform_attention", "ablate_heads", "bits_by_position", "prediction_spread_bits",
           "entropy_bits", "bits"]

#: The fixed character vocabulary: newline and the 95 printable ASCII characters.
VOCAB = "\n" + "".join(chr(c) for c in range(32, 127))
_INDEX = {c: i for i, c in enumerate(VOCAB)}
_REPLACE = {"\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2018": "'", "\u2019": "'",
            "\u201c": '"', "\u201d": '"', "\u2026": "...", "\u00d7": "x", "\u2192": "->",
            "\u00a0": " ", "\u2009": " ", "\u202f": " "}


def clean_markdown(md: str) -> str:
    """Readable prose from one MyST markdown source: paragraphs separated by one newline.

    Removed: fenced code and directive lines (``` and :::, with the body of code blocks and of
    ``{bibliography}``-like directives), display math ``$$...$$``, inline math ``$...$``, MyST
    roles (``{glue:text}`x` ``, ``{cite:t}`k` ``), inline code, HTML tags, heading marks, list
    marks, emphasis marks and link targets (the link text stays).
    """
    out, skip = [], False
    for line in md.splitlines():
        s = line.strip()
        if s.startswith("```"):
            skip = not skip if not re.match(r"```\s*\{(admonition|note|warning|tip)", s) else skip
            continue
        if skip or s.startswith(":::") or re.match(r"^:[a-z-]+:", s):
            continue
        out.append(line)
    text = "\n".join(out)
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.S)
    text = re.sub(r"\\begin\{.*?\\end\{[a-z*]+\}", " ", text, flags=re.S)
    text = re.sub(r"\{[a-z:-]+\}`[^`]*`", " ", text)          # MyST roles
    text = re.sub(r"(?<!\\)\$[^$\n]+\$", " ", text)            # inline math
    text = re.sub(r"`[^`\n]*`", " ", text)                     # inline code
    text = re.sub(r"<[^>\n]+>", " ", text)                     # HTML tags
    text = re.sub(r"!?\[([^\]\n]*)\]\([^)\n]*\)", r"\1", text)  # links and images: keep the text
    text = re.sub(r"(?m)^\s*(#+|[-*+]|\d+\.)\s+", "", text)    # headings, list marks
    text = re.sub(r"\*\*|__|(?<!\w)\*(?!\s)|(?<!\s)\*(?!\w)", "", text)
    text = "".join(_REPLACE.get(c, c) for c in unicodedata.normalize("NFKD", text))
    text = "".join(c for c in text if c in _INDEX)
    paragraphs = [re.sub(r"\s+([,.;:)])", r"\1", re.sub(r"\s+", " ", p)).strip()
                  for p in re.split(r"\n\s*\n", text)]
    paragraphs = [p for p in paragraphs if len(p) > 40 and sum(ch.isalpha() for ch in p) > 0.6 * len(p)]
    return "\n".join(paragraphs)


def book_corpus(book_dir: str | Path | None = None, exclude: tuple[str, ...] = ()) -> str:
    """The book's prose: :func:`clean_markdown` of every markdown cell of ``book/*.ipynb`` and of
    every ``book/*.md``, files in sorted order, joined by newlines.

    Parameters
    ----------
    book_dir : path, optional
        Default: the ``book`` folder next to the package (a clone or an editable install); if
        there is none (nnbook installed from a wheel), the current folder, where a chapter opened
        from a copy of the book runs beside the other chapters.
    exclude : tuple of str
        File names to leave out (e.g. the generated errata page).

    Raises
    ------
    ValueError
        If the folder holds no chapters (e.g. nnbook installed without the book's sources).
    """
    if book_dir is not None:
        folder = Path(book_dir)
    else:
        folder = Path(__file__).resolve().parents[2] / "book"
        if not folder.is_dir():
            folder = Path.cwd()
    files = sorted(p for p in list(folder.glob("*.ipynb")) + list(folder.glob("*.md"))
                   if p.name not in exclude)
    if not files:
        raise ValueError(f"no chapters (*.ipynb, *.md) found in {folder}; the corpus is the book's "
                         "own prose, so the book's sources must be there")
    parts = []
    for p in files:
        if p.suffix == ".ipynb":
            cells = json.loads(p.read_text(encoding="utf-8"))["cells"]
            md = "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
        else:
            md = p.read_text(encoding="utf-8")
        parts.append(clean_markdown(md))
    return "\n".join(t for t in parts if t)


#: Where the snapshot of :func:`book_corpus` that chapter 13 trains on is stored.
FROZEN_CORPUS = Path(__file__).resolve().parents[1] / "data" / "book_corpus.txt"


def frozen_corpus() -> str:
    """The snapshot of the book's prose that chapter 13 trains on (``nnbook/data/book_corpus.txt``).

    It is :func:`book_corpus` of the other chapters (the errata page and chapter 13 excluded) at
    the time the snapshot was taken by ``scripts/freeze_corpus.py``; shipping it keeps chapter 13's
    measurements independent of later edits to the other chapters. Every character is in
    :data:`VOCAB` and paragraphs are separated by one newline.
    """
    return FROZEN_CORPUS.read_text(encoding="utf-8")


def encode(text: str) -> np.ndarray:
    """Token ids (int64) of ``text`` in :data:`VOCAB` (``ValueError`` naming an unknown character)."""
    try:
        return np.fromiter((_INDEX[c] for c in text), dtype=np.int64, count=len(text))
    except KeyError as exc:
        raise ValueError(f"character {exc.args[0]!r} is not in the vocabulary") from None


def decode(ids) -> str:
    """The text of token ids."""
    ids = np.asarray(ids)
    if ids.size and (ids.min() < 0 or ids.max() >= len(VOCAB)):
        raise ValueError(f"token ids must lie in 0..{len(VOCAB) - 1}")
    return "".join(VOCAB[int(i)] for i in ids.ravel())


def split_blocks(ids, block: int = 2000, every: int = 10, offset: int = 5):
    """Hold out contiguous blocks: block ``j`` (of ``block`` characters) is validation when
    ``j % every == offset``, training otherwise.

    Returns
    -------
    train, val : list of ndarray
        The blocks of each part, in order (contiguous text inside each block).
    """
    ids = np.asarray(ids)
    check_positive(block, "block", integer=True)
    check_positive(every, "every", integer=True)
    blocks = [ids[i:i + block] for i in range(0, len(ids), block)]
    train = [b for j, b in enumerate(blocks) if j % every != offset]
    val = [b for j, b in enumerate(blocks) if j % every == offset]
    if not train or not val:
        raise ValueError(f"{len(ids)} characters in blocks of {block} leave no training or no "
                         "validation block")
    return train, val


def windows(blocks, T: int, n: int | None = None, seed: int = 0, stride: int | None = None):
    """Input/target pairs ``X[b] = text[s:s+T]``, ``Y[b] = text[s+1:s+T+1]`` from inside blocks.

    With ``n`` given, ``n`` windows at seeded random starts (a block chosen in proportion to its
    length); otherwise consecutive windows every ``stride`` (default ``T``) characters.

    Returns
    -------
    X, Y : ndarray of int, shape (N, T)
    """
    check_positive(T, "T", integer=True)
    usable = [b for b in blocks if len(b) > T]
    if not usable:
        raise ValueError(f"no block is longer than T={T}")
    starts = []
    if n is None:
        step = T if stride is None else stride
        starts = [(j, s) for j, b in enumerate(usable) for s in range(0, len(b) - T, step)]
    else:
        rng = np.random.default_rng(seed)
        sizes = np.array([len(b) - T for b in usable], dtype=float)
        js = rng.choice(len(usable), size=n, p=sizes / sizes.sum())
        starts = [(int(j), int(rng.integers(len(usable[j]) - T))) for j in js]
    X = np.stack([usable[j][s:s + T] for j, s in starts])
    Y = np.stack([usable[j][s + 1:s + T + 1] for j, s in starts])
    return X, Y


def bits(nats: float) -> float:
    """Nats to bits: divide by :math:`\\ln 2`."""
    return float(nats) / np.log(2.0)


def unigram_bits(train_blocks, val_blocks, n_tokens: int = len(VOCAB), k: float = 1.0) -> float:
    r"""Bits per character of the add-:math:`k` unigram model,
    :math:`p(c) = (n_c + k)/(N + kV)`, on the validation text (every character but each block's
    first, the same targets as :func:`bigram_bits`)."""
    check_positive(k, "k")
    counts = np.bincount(np.concatenate(train_blocks), minlength=n_tokens) + k
    logp = np.log2(counts / counts.sum())
    targets = np.concatenate([b[1:] for b in val_blocks])
    return float(-logp[targets].mean())


def bigram_bits(train_blocks, val_blocks, n_tokens: int = len(VOCAB), k: float = 1.0) -> float:
    r"""Bits per character of the add-:math:`k` bigram model,
    :math:`p(c\mid b) = (n_{bc} + k)/(n_b + kV)`, on the validation text."""
    check_positive(k, "k")
    C = np.zeros((n_tokens, n_tokens))
    for b in train_blocks:
        np.add.at(C, (b[:-1], b[1:]), 1.0)
    C += k
    logp = np.log2(C / C.sum(axis=1, keepdims=True))
    prev = np.concatenate([b[:-1] for b in val_blocks])
    nxt = np.concatenate([b[1:] for b in val_blocks])
    return float(-logp[prev, nxt].mean())


def tune_bigram_k(train_blocks, val_blocks, ks=(0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0),
                  n_tokens: int = len(VOCAB)) -> tuple[float, np.ndarray]:
    """The add-k of the bigram with the lowest validation bits per character, and every k's value."""
    vals = np.array([bigram_bits(train_blocks, val_blocks, n_tokens, k) for k in ks])
    return float(ks[int(np.argmin(vals))]), vals


class CharLSTM:
    """A one-layer LSTM next-character model: one-hot characters in, softmax over the vocabulary out.

    Its parameters are :func:`nnbook.kernels.gated.lstm_params` (``Wx, Wh, b, Why, by``) and its gradients
    come from :func:`nnbook.kernels.gated.lstm_bptt` (full BPTT over each window, zero initial state), so
    :func:`nnbook.train.fit.fit` trains it exactly as it trains :class:`~nnbook.nn.transformer.TransformerLM`.
    """

    def __init__(self, n_tokens: int, Dh: int):
        self.n_tokens = int(check_positive(n_tokens, "n_tokens", integer=True))
        self.Dh = int(check_positive(Dh, "Dh", integer=True))

    def init(self, seed: int = 0) -> dict[str, np.ndarray]:
        """Seeded :func:`~nnbook.kernels.gated.lstm_params`, forget-gate bias 1."""
        return lstm_params(self.n_tokens, self.Dh, self.n_tokens, seed=seed, forget_bias=1.0)

    def n_params(self) -> int:
        V, H = self.n_tokens, self.Dh
        return 4 * H * (V + H + 1) + V * (H + 1)

    def _onehot(self, X):
        X = np.asarray(X)
        if X.ndim != 2 or not np.issubdtype(X.dtype, np.integer):
            raise ValueError(f"X must be int token ids of shape (B, T), got {X.dtype} {X.shape}")
        if X.min() < 0 or X.max() >= self.n_tokens:
            raise ValueError(f"token ids must lie in 0..{self.n_tokens - 1}")
        return np.eye(self.n_tokens)[X.T]                 # (T, B, V), time first

    def loss_and_grads(self, params, X, Y, rng=None):
        """Mean cross-entropy in nats per character, and its gradients."""
        E, g = lstm_bptt(params, self._onehot(X), np.asarray(Y).T, output="softmax", loss="ce")
        n = np.asarray(X).size
        return E / n, {k: v / n for k, v in g.items()}

    def forward(self, params, X) -> np.ndarray:
        """Logits of the next character at every position, shape (B, T, n_tokens)."""
        y = lstm_forward(params, self._onehot(X), output="softmax")["o"]   # (T, B, V) logits
        return np.transpose(y, (1, 0, 2))

    def loss(self, params, X, Y) -> float:
        """Mean cross-entropy in nats per character (forward only)."""
        lp = log_softmax(self.forward(params, X))
        Y = np.asarray(Y)
        return float(-np.take_along_axis(lp, Y[..., None], axis=-1).mean())


def head_patterns(A, ids) -> dict[str, np.ndarray]:
    """Where each head looks, averaged over the query positions of one or more sequences.

    Parameters
    ----------
    A : array_like, shape (n_layers, B, n_heads, T, T)
        Causal attention weights (e.g. :meth:`TransformerLM.attention_maps`).
    ids : array_like of int, shape (B, T)
        The tokens (to find word starts: the position after the last space at or before the query).

    Returns
    -------
    dict of str -> ndarray, shape (n_layers, n_heads)
        ``"previous"``: mean weight on the character just before the query (queries t >= 1);
        ``"self"``: on the query's own position; ``"word_start"``: on the first character of the
        query's current word, over the queries whose word started at least two characters
        before them (for the second letter of a word the word start *is* the previous
        character, which ``"previous"`` already measures); ``"first"``: on position 0 (queries
        t >= 1); ``"distance"``: the mean distance looked back, :math:`\\sum_m a_{tm}(t - m)`.

    Notes
    -----
    Each number means something only next to what a head without any preference would give:
    :func:`uniform_attention` gives the maps of a head that spreads its weight evenly over the
    prefix, and ``head_patterns(uniform_attention(B, T), ids)`` its values on the same queries
    (e.g. about 0.06 on the previous character for T = 64).
    """
    A = as_float_array(A, "A", ndim=(5,))
    ids = np.asarray(ids)
    L, B, H, T, _ = A.shape
    if ids.shape != (B, T):
        raise ValueError(f"ids must have shape {(B, T)}, got {ids.shape}")
    t = np.arange(T)
    space = ids == _INDEX[" "]
    # start of the current word: last position s <= t with ids[s-1] a space (or s = 0)
    is_start = np.concatenate([np.ones((B, 1), bool), space[:, :-1]], axis=1) & ~space
    last_start = np.maximum.accumulate(np.where(is_start, t, 0), axis=1)
    out = {}
    out["previous"] = A[..., t[1:], t[1:] - 1].mean(axis=(1, 3))
    out["self"] = A[..., t, t].mean(axis=(1, 3))
    out["first"] = A[..., t[1:], 0].mean(axis=(1, 3))
    out["distance"] = np.einsum("lbhtm,tm->lbht", A, np.maximum(t[:, None] - t[None, :], 0)).mean(axis=(1, 3))
    sel = last_start < t[None, :] - 1                             # word start before t - 1
    b_idx, q_idx = np.nonzero(sel)
    w = A[:, b_idx, :, q_idx, last_start[b_idx, q_idx]]            # (n_sel, L, H)
    out["word_start"] = w.mean(axis=0) if len(b_idx) else np.full((L, H), np.nan)
    return out


def uniform_attention(B: int, T: int) -> np.ndarray:
    """The attention maps of one head that spreads its weight evenly over the causal prefix.

    Returns
    -------
    ndarray, shape (1, B, 1, T, T)
        :math:`a_{tm} = 1/(t+1)` for :math:`m \\le t`, 0 above the diagonal: the input of
        :func:`head_patterns` for the no-preference baseline.
    """
    B = check_int(B, "B", minimum=1)
    T = check_int(T, "T", minimum=1)
    A = np.tril(np.ones((T, T)))
    A /= A.sum(axis=1, keepdims=True)
    return np.broadcast_to(A, (1, B, 1, T, T))


def ablate_heads(model, params, X, Y, heads=()) -> float:
    r"""Bits per character of a :class:`~nnbook.nn.transformer.TransformerLM` with heads removed.

    Head ``h`` of block ``l`` writes to the residual stream only through its rows
    ``h*d_k:(h+1)*d_k`` of the output projection :math:`W^{(o)}` (``params[f"l{l}.Wo"]``);
    setting them to zero removes exactly that head's contribution (the bias :math:`\mathbf b_o`
    stays). ``params`` is not changed.

    Parameters
    ----------
    model : TransformerLM
    params : dict of str -> ndarray
        The model's parameters.
    X, Y : array_like of int, shape (B, T')
        Inputs and targets.
    heads : iterable of (int, int)
        (block, head) pairs, counted from 0, to remove; empty: the intact model.

    Returns
    -------
    float
        Mean cross-entropy in bits per character.
    """
    dk = model.D // model.n_heads
    p = dict(params)
    for pair in heads:
        if len(pair) != 2:
            raise ValueError(f"heads must hold (block, head) pairs, got {pair!r}")
        l = check_int(pair[0], "block", minimum=0, maximum=model.n_layers - 1)
        h = check_int(pair[1], "head", minimum=0, maximum=model.n_heads - 1)
        key = f"l{l}.Wo"
        if p[key] is params[key]:
            p[key] = np.array(params[key], dtype=float)
        p[key][h * dk:(h + 1) * dk] = 0.0
    return bits(model.loss(p, X, Y))


def bits_by_position(logits, Y) -> np.ndarray:
    """Cross-entropy in bits at each position of the window, averaged over the windows.

    Parameters
    ----------
    logits : array_like, shape (B, T, V)
    Y : array_like of int, shape (B, T)
        The targets.

    Returns
    -------
    ndarray, shape (T,)
        Entry t: the mean of :math:`-\\log_2 p(y_t)` over the windows, i.e. the cost of
        predicting the character that follows t + 1 characters of context.
    """
    lp = log_softmax(as_float_array(logits, "logits", ndim=(3,)))
    B, T, V = lp.shape
    Y = check_tokens(Y, T, V, "Y")
    if Y.shape[0] != B:
        raise ValueError(f"Y holds {Y.shape[0]} windows, logits {B}")
    return -np.take_along_axis(lp, Y[..., None], axis=-1)[..., 0].mean(axis=0) / np.log(2.0)


def prediction_spread_bits(logits) -> float:
    r"""How much the next-character distributions differ between positions, in bits.

    The mean over all positions of :math:`\mathrm{KL}(p_t\,\|\,\bar p)`, where :math:`p_t` is
    the softmax of one position's logits and :math:`\bar p` the average of all of them. It is 0
    exactly when the model predicts the same distribution everywhere, whatever the input.

    Parameters
    ----------
    logits : array_like, shape (..., V)
    """
    lp = log_softmax(as_float_array(logits, "logits"))
    lp = lp.reshape(-1, lp.shape[-1])
    p = np.exp(lp)
    pbar = p.mean(axis=0)
    return float((p * (lp - np.log(pbar))).sum(axis=-1).mean() / np.log(2.0))


def entropy_bits(logits, temperature: float = 1.0) -> np.ndarray:
    r"""Entropy in bits of :math:`\mathrm{softmax}(\mathbf a/\mathcal T)` over the last axis."""
    check_positive(temperature, "temperature")
    a = as_float_array(logits, "logits") / temperature
    lp = log_softmax(a)
    p = np.exp(lp)
    return -(p * lp).sum(axis=-1) / np.log(2.0)
