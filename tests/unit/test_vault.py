import pytest

from inboxlink.security.vault import Vault, VaultError


def test_seal_and_open_round_trip_without_plaintext_in_the_sealed_value() -> None:
    vault = Vault(["key-one"])
    sealed = vault.seal({"password": "hunter2-secret"}, context="inbox:1")
    assert "hunter2" not in sealed
    assert vault.open(sealed, context="inbox:1") == {"password": "hunter2-secret"}


def test_sealing_twice_gives_different_ciphertexts() -> None:
    vault = Vault(["key-one"])
    assert vault.seal({"a": 1}, context="x") != vault.seal({"a": 1}, context="x")


def test_a_value_is_bound_to_its_context() -> None:
    vault = Vault(["key-one"])
    sealed = vault.seal({"password": "p"}, context="inbox:1")
    with pytest.raises(VaultError):
        vault.open(sealed, context="inbox:2")


def test_tampering_is_detected() -> None:
    vault = Vault(["key-one"])
    sealed = vault.seal({"password": "p"}, context="c")
    head, _, payload = sealed.rpartition(".")
    flipped = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    with pytest.raises(VaultError):
        vault.open(f"{head}.{flipped}", context="c")


def test_rotation_keeps_old_values_readable_and_reseals_with_the_new_key() -> None:
    old = Vault(["old-key"])
    sealed = old.seal({"password": "p"}, context="c")
    rotated = Vault(["new-key", "old-key"])
    assert rotated.needs_reseal(sealed)
    assert rotated.open(sealed, context="c") == {"password": "p"}
    resealed = rotated.reseal(sealed, context="c")
    assert not rotated.needs_reseal(resealed)
    assert Vault(["new-key"]).open(resealed, context="c") == {"password": "p"}
    with pytest.raises(VaultError):
        Vault(["new-key"]).open(sealed, context="c")


def test_unknown_key_is_refused_and_repr_shows_no_key() -> None:
    sealed = Vault(["a"]).seal({"x": 1}, context="c")
    with pytest.raises(VaultError):
        Vault(["b"]).open(sealed, context="c")
    assert "a" not in repr(Vault(["a-very-secret-key"])).replace("Vault", "")
