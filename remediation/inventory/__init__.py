"""Inventories: which hosts to audit or fix, how to reach them, and the settings of each.

``load_inventory(path)`` reads three formats, told apart by extension and content:

1. **Our YAML format** (a mapping whose top-level keys are among ``vars``, ``groups``, ``hosts``)::

    vars: {python: /usr/bin/python3}          # optional, for all hosts
    groups:                                   # optional
      web:
        hosts: [web1, web2]                   # names defined under hosts:
        vars: {domains: [thebot.example.com]}
        children: [canary]                    # optional, names of other groups
      canary: {hosts: [web2]}
    hosts:
      web1: {address: 127.0.0.2, port: 2201, user: deploy, key: ~/.ssh/id_ed25519,
             project: /srv/thebot, env_file: /srv/thebot/.env.production}
      web2: {address: 127.0.0.3, project: /srv/thebot}
      localhost: {project: ../examples/thebot}  # local: no SSH

   Connection settings: ``address`` (default: the host's name), ``port``, ``user``, ``key`` (the
   private key file), ``connection`` (``local`` or ``ssh``). Every other key is a host variable;
   the ones the toolkit reads carry the names of the command-line flags: ``project``,
   ``python``, ``env_file``, ``domains`` (a list, or one comma-separated string) and
   ``database_url``. Connection settings may also be set in ``vars`` of a group or of the whole
   file (``user: deploy`` for every host). A group may list only hosts defined under ``hosts:``
   and only groups defined under ``groups:``; unknown top-level keys are errors.

2. **Ansible INI inventories** (``.ini``, or a file without extension that is not YAML):
   ``[group]``, ``[group:vars]``, ``[group:children]``, ``host key=value ...`` lines, hosts before
   the first section (``ungrouped``), ``host:port``, host ranges ``web[01:03]``/``db-[a:c]``.
   Values are read as Ansible's INI plugin reads them, with ``ast.literal_eval`` (``2222`` is an
   int, ``True`` a bool, ``"['a', 'b']"`` a list, anything else stays a string; note that
   lower-case ``true`` stays a string, as in Ansible).

3. **Ansible YAML inventories** (a mapping of group names, usually ``all:``, each with
   ``hosts``, ``children``, ``vars``).

In Ansible inventories only Ansible's names are connection settings: ``ansible_host``,
``ansible_port``, ``ansible_user``, ``ansible_ssh_private_key_file`` (and
``ansible_private_key_file``, ``ansible_ssh_host/port/user``), ``ansible_connection``; a plain
``port: 8000`` there is just a variable. ``ansible_python_interpreter`` is read as ``python`` in
every format.

``group_vars/<group>`` and ``host_vars/<host>`` next to the inventory file are read in every
format: a file named exactly so, or with ``.yml``, ``.yaml`` or ``.json`` (the first that exists,
as Ansible), or a folder of such files read in sorted order. Given the run's ``VaultSecrets``,
files encrypted with ansible-vault and inline ``!vault`` values are decrypted, and every plaintext
is in ``Inventory.secrets`` (the scrub list; see ``vaulted.py``). Without them, encrypted files
are skipped with a warning naming the flags (``Inventory.warnings``) and inline values load as
``Vaulted``, never printed.

Variable precedence is Ansible's (later wins): the inventory file's ``all`` vars < its vars of
the host's groups, parents before children (ties: ``ansible_group_priority``, then name) <
``group_vars/all`` < ``group_vars/<group>`` in the same order < the host's own vars in the
inventory file < ``host_vars/<host>``. Dictionaries replace, they are not merged.

A host is local (no SSH) when its connection is ``local``, or when it is named ``localhost`` and
no connection is set. For local hosts, relative ``project``, ``env_file`` and ``python`` (when it
contains a ``/``) resolve against the inventory file's folder and ``~`` is expanded; for remote
hosts they are paths on the remote host and are kept as written. ``key`` is a path on this
machine for every host: ``~`` expanded, relative to the inventory's folder.

``select(inventory, limit)`` applies an Ansible ``--limit`` pattern; ``masked(host)`` is what may
be printed of a host. Errors are ``InventoryError`` with a one-line message naming the file and
line: ``inventories/bad.ini:7: cannot parse 'web1 ansible_port' ...``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .ansible_ini import _parse_ini
from .ansible_yaml import _parse_ansible_yaml
from .limit import select
from .masking import masked
from .model import Group, Host, Inventory, InventoryError, Vaulted
from .ours import OUR_KEYS, _parse_ours
from .raw import _kind, _Raw
from .resolve import _resolve
from .vaulted import Decrypter
from .yaml_lines import YAML_EXTENSIONS, _load_yaml

__all__ = ["Group", "Host", "Inventory", "InventoryError", "Vaulted", "load_inventory", "masked", "select"]


def _looks_like_yaml_error(text: str) -> bool:
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        return bool(re.match(r"^(---|[\w.-]+:(\s|$))", stripped))
    return False


def load_inventory(path: str | os.PathLike, vault=None) -> Inventory:
    """Read an inventory file (our YAML, Ansible INI or Ansible YAML) into resolved Hosts; with the
    run's ``VaultSecrets`` (``vault``), vaulted values and files are decrypted (``Inventory.secrets``)."""
    decrypter = Decrypter(vault)
    shown = os.fspath(path)
    file = Path(shown)
    if not file.exists():
        raise InventoryError(f"{shown}: no such inventory file")
    if file.is_dir():
        raise InventoryError(f"{shown}: is a folder; give the inventory file inside it")
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InventoryError(f"{shown}: cannot read: {exc}") from None
    if not text.strip() or all(not line.strip() or line.strip()[0] in "#;" for line in text.splitlines()):
        raise InventoryError(f"{shown}: empty inventory")

    suffix = file.suffix.lower()
    if suffix == ".ini":
        raw = _Raw(shown, "ansible-ini")
        _parse_ini(text, raw)
        return _resolve(raw, file, shown, decrypter)

    if suffix in YAML_EXTENSIONS:
        data = _load_yaml(text, shown)
    else:  # no or another extension: YAML if it reads as a mapping, else INI (Ansible's order)
        try:
            data = _load_yaml(text, shown)
        except InventoryError as yaml_error:
            raw = _Raw(shown, "ansible-ini")
            try:
                _parse_ini(text, raw)
            except InventoryError:
                if _looks_like_yaml_error(text):
                    raise yaml_error from None
                raise
            return _resolve(raw, file, shown, decrypter)
        if not isinstance(data, dict):
            raw = _Raw(shown, "ansible-ini")
            _parse_ini(text, raw)
            return _resolve(raw, file, shown, decrypter)

    if not isinstance(data, dict):
        line = getattr(data, "line", 1)
        expected = "an inventory is a mapping (vars, groups, hosts, or Ansible groups)"
        raise InventoryError(f"{shown}:{line}: {expected}, got {_kind(data)}")
    if "plugin" in data:
        raise InventoryError(f"{shown}:{data.line_of('plugin')}: inventory plugin configurations are not supported")
    if "all" not in data and any(key in OUR_KEYS for key in data):
        raw = _Raw(shown, "yaml")
        _parse_ours(data, raw)
    else:
        raw = _Raw(shown, "ansible-yaml")
        _parse_ansible_yaml(data, raw)
    return _resolve(raw, file, shown, decrypter)
