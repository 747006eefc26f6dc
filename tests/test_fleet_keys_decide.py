"""The set's decision on its own (remediation/fixes/shared_key.py): which key every host of a
secret_key_group ends with, from what each holds. Pure data in, exact plans out."""

from __future__ import annotations

import datetime

from remediation.fixes.fallback_dates import FallbackRecord
from remediation.fixes.shared_key import Member, decide, fingerprint

K1, K2, K3 = ("PLANTEDk1" + "aB3dE5gH7j" * 5, "PLANTEDk2" + "kL9mN1pQ3r" * 5, "PLANTEDk3" + "sT5uV7wX9y" * 5)
WEAK = "django-insecure-abc"
TODAY = datetime.date(2026, 11, 26)
RUN_KEY = "0" * 32


def record(**dates):
    rec = FallbackRecord("/x/.remediation/secret_key_fallbacks.json", None, "ab" * 16)
    rec.added = {rec.fingerprint(key): day for key, day in dates.items()}
    return rec


def plans(members, rotate=False, drop=None):
    return decide("thebot", members, rotate, drop, TODAY, RUN_KEY)


def test_a_new_host_adopts_the_sets_strong_key():
    decided = plans([Member("web1", K1), Member("web2", WEAK), Member("web3", "")])
    assert {h: p.key for h, p in decided.items()} == {"web1": K1, "web2": K1, "web3": K1}
    assert decided["web2"].message == "SECRET_KEY of secret_key_group thebot adopted from web1"
    assert decided["web1"].message == "SECRET_KEY is secret_key_group thebot's; kept"
    assert [p.fallbacks for p in decided.values()] == [[], [], []], "a weak key is never kept as a fallback"
    assert not any(p.new for p in decided.values()), "adopted, not new: --store-in-vault leaves it"


def test_a_rotation_that_reached_only_some_hosts_is_completed():
    decided = plans([Member("web1", K2, [K1]), Member("web2", K1, [])])
    assert {h: (p.key, p.fallbacks) for h, p in decided.items()} == {"web1": (K2, [K1]), "web2": (K2, [K1])}
    assert decided["web2"].failure is None


def test_disagreeing_hosts_get_no_key_and_each_side_its_fingerprint():
    decided = plans([Member("web1", K1), Member("web2", K2), Member("web3", K1)])
    failure = decided["web2"].failure
    assert {p.failure for p in decided.values()} == {failure}
    assert failure == (f"secret_key_group thebot: the hosts hold different SECRET_KEYs (web1, web3: key "
                       f"{fingerprint(RUN_KEY, K1)}; web2: key {fingerprint(RUN_KEY, K2)}); nothing changed on any host: "
                       "run with --rotate-secret-key to give the set one new key (every old key kept in SECRET_KEY_FALLBACKS)")
    assert K1 not in failure and K2 not in failure


def test_rotation_keeps_every_old_key_and_the_union_of_fallbacks():
    decided = plans([Member("web1", K1, [K3]), Member("web2", K2, [])], rotate=True)
    new = decided["web1"].key
    assert new not in (K1, K2, K3) and decided["web2"].key == new and decided["web2"].new
    assert [p.fallbacks for p in decided.values()] == [[K1, K2, K3]] * 2


def test_an_unread_member_changes_no_host():
    decided = plans([Member("web1", K1), Member("web2", error="unreachable: timed out")], rotate=True)
    assert {p.failure for p in decided.values()} == {
        "secret_key_group thebot: web2 could not be read (web2: unreachable: timed out); the set's key was not "
        "changed on any host"}


def test_drops_count_a_fallback_as_old_as_its_earliest_date_on_any_host():
    old, recent = (TODAY - datetime.timedelta(days=40)).isoformat(), (TODAY - datetime.timedelta(days=2)).isoformat()
    members = [Member("web1", K1, [K2, K3], record(**{K2: old, K3: recent})),
               Member("web2", K1, [K2], record(**{K2: recent}))]
    decided = plans(members, drop=30)
    assert [p.fallbacks for p in decided.values()] == [[K3]] * 2
    assert (decided["web1"].dropped, decided["web1"].undated) == (1, 0)
    assert decided["web2"].dates == {K3: recent}, "web2 records K3 with the date web1 has, not today"


def test_fallbacks_without_a_date_are_kept_and_counted():
    decided = plans([Member("web1", K1, [K2], record()), Member("web2", K1, [K2], record())], drop=0)
    assert [(p.fallbacks, p.dropped, p.undated) for p in decided.values()] == [([K2], 0, 1)] * 2


def test_no_repr_holds_a_key():
    decided = plans([Member("web1", K1, [K2], record(**{K2: "2026-01-01"}))], rotate=True)
    text = repr(decided) + repr(Member("web1", K1, [K2]))
    assert K1 not in text and K2 not in text and decided["web1"].key not in text


def test_the_group_var_in_an_ansible_ini_inventory(tmp_path):
    from remediation.fixprod.fleet_keys import sets_of
    from remediation.inventory import load_inventory

    path = tmp_path / "production.ini"
    path.write_text("[web]\nweb1 ansible_host=10.0.0.1\nweb2 ansible_host=10.0.0.2\n[worker]\nw1 ansible_host=10.0.0.3\n"
                    "[web:vars]\nsecret_key_group=thebot\n")
    assert {g: [h.name for h in hosts] for g, hosts in sets_of(load_inventory(str(path)).hosts).items()} == {
        "thebot": ["web1", "web2"]}
