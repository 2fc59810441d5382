"""Settings (environment) and the project file ``customerlens.toml``.

Two kinds of configuration, read once and passed down:

* :class:`Settings`: how this machine runs customerlens (threads, memory, API key later),
  from ``CUSTOMERLENS_*`` environment variables.
* :class:`ProjectConfig`: what the shop's data looks like, from ``customerlens.toml``::

      [sources.accounts]
      path = "accounts.csv"
      [sources.accounts.columns]        # canonical name = column in the file (explicit wins)
      first_name = "Given Name"

      [sources.transactions]
      path = "CDNOW_master.txt"
      format = "whitespace"             # csv | parquet | whitespace | auto (from the extension)
      header = true
      date_format = "%Y%m%d"

      [ingest]
      max_bad_share = 0.01

      [features]                        # customerlens run
      horizon_days = 90
      time_unit = "week"
      strategy_rules = "my_rules.csv"   # replaces the packaged strategy table

Relative paths in the file are relative to the file's folder.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from customerlens.errors import ConfigError
from customerlens.tables import ROLES

FileFormat = Literal["auto", "csv", "parquet", "whitespace"]
OnDuplicate = Literal["error", "reject"]


class Settings(BaseSettings):
    """Machine-level settings, from ``CUSTOMERLENS_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="CUSTOMERLENS_", extra="ignore")

    threads: int | None = Field(default=None, ge=1, description="DuckDB threads (default: all)")
    memory_limit: str | None = Field(default=None, description="DuckDB memory limit, e.g. '8GB'")
    api_key: SecretStr | None = Field(
        default=None, description="key the REST API requires in the X-API-Key header"
    )
    max_request_bytes: int = Field(
        default=65_536, ge=1_024, description="largest request body the REST API accepts"
    )


class SourceConfig(BaseModel):
    """One input file and how to read it."""

    model_config = ConfigDict(extra="forbid")

    path: Path
    format: FileFormat = "auto"
    delimiter: str | None = None
    encoding: Literal["auto", "utf-8", "latin-1"] = "auto"
    header: bool | None = None
    #: column names to use when the file has no header row (or to override it)
    column_names: list[str] | None = None
    #: explicit mapping, canonical column -> column name in the file
    columns: dict[str, str] = Field(default_factory=dict)
    #: strptime format for every date column of this source (inferred when absent)
    date_format: str | None = None
    on_duplicate_id: OnDuplicate = "error"

    @field_validator("delimiter")
    @classmethod
    def _one_char(cls, value: str | None) -> str | None:
        if value is not None and len(value.encode()) != 1 and value != "\\t":
            raise ValueError("delimiter must be a single character")
        return "\t" if value == "\\t" else value


class IngestOptions(BaseModel):
    """How strict ingestion is."""

    model_config = ConfigDict(extra="forbid")

    #: above this share of unusable values in a required column (ids, event times, prices),
    #: ingestion stops with an error; below it the rows go to ``rejected``
    max_bad_share: float = Field(default=0.01, ge=0.0, le=1.0)
    #: above this share of unparseable values in an optional column (date of birth, signup
    #: date), ingestion stops: the format or the mapping is wrong. Below it the values are
    #: set to null and listed in ``data_quality``.
    max_bad_share_optional: float = Field(default=0.5, ge=0.0, le=1.0)


class ResolveOptions(BaseModel):
    """How identity resolution decides."""

    model_config = ConfigDict(extra="forbid")

    #: links at or above this probability merge records automatically
    auto_threshold: float = Field(default=0.90, gt=0.0, le=1.0)
    #: pairs from here up to the auto threshold go to human review
    review_threshold: float = Field(default=0.75, gt=0.0, le=1.0)
    #: a scored pair below this forbids its records from sharing a customer, whatever the other
    #: pairs say. 0 (the default): low pairs only vote against a merge, weighed with every other
    #: pair between the two clusters (resolve/cluster.py); the hard constraint it replaced cost
    #: recall on every data set (docs/resolution.md, "Cluster")
    cannot_link: float = Field(default=0.0, ge=0.0, lt=1.0)
    #: decision probability of a household conflict (first names disagree outright, nothing
    #: person-specific agrees). Below 0.5 the pair votes against a merge (0.2: 4 to 1 against);
    #: at 0.5 it voted nothing, and a record with no first name chained a whole household
    conflict_cap: float = Field(default=0.2, ge=0.0, le=1.0)
    #: after the vote clustering, merge clusters whose consensus records (majority value per
    #: field) the model matches at the auto threshold (resolve/consensus.py). Measured: it lifts
    #: every data set up to 50,000 records; at 1,000,000 generated people it merges more
    #: namesakes (F1 0.898 -> 0.894, customers -4.2% -> -4.9%, docs/resolution.md)
    consensus: bool = True
    #: pairs scored below this are not kept in ``match_pairs``
    pair_floor: float = Field(default=0.01, ge=0.0, lt=1.0)
    #: country assumed for phone numbers written without an international prefix
    default_region: str = "GB"
    random_state: int = 42
    max_u_pairs: float = Field(default=5e6, gt=0)
    #: more columns of accounts / CRM to compare, e.g. {loyalty_card = "exact", city = "fuzzy"}:
    #: "exact" fields also block; nothing outside this list (or the identity columns) is used
    extra_fields: dict[str, Literal["exact", "fuzzy"]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _ordered(self) -> ResolveOptions:
        if not self.cannot_link < self.review_threshold <= self.auto_threshold:
            raise ValueError(
                "thresholds must satisfy cannot_link < review_threshold <= auto_threshold"
            )
        return self


#: words that mark a transaction line as a service or an adjustment, not a product a customer
#: chose (postage, fees, manual adjustments, bad debt...): matched as whole words in the product
#: name, case-insensitively
NON_PRODUCT_WORDS = (
    "postage",
    "carriage",
    "shipping",
    "delivery",
    "fee",
    "fees",
    "charge",
    "charges",
    "commission",
    "manual",
    "adjust",
    "adjustment",
    "bad debt",
    "discount",
    "sample",
    "samples",
    "voucher",
    "gift card",
)


class FeatureOptions(BaseModel):
    """How transactions become customer features and models."""

    model_config = ConfigDict(extra="forbid")

    #: churn / value horizon in days: churned = no purchase in the horizon after the cutoff
    horizon_days: int = Field(default=90, gt=0)
    #: the evaluation cutoff (ISO date); default: the last day of data minus the horizon
    cutoff: dt.date | None = None
    #: time unit of the CLV model
    time_unit: Literal["day", "week"] = "day"
    clv_model: Literal["bg_nbd", "pareto_nbd"] = "bg_nbd"
    #: "map" (flat priors: the maximum-likelihood fit) or "mcmc" (full Bayesian sampling)
    clv_method: Literal["map", "mcmc"] = "map"
    #: see NON_PRODUCT_WORDS; product ids listed here are non-product lines too
    non_product_words: tuple[str, ...] = NON_PRODUCT_WORDS
    non_product_ids: tuple[str, ...] = ()
    #: a CSV of strategy rules replacing the packaged table (see insights/strategy.py)
    strategy_rules: Path | None = None
    random_state: int = 42


class ProjectConfig(BaseModel):
    """The content of ``customerlens.toml``."""

    model_config = ConfigDict(extra="forbid")

    sources: dict[str, SourceConfig] = Field(default_factory=dict)
    ingest: IngestOptions = Field(default_factory=IngestOptions)
    resolve: ResolveOptions = Field(default_factory=ResolveOptions)
    features: FeatureOptions = Field(default_factory=FeatureOptions)

    @field_validator("sources")
    @classmethod
    def _known_roles(cls, value: dict[str, SourceConfig]) -> dict[str, SourceConfig]:
        unknown = sorted(set(value) - set(ROLES))
        if unknown:
            raise ValueError(f"unknown source role(s) {unknown}; use {list(ROLES)}")
        return value


def load_config(path: Path) -> ProjectConfig:
    """Read and validate ``customerlens.toml``; paths are made relative to its folder."""
    if not path.exists():
        raise ConfigError(f"Config file {path} does not exist.")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    try:
        config = ProjectConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from exc
    for source in config.sources.values():
        if not source.path.is_absolute():
            source.path = (path.parent / source.path).resolve()
    rules = config.features.strategy_rules
    if rules is not None and not rules.is_absolute():
        config.features.strategy_rules = (path.parent / rules).resolve()
    return config
