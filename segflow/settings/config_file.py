"""The YAML settings file ($SEGFLOW_CONFIG, else ./segflow.yaml): finding it, and reading it strictly (every key a
setting, each value checked on its own so that an error names the key as written)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_settings import BaseSettings, YamlConfigSettingsSource

from segflow.errors import ConfigError

CONFIG_VARIABLE = "SEGFLOW_CONFIG"
CONFIG_FILE = "segflow.yaml"


class ConfigFileError(ConfigError):
    """The YAML settings file is missing, unreadable, or has a key or value segflow cannot use."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path, self.problem = path, problem
        super().__init__(f"settings file {path}: {problem}")


def settings_file() -> Path | None:
    """The YAML settings file to read: $SEGFLOW_CONFIG (which must exist), else ./segflow.yaml if present."""
    named = os.environ.get(CONFIG_VARIABLE, "").strip()
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            raise ConfigFileError(path.resolve(), f"not found (named by {CONFIG_VARIABLE})")
        return path.resolve()
    here = Path.cwd() / CONFIG_FILE
    return here if here.is_file() else None


class YamlSettingsFile(YamlConfigSettingsSource):
    """Settings from a YAML mapping whose keys are the settings' field names (seed, not SEGFLOW_SEED).

    Unlike the environment, where unrelated variables abound, every key must be a setting: a typo in a file
    that is ignored would leave a setting at its default without a word.
    """

    def __init__(self, settings_cls: type[BaseSettings], path: Path) -> None:
        self.path = path
        super().__init__(settings_cls, yaml_file=path)
        self._check(settings_cls)

    def _read_file(self, file_path: Any) -> dict[str, Any]:
        """The file's mapping, or an error naming the file when it is not YAML or not a mapping."""
        import yaml  # only when there is a file to read

        try:
            data = super()._read_file(file_path)
        except yaml.YAMLError as exc:
            raise ConfigFileError(self.path, " ".join(f"not valid YAML: {exc}".split())) from exc
        except OSError as exc:
            raise ConfigFileError(self.path, f"cannot be read ({exc.strerror})") from exc
        if not isinstance(data, dict):
            raise ConfigFileError(self.path, f"must be a mapping of setting: value, not a {type(data).__name__}")
        return data

    def _check(self, settings_cls: type[BaseSettings]) -> None:
        for key in self.yaml_data:
            if key not in settings_cls.model_fields:
                hint = str(key).lower().removeprefix("segflow_")
                suggestion = (
                    f" (write {hint!r}: keys are setting names without SEGFLOW_)"
                    if hint in settings_cls.model_fields
                    else ""
                )
                raise ConfigFileError(self.path, f"unknown key {key!r}{suggestion}")
        # Each of the file's values alone, so that an error names the key as written in the file (the full
        # validation later would word it as an environment variable).
        blank = settings_cls.model_construct()
        for key, value in self.yaml_data.items():
            try:
                settings_cls.__pydantic_validator__.validate_assignment(blank, key, value)
            except ValidationError as exc:
                raise ConfigFileError(self.path, f"bad value for {key!r}: {_reason(exc)}") from exc


def _reason(error: ValidationError) -> str:
    """The first problem pydantic found, without its 'Value error, ' preamble for our own validators."""
    return str(error.errors()[0]["msg"]).removeprefix("Value error, ")
