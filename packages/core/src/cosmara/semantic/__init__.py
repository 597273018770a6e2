"""Building blocks of the semantic cache: embedders, a verifier, a vector index, calibration.

Nothing here imports numpy, tokenizers, safetensors or usearch until it is used; a missing
optional extra raises ``cosmara.ConfigurationError`` naming the extra to install
(``cosmara[local]`` for ``LocalMiniLM``, ``cosmara[semantic]`` for the index).
"""

from cosmara.semantic._embedder import CallableEmbedder, Embedder
from cosmara.semantic._hnsw import HnswSettings
from cosmara.semantic._index import HNSW_FROM, PartitionedIndex, VectorIndex
from cosmara.semantic._minilm import LocalMiniLM

__all__ = [
    "HNSW_FROM",
    "CallableEmbedder",
    "Embedder",
    "HnswSettings",
    "LocalMiniLM",
    "PartitionedIndex",
    "VectorIndex",
]
