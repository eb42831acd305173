"""Configuration: one YAML file, ``${VAR}`` from the environment, validated into typed models.

- :mod:`~scopeguard.config.settings`: the models, one per section of the file;
- :mod:`~scopeguard.config.loading`: finding, reading and validating the file,
  with every problem reported by its key path and line.
"""

from scopeguard.config.loading import (
    CONFIG_ENV,
    DEFAULT_CONFIG_FILE,
    ConfigError,
    config_path,
    load_settings,
    parse_settings,
)
from scopeguard.config.settings import (
    FORGE_JWKS_URL,
    AgencySettings,
    AlertChannelSettings,
    AlertsSettings,
    ClientSettings,
    ContractSettings,
    Deployment,
    ForgeSettings,
    ForgeSiteSettings,
    JiraSettings,
    ReportSettings,
    ReportsSettings,
    SchedulerSettings,
    ScopeSettings,
    Settings,
    SmtpSettings,
    SyncSettings,
    WebSettings,
    WorkflowSettings,
    WorkingHours,
)

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_CONFIG_FILE",
    "FORGE_JWKS_URL",
    "AgencySettings",
    "AlertChannelSettings",
    "AlertsSettings",
    "ClientSettings",
    "ConfigError",
    "ContractSettings",
    "Deployment",
    "ForgeSettings",
    "ForgeSiteSettings",
    "JiraSettings",
    "ReportSettings",
    "ReportsSettings",
    "SchedulerSettings",
    "ScopeSettings",
    "Settings",
    "SmtpSettings",
    "SyncSettings",
    "WebSettings",
    "WorkflowSettings",
    "WorkingHours",
    "config_path",
    "load_settings",
    "parse_settings",
]
