"""The query encoder: a BERT-family model turned into per-token states, offline, batched and cached by text hash."""
from __future__ import annotations

import copy
import hashlib
import os
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch

from router_core.config import DEFAULT_ENCODER
from router_core.errors import RouterInputError
from router_core.model.text import (
    capped,
    check_max_tokens,
    plain_settings,
    resolve_encoder_path,
    text_key,
)

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub: weights come from a local folder only
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")












def position_limit(model_config, tokenizer) -> int | None:
    """Most tokens the encoder can take: its position embeddings, or the tokeniser's stated maximum if smaller."""
    limits = [getattr(model_config, "max_position_embeddings", None), getattr(tokenizer, "model_max_length", None)]
    limits = [int(x) for x in limits if isinstance(x, (int, float)) and 0 < x < 1e9]
    return min(limits) if limits else None








def transformers_tokenizer(path: Path):
    from transformers import AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a load bar on every start is noise in the CLI and the logs
    return AutoTokenizer.from_pretrained(str(path))


def _transformers_model(path: Path):
    from transformers import AutoModel

    return AutoModel.from_pretrained(str(path))


class Encoder:
    """Tokeniser + BERT model giving token states H (L × d) per query, padding masked.

    Token states are cached (bounded LRU, keyed by text hash), so a query is encoded once however many
    λ values, policies or pages look at it.
    """

    def __init__(self, model, tokenizer, name: str, max_tokens: int = 128, cache_size: int = 20000,
                 load_model=None, dim: int | None = None, lower_cache: OrderedDict | None = None,
                 limit: int | None = None, load_tokenizer=None):
        """Args:
            model: the BERT model, or None with `load_model` (a callable returning it) and `dim` to load it on first use.
            tokenizer: the tokeniser, or None with `load_tokenizer` (a callable returning it) to load it on first use.
            lower_cache: states below the tuned layers, shared with copies (keys carry a digest of the layers used).
        """
        self._model = model.eval() if model is not None else None
        self._load_model = load_model
        self._model_lock = threading.Lock()
        self._tokenizer, self._load_tokenizer = tokenizer, load_tokenizer
        self.name = name
        self.max_tokens = max_tokens
        self.dim = int(dim if dim is not None else model.config.hidden_size)
        self.position_limit = limit if limit is not None or model is None else position_limit(model.config, tokenizer)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()  # one encoder may serve every dashboard session
        self._lower_cache: OrderedDict = lower_cache if lower_cache is not None else OrderedDict()
        self.tuned = False  # True once a router's tuned layers replace the stock ones (see stock())

    @classmethod
    def load(cls, name: str = DEFAULT_ENCODER, max_tokens: int = 128, lazy: bool = False, cache_size: int = 20000) -> "Encoder":
        """Args:
            lazy: read the tokeniser and the model's weights only when first needed. A router scoring with ONNX Runtime
                needs just the tokeniser, and a page reading stored scores needs neither; importing transformers and
                reading the weights are most of a cold start.
            cache_size: token states kept (LRU); 0 keeps none.
        """
        path = resolve_encoder_path(name)
        settings = plain_settings(path) if lazy else None
        if settings is not None:
            dim, limit = settings
            check_max_tokens(name, max_tokens, limit)
            return cls(None, None, name, max_tokens, cache_size, load_model=lambda: _transformers_model(path), dim=dim,
                       limit=limit, load_tokenizer=lambda: transformers_tokenizer(path))
        from transformers import (
            AutoConfig,  # seconds to import: only when an encoder loads
        )

        tokenizer = transformers_tokenizer(path)
        model_config = AutoConfig.from_pretrained(str(path))
        limit = position_limit(model_config, tokenizer)
        check_max_tokens(name, max_tokens, limit)
        if lazy:
            return cls(None, tokenizer, name, max_tokens, cache_size, load_model=lambda: _transformers_model(path),
                       dim=model_config.hidden_size, limit=limit)
        return cls(_transformers_model(path), tokenizer, name, max_tokens, cache_size, limit=limit)

    @property
    def tokenizer(self):
        if self._tokenizer is None:
            with self._model_lock:  # two dashboard sessions may ask at once; load once
                if self._tokenizer is None:
                    self._tokenizer = self._load_tokenizer()
        return self._tokenizer

    @property
    def model(self):
        if self._model is None:
            with self._model_lock:  # two dashboard sessions may ask at once; load once
                if self._model is None:
                    self._model = self._load_model().eval()
        return self._model

    def tokenize(self, texts: list[str]) -> dict:
        return self.tokenizer(capped(texts, self.max_tokens), padding=True, truncation=True, max_length=self.max_tokens, return_tensors="pt")

    def forward(self, batch: dict) -> torch.Tensor:
        """(B, L) token ids -> (B, L, d) token states; gradients flow if any encoder weight requires them."""
        return self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                          token_type_ids=batch.get("token_type_ids")).last_hidden_state

    def token_states(self, texts: list[str], batch_size: int = 64, progress=None) -> list[np.ndarray]:
        """Per-query token states, (L_i, d) float32 each, unpadded.

        Batches are sorted by length so little compute goes to padding.
        Args:
            progress: optional callable(done, total) for long lists.
        """
        keys = [text_key(t) for t in texts]
        with self._lock:
            found = {k: self._cache[k] for k in keys if k in self._cache}
        todo = list(dict.fromkeys(k for k in keys if k not in found))
        text_of = {k: t for k, t in zip(keys, texts)}
        todo.sort(key=lambda k: len(text_of[k]))
        computed = {}
        with torch.inference_mode():
            for start in range(0, len(todo), batch_size):
                chunk = todo[start:start + batch_size]
                batch = self.tokenize([text_of[k] for k in chunk])
                states = self.forward(batch).float().numpy()  # (B, L, d)
                lengths = batch["attention_mask"].sum(dim=1).tolist()
                for k, state, n in zip(chunk, states, lengths):
                    computed[k] = state[:n].copy()
                if progress is not None:
                    progress(min(start + batch_size, len(todo)), len(todo))
        with self._lock:
            for k, v in computed.items():
                self._cache[k] = v
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        found.update(computed)
        return [found[k] for k in keys]

    def word_pieces(self, text: str) -> list[str]:
        """The tokens the router sees for `text`, [CLS]/[SEP] included, as the tokeniser spells them."""
        ids = self.tokenize([text])["input_ids"][0].tolist()
        return self.tokenizer.convert_ids_to_tokens(ids)

    def encoder_trainable(self, top_layers: int) -> list[torch.nn.Parameter]:
        """Unfreeze the top `top_layers` transformer layers (none below); returns their parameters."""
        for p in self.model.parameters():
            p.requires_grad_(False)
        if top_layers == 0:
            return []
        layers = self.model.encoder.layer
        if top_layers > len(layers):
            raise RouterInputError(f"config: finetune_layers={top_layers} but the encoder has only {len(layers)} layers")
        params = [p for layer in layers[-top_layers:] for p in layer.parameters()]
        for p in params:
            p.requires_grad_(True)
        return params

    def lower_states(self, texts: list[str], top_layers: int, batch_size: int = 64, progress=None) -> list[np.ndarray]:
        """Per-query states entering the top `top_layers` layers, (L_i, d) float32 each, unpadded.

        When only the top layers are tuned, everything below them is fixed: computing it once instead of every epoch
        makes fine-tuning several times faster. Kept (LRU) and shared with copies, so every fold or seed of a
        benchmark, each tuning its own copy, computes them once; the key holds a digest of the layers that made them.
        """
        n_layers = len(self.model.encoder.layer)
        digest = self._lower_digest(n_layers - top_layers)
        keys = [(text_key(t), top_layers, digest) for t in texts]
        with self._lock:
            found = {k: self._lower_cache[k] for k in keys if k in self._lower_cache}
        text_of = dict(zip(keys, texts))
        todo = sorted(dict.fromkeys(k for k in keys if k not in found), key=lambda k: len(text_of[k]))
        computed = {}
        with torch.inference_mode():
            for start in range(0, len(todo), batch_size):
                chunk = todo[start:start + batch_size]
                batch = self.tokenize([text_of[k] for k in chunk])
                hidden = self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                                    token_type_ids=batch.get("token_type_ids"), output_hidden_states=True).hidden_states
                states = hidden[n_layers - top_layers].float().numpy()
                for k, state, n in zip(chunk, states, batch["attention_mask"].sum(dim=1).tolist()):
                    computed[k] = state[:n].copy()
                if progress is not None:
                    progress(min(start + batch_size, len(todo)), len(todo))
        with self._lock:
            self._lower_cache.update(computed)
            while len(self._lower_cache) > self._cache_size:
                self._lower_cache.popitem(last=False)
        found.update(computed)
        return [found[k] for k in keys]

    def _lower_digest(self, below: int) -> str:
        """Digest of the embeddings and the first `below` layers: what the states entering layer `below` depend on."""
        prefixes = ("embeddings.",) + tuple(f"encoder.layer.{i}." for i in range(below))
        h = hashlib.sha1()
        for name, tensor in self.model.state_dict().items():
            if name.startswith(prefixes):
                h.update(name.encode())
                h.update(tensor.detach().contiguous().numpy().tobytes())
        return h.hexdigest()[:16]

    def prime(self, texts: list[str], lower: list[np.ndarray], top_layers: int, batch_size: int = 64) -> None:
        """Fill the token-state cache from `lower_states` output, running only the top layers (after tuning them)."""
        order = sorted(range(len(texts)), key=lambda i: lower[i].shape[0])
        computed = {}
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                chunk = order[start:start + batch_size]
                states, mask = pad_states([lower[i] for i in chunk])
                out = self.top_forward(states, mask, top_layers).float().numpy()
                for row, i in enumerate(chunk):
                    computed[text_key(texts[i])] = out[row, : lower[i].shape[0]].copy()
        with self._lock:
            self._cache.update(computed)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    def top_forward(self, states: torch.Tensor, mask: torch.Tensor, top_layers: int) -> torch.Tensor:
        """Run only the top `top_layers` layers on states from `lower_states` (padded, mask True on tokens)."""
        from transformers.masking_utils import (
            create_bidirectional_mask,  # fine-tuning only; transformers loads late
        )

        attention = create_bidirectional_mask(config=self.model.config, inputs_embeds=states, attention_mask=mask.long())
        for layer in self.model.encoder.layer[-top_layers:]:
            out = layer(states, attention_mask=attention)
            states = out[0] if isinstance(out, tuple) else out
        return states

    def top_layer_state(self, top_layers: int) -> dict[str, torch.Tensor]:
        """Weights of the top layers, keyed by their names in the encoder, for saving a fine-tuned router."""
        n = len(self.model.encoder.layer)
        names = tuple(f"encoder.layer.{i}." for i in range(n - top_layers, n))
        return {k: v.detach().clone() for k, v in self.model.state_dict().items() if k.startswith(names)}

    def load_tuned_layers(self, state: dict[str, torch.Tensor]) -> None:
        """Overwrite layers with a tuned router's weights; on a lazy encoder, when its weights are first read.

        Keeps a router served by ONNX Runtime (whose graph already holds the tuned layers) from reading the torch
        weights at start.
        """
        def apply(model):
            model.load_state_dict(state, strict=False)
            return model

        with self._model_lock:
            if self._model is None:
                loader = self._load_model
                self._load_model = lambda: apply(loader())
            else:
                apply(self._model)
        self.tuned = True
        self.clear_cache()

    def stock(self) -> "Encoder":
        """This encoder with its published weights: itself unless a router tuned it.

        A new router must start from the stock weights (its artifact stores only the layers it tunes), and the
        baselines route on stock embeddings, their usual form.
        """
        if not self.tuned:
            return self
        if getattr(self, "_stock", None) is None:
            self._stock = Encoder.load(self.name, self.max_tokens, lazy=True, cache_size=self._cache_size)
            self._stock._lower_cache = self._lower_cache  # keys carry a digest of the weights that made them
        return self._stock

    def copy(self) -> "Encoder":
        """An independent encoder (own weights, empty cache) for a router that tunes or loads tuned layers."""
        twin = Encoder(copy.deepcopy(self.model), self.tokenizer, self.name, self.max_tokens, self._cache_size,
                       lower_cache=self._lower_cache)
        twin.tuned = self.tuned
        twin._stock = self if not self.tuned else getattr(self, "_stock", None)  # its stock weights, states cached
        return twin

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()


def pad_states(states: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad per-query states into a batch.

    Returns:
        states (B, L, d) float32 and mask (B, L) bool, True on real tokens.
    """
    longest = max(s.shape[0] for s in states)
    dim = states[0].shape[1]
    out = np.zeros((len(states), longest, dim), dtype=np.float32)
    mask = np.zeros((len(states), longest), dtype=bool)
    for i, s in enumerate(states):
        out[i, : s.shape[0]] = s
        mask[i, : s.shape[0]] = True
    return torch.from_numpy(out), torch.from_numpy(mask)


