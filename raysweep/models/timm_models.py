"""timm image classifiers (BiT family, EfficientNet, any timm architecture)."""

from __future__ import annotations

import copy
from typing import Any

import timm
import torch
from torch import nn

from raysweep.errors import ConfigError, first_line
from raysweep.models.base import ModelAdapter
from raysweep.models.weights import check_weights_source, package_state_dict, resolve_weights

# timm families whose last stage can be split off: class -> (layers before the stages, the stage
# container, or None where the stages are separate attributes listed among the lower layers)
LOWER_LAYERS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "EfficientNet": (("conv_stem", "bn1"), "blocks"),
    "ResNetV2": (("stem",), "stages"),
    "ResNet": (("conv1", "bn1", "act1", "maxpool", "layer1", "layer2", "layer3"), None),
}


class TimmImageModel(ModelAdapter):
    """A timm model created by name; pretrained weights loaded through timm from a local file."""

    modality = "image"

    def __init__(
        self,
        timm_name: str,
        pretrained: bool = True,
        weights: str | None = None,
        image_size: int | None = None,
        drop_rate: float = 0.0,
    ) -> None:
        if (
            timm_name not in timm.list_models(pretrained=False)
            and timm_name.split(".")[0] not in timm.list_models()
        ):
            raise ConfigError(f"timm has no architecture {timm_name!r}")
        self.timm_name = timm_name
        self.pretrained = pretrained
        self.image_size = image_size
        self.drop_rate = drop_rate
        self.weights = weights if pretrained else None
        if pretrained:
            if not weights:
                raise ConfigError(
                    f"model {timm_name} with pretrained=true needs model_args.weights=<file> "
                    "(no model hub is reached); or set pretrained: false"
                )
            check_weights_source(weights)  # present and readable; fitted when a net is built
        config = timm.get_pretrained_cfg(timm_name)
        config = config.to_dict() if config is not None else {}
        self._mean = torch.tensor(config.get("mean", (0.485, 0.456, 0.406))).view(1, 3, 1, 1)
        self._std = torch.tensor(config.get("std", (0.229, 0.224, 0.225))).view(1, 3, 1, 1)

    def create(self, num_classes: int, init_seed: int) -> nn.Module:
        kwargs: dict[str, Any] = {"num_classes": num_classes, "drop_rate": self.drop_rate}
        weights_file = None
        if self.weights is not None:
            weights_file = resolve_weights(self.weights, self.timm_name)
            kwargs["pretrained_cfg_overlay"] = {"file": str(weights_file)}
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(init_seed)  # the random head (or whole random net) is seeded
            try:
                model = timm.create_model(self.timm_name, pretrained=self.pretrained, **kwargs)
            except Exception as exc:  # a corrupt file raises many types (IndexError, EOFError, ...)
                raise ConfigError(
                    f"cannot load weights {weights_file} into {self.timm_name}: {first_line(exc)}"
                ) from None
        if self.pretrained:
            self._check_loaded(model, num_classes, init_seed)
        return model

    def check_weights(self, num_classes: int) -> None:
        """The weights fit the architecture, checked without writing anything (preflight)."""
        if self.weights is None:
            return
        if self.weights.startswith("package:"):
            package_state_dict(self.weights, self.timm_name)  # tensor count and shapes
        else:
            self.create(num_classes, init_seed=0)  # timm's own loading of the file, then checked

    def _check_loaded(self, model: nn.Module, num_classes: int, init_seed: int) -> None:
        """Refuse a file that left backbone tensors at their random init.

        timm loads with ``strict=False`` when the head is replaced, so a file of another
        architecture would silently give a random network labelled "pretrained". Comparing with the
        same-seed random init works whatever the file format or timm's key remapping.
        """
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(init_seed)
            twin = timm.create_model(self.timm_name, pretrained=False, num_classes=num_classes)
        head = model.pretrained_cfg.get("classifier") or ()
        head_prefixes = (head,) if isinstance(head, str) else tuple(head)
        twin_params = dict(twin.named_parameters())
        unloaded = [
            name
            for name, param in model.named_parameters()
            # weight matrices/kernels only: norm scales and biases may legitimately equal 1 and 0
            if param.ndim >= 2
            and not name.startswith(head_prefixes)
            and torch.equal(param, twin_params[name])
        ]
        if unloaded:
            raise ConfigError(
                f"weights file {self.weights} does not fit {self.timm_name}: {len(unloaded)} of "
                f"{sum(p.ndim >= 2 for p in twin_params.values())} weight tensors were not loaded (e.g. {unloaded[0]})"
            )

    def prepare(self, raw: torch.Tensor, device: torch.device) -> torch.Tensor:
        images = raw.to(device, non_blocking=True)  # uint8 crosses to the device as uint8
        # uint8 -> [0, 1] exactly as torchvision's ToTensor does it, but on the device
        images = images.float().div_(255) if images.dtype == torch.uint8 else images.float()
        if self.image_size and images.shape[-1] != self.image_size:
            images = nn.functional.interpolate(
                images, size=self.image_size, mode="bilinear", align_corners=False
            )
        return (images - self._mean.to(device)) / self._std.to(device)

    def logits(self, module: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
        return module(inputs)

    def logits_and_embeddings(
        self, module: nn.Module, inputs: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        features = module.forward_features(inputs)
        return module.forward_head(features), module.forward_head(features, pre_logits=True)

    def split_last_stage(self, module: nn.Module) -> tuple[nn.Module, nn.Module]:
        """Lower layers as a ``Sequential``; the upper part is ``module`` with them made identities,
        so timm's own ``forward_features`` / ``forward_head`` (neck, pooling, head) still apply."""
        family = type(module).__name__
        if family not in LOWER_LAYERS:
            supported = ", ".join(LOWER_LAYERS)
            raise ConfigError(
                f"train.finetune: last_stage supports timm {supported} models, "
                f"not {self.timm_name} ({family})"
            )
        before, container = LOWER_LAYERS[family]
        lower = [getattr(module, name) for name in before]
        upper = copy.deepcopy(module)
        for name in before:
            setattr(upper, name, nn.Identity())
        if container is not None:
            stages = getattr(module, container)
            lower.extend(stages[:-1])
            setattr(upper, container, getattr(upper, container)[-1:])
        return nn.Sequential(*lower), upper

    def describe(self) -> str:
        source = self.weights or "random init"
        return f"timm:{self.timm_name} ({source})"
