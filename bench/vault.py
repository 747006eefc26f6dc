"""Decrypting a 100-value vaulted inventory: ours against ansible-core's own vault code.

    python bench/vault.py [--values 100] [--hosts 10] [--rounds 5]

Writes an Ansible YAML inventory of HOSTS hosts holding VALUES ``!vault`` values in all, each
encrypted by ansible-core's VaultLib (a fresh random salt each, as ``ansible-vault
encrypt_string`` does: no two share a key), then measures, in rounds (medians):

- ours: ``load_inventory(path, VaultSecrets.from_options([password file]))`` with a fresh
  VaultSecrets each round (no key cached): parse, decrypt every value, resolve the hosts;
- ours, serial: the same with the batch key derivation off (one PBKDF2 after the other);
- ours, warm: loading again with the same VaultSecrets (every key cached per password and salt);
- ansible-core: ``VaultLib.decrypt`` of the same 100 values, in process (its key cache cleared
  each round), the decryption alone, no inventory parsing;
- both CLIs end to end: ``invoke inventory -i INV --vault-password-file F`` and
  ``ansible-inventory -i INV --list --vault-password-file F`` (process start included). Note:
  ansible-inventory (2.19) lists vaulted values as ciphertext (``__ansible_vault``) without
  decrypting them, so that row is Ansible's inventory load with no decryption at all.

Target: ours under 1 s for 100 values. The ratio printed is ansible-core / ours (above 1: we are
faster). The derivation (PBKDF2-HMAC-SHA256, 10,000 iterations per value) is what costs; ours runs
it for a whole file at once in threads (the cryptography library releases the GIL), one per core.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PASSWORD = "bench vault password"


def write_inventory(folder: Path, values: int, hosts: int) -> tuple[Path, Path, list[str]]:
    from ansible.parsing.vault import VaultLib, VaultSecret

    vault = VaultLib([("default", VaultSecret(PASSWORD.encode()))])
    password = folder / "vault-pass"
    password.write_text(PASSWORD + "\n")
    lines, ciphertexts = ["all:", "  hosts:"], []
    per_host = -(-values // hosts)
    for index in range(values):
        if index % per_host == 0:
            lines += [f"    web{index // per_host + 1}:", "      ansible_connection: local"]
        text = vault.encrypt(f"value-{index}-{os.urandom(8).hex()}").decode()
        ciphertexts.append(text)
        lines.append(f"      secret_{index}: !vault |")
        lines += [" " * 8 + line for line in text.splitlines()]
    inventory = folder / "hosts.yml"
    inventory.write_text("\n".join(lines) + "\n")
    return inventory, password, ciphertexts


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def timed_cpu(function) -> tuple[float, float]:
    """(wall, CPU of this process's threads): the CPU does not grow when other work shares the cores."""
    wall, cpu = time.perf_counter(), time.process_time()
    function()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=100)
    parser.add_argument("--hosts", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    try:
        from ansible.parsing.vault import VaultAES256, VaultLib, VaultSecret
    except ImportError:
        print("ansible-core is not installed: pip install -e '.[bench]'", file=sys.stderr)
        return 2
    from remediation.inventory import load_inventory
    from remediation.vault import VaultSecrets

    with tempfile.TemporaryDirectory() as tmp:
        inventory, password, ciphertexts = write_inventory(Path(tmp), args.values, args.hosts)

        def ours():
            loaded = load_inventory(inventory, VaultSecrets.from_options([str(password)], environ={}))
            assert len(loaded.secrets) == args.values

        def ours_serial():
            vault = VaultSecrets.from_options([str(password)], environ={})
            vault.prepare = lambda texts: None
            load_inventory(inventory, vault)

        warm_vault = VaultSecrets.from_options([str(password)], environ={})
        load_inventory(inventory, warm_vault)

        def theirs():
            VaultAES256._gen_key_initctr.cache_clear()
            lib = VaultLib([("default", VaultSecret(PASSWORD.encode()))])
            for text in ciphertexts:
                lib.decrypt(text)

        def ours_decrypt_only():
            vault = VaultSecrets.from_options([str(password)], environ={})
            vault.prepare(ciphertexts)
            for text in ciphertexts:
                vault.decrypt(text)

        cases = {
            "ours (load_inventory)": ours,
            "ours, serial keys": ours_serial,
            "ours, warm cache": lambda: load_inventory(inventory, warm_vault),
            "ours, decrypt only": ours_decrypt_only,
            "ansible-core VaultLib, decrypt only": theirs,
        }
        times = {name: [] for name in cases}
        cpu = {name: [] for name in cases}
        for _ in range(args.rounds):  # interleaved: a busy machine slows every case alike
            for name, function in cases.items():
                wall, used = timed_cpu(function)
                times[name].append(wall)
                cpu[name].append(used)
        results = {name: statistics.median(values) for name, values in times.items()}
        cpu_results = {name: statistics.median(values) for name, values in cpu.items()}
        environ = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
        environ["ANSIBLE_LOCAL_TEMP"] = tmp
        ansible_bin = Path(sys.executable).parent / "ansible-inventory"

        def cli(command):
            done = subprocess.run(command, cwd=REPO, env=environ, capture_output=True, text=True)
            assert done.returncode == 0, done.stderr[-500:]

        ours_cli = [sys.executable, "-m", "invoke", "inventory", "-i", str(inventory), "--vault-password-file",
                    str(password)]
        theirs_cli = [str(ansible_bin), "-i", str(inventory), "--list", "--vault-password-file", str(password)]
        cli_times = {"invoke inventory (CLI)": [], "ansible-inventory --list (CLI, no decrypt)": []}
        for _ in range(max(1, min(args.rounds, 3))):
            cli_times["invoke inventory (CLI)"].append(timed(lambda: cli(ours_cli)))
            cli_times["ansible-inventory --list (CLI, no decrypt)"].append(timed(lambda: cli(theirs_cli)))
        results.update({name: statistics.median(values) for name, values in cli_times.items()})

    print(f"{args.values} vaulted values over {args.hosts} hosts, median of {args.rounds} rounds, "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    for name, seconds in results.items():
        used = f"  CPU {cpu_results[name]:6.3f} s" if name in cpu_results else ""
        print(f"  {name:<42} {seconds:7.3f} s{used}")
    ours_total, theirs = results["ours (load_inventory)"], results["ansible-core VaultLib, decrypt only"]
    print(f"ratio ansible-core VaultLib decrypt / ours decrypt: {theirs / results['ours, decrypt only']:.2f}x; "
          f"/ our whole inventory load: {theirs / ours_total:.2f}x (ours {'under' if ours_total < 1 else 'OVER'} 1 s)")
    print(f"ratio ansible-inventory (no decrypt) / invoke inventory (CLI): "
          f"{results['ansible-inventory --list (CLI, no decrypt)'] / results['invoke inventory (CLI)']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
