"""Building blocks of the semantic cache: embedders, a verifier, a vector index, calibration.

Nothing here imports numpy, tokenizers, safetensors or usearch until it is used; a missing
optional extra raises ``cosmara.ConfigurationError`` naming the extra to install
(``cosmara[local]`` for ``LocalMiniLM``, ``cosmara[semantic]`` for the index).
"""

from cosmara.semantic._calibrate import (
    Calibration,
    CalibrationRow,
    LabelledPair,
    calibrate,
    load_pairs,
)
from cosmara.semantic._embedder import CallableEmbedder, Embedder
from cosmara.semantic._hnsw import HnswSettings
from cosmara.semantic._index import HNSW_FROM, PartitionedIndex, VectorIndex
from cosmara.semantic._minilm import LocalMiniLM
from cosmara.semantic._verifier import DetailVerifier, Verifier

__all__ = [
    "HNSW_FROM",
    "Calibration",
    "CalibrationRow",
    "CallableEmbedder",
    "DetailVerifier",
    "Embedder",
    "HnswSettings",
    "LabelledPair",
    "LocalMiniLM",
    "PartitionedIndex",
    "VectorIndex",
    "Verifier",
    "calibrate",
    "load_pairs",
]
