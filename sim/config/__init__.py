"""Configuration: the typed, frozen schema of a region and both regimes, the
distributions its parameters use, loading with overrides, and the parameter
table generated from the default config's comments."""
from ..errors import ConfigError
from .loading import (apply_overrides, config_to_dict, format_error, json_schema, load_config, read_yaml,
                      validate, with_overrides)
from .schema import FEATURES, MECHANISMS, SEVERITIES, Config

__all__ = ["Config", "ConfigError", "FEATURES", "MECHANISMS", "SEVERITIES", "apply_overrides", "config_to_dict",
           "format_error", "json_schema", "load_config", "read_yaml", "validate", "with_overrides"]
