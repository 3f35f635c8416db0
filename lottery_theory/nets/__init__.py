"""Target and ER source networks; masked layers whose masks are buffers."""
from .builders import (
           available_inits,
           conv_net,
           er_source,
           init_params,
           mlp,
           register_init,
           widths_of,
)
from .checkpoint import build_target, load_target, save_target, target_from_state_dict, target_spec
from .interop import as_masked, export, sparsify, to_prune_form
from .masked import (
           MaskedConv2d,
           MaskedLinear,
           apply_masks,
           enforce_masks,
           masked_layers,
           masks,
)

__all__ = ["MaskedConv2d", "MaskedLinear", "apply_masks", "as_masked", "export", "sparsify", "to_prune_form", "available_inits", "build_target", "load_target",
           "save_target", "target_from_state_dict", "target_spec", "conv_net", "enforce_masks",
           "er_source", "init_params", "masked_layers", "masks", "mlp", "register_init", "widths_of"]
