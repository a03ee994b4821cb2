"""Configuration: schema, layered loader, and the msgen config.txt reader."""

from genoflow.config.loader import Settings, env_name, load_settings
from genoflow.config.schema import SECRET_KEYS, GenoflowConfig

__all__ = ["SECRET_KEYS", "GenoflowConfig", "Settings", "env_name", "load_settings"]
