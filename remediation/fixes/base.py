"""What every fix shares: its outcome, and the context it plans in.

A fix module declares ``NAME`` and ``REPAIRS`` (the finding ids it repairs) and a function
``plan(ctx) -> Outcome``. Env fixes only edit ``ctx.env`` (the production env document, in
memory); action fixes return an ``action`` that runs after every file is written. Nothing is
touched while planning, so ``--check`` is planning without applying.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

OK, CHANGED, FAILED, NEEDS_INPUT, SKIPPED = "ok", "changed", "failed", "needs input", "skipped"


@dataclass
class Outcome:
    status: str
    message: str = ""
    needs: list[str] = field(default_factory=list)
    action: Callable | None = None  # run at apply time; returns a message, raises ChangeFailed
    action_label: str = ""


@dataclass
class Options:
    project: str | None = None
    python: str | None = None
    env_file: str | None = None
    domains: list[str] = field(default_factory=list)
    database_url: str | None = None
    create_database: bool = False
    copy_data: bool = False
    secrets_file: str | None = None
    check: bool = False
    diff: bool = False
    push: bool = False
    allow_dirty: bool = False
    no_backup: bool = False
    no_rehearsal: bool = False
    rotate_secret_key: bool = False
    drop_fallbacks_older_than: int | None = None  # days; fallbacks this tool dated earlier are dropped
    store_in_vault: str | None = None  # fleet: the vars file the sets' new keys are vaulted into
    shared_key: object = field(default=None, repr=False)  # fleet: shared_key.SharedKey decided for this host's set
    fingerprint_key: str | None = field(default=None, repr=False)  # fleet: the run's key for SECRET_KEY fingerprints
    host_facts: dict | None = field(default=None, repr=False)  # fleet: the files around the project, read just before
    prompt: bool = True  # ask for missing values when a terminal is attached (off for fleets)
    vault: object = None  # the run's VaultSecrets: a vault-encrypted --secrets file decrypts in memory with them


@dataclass
class Context:
    """Everything a fix may read: the options, the facts, the env being planned."""

    options: Options
    transport: object
    facts: object  # Facts under the current production env
    env: object  # EnvDocument of the production env file
    env_path: str
    inputs: object = None  # values a person supplies: fixprod.Inputs (secrets file, environment, prompt)
    findings: list = field(default_factory=list)  # the audit's findings under the current env
    planned: object = None  # Facts under the planned env, once probed
    record: object = None  # RunRecord, at apply time
    fallback_record: object = None  # fallback_dates.FallbackRecord, loaded by the secret_key fix


def set_env(ctx: Context, values: dict[str, str]) -> list[str]:
    """Plan each key=value in the production env; returns the keys that change."""
    return [key for key, value in values.items() if ctx.env.set(key, value)]
