"""``config.local_env``: the ``.env`` that `make run` writes so every README command works."""

from __future__ import annotations

from config.local_env import MARKER, local_env_ensure


def values(path) -> dict[str, str]:
    return {
        key: value
        for key, _, value in (line.partition("=") for line in path.read_text().splitlines())
        if value and not key.startswith("#")
    }


def test_a_missing_env_is_written_with_debug_a_fresh_key_and_the_public_url(tmp_path):
    env = tmp_path / ".env"
    said = local_env_ensure(env, host="127.0.0.1", port="8111", port_given=True)
    assert "Wrote .env" in said
    first = values(env)
    assert first["DEBUG"] == "1"
    assert first["PUBLIC_BASE_URL"] == "http://127.0.0.1:8111"
    assert len(first["SECRET_KEY"]) >= 50
    other = tmp_path / "other.env"
    local_env_ensure(other, host="0.0.0.0", port="8000", port_given=False)  # noqa: S104
    assert values(other)["SECRET_KEY"] != first["SECRET_KEY"]
    # bound to every interface, still browsed on the loopback address
    assert values(other)["PUBLIC_BASE_URL"] == "http://127.0.0.1:8000"


def test_an_existing_env_is_kept_unless_the_port_was_given(tmp_path):
    env = tmp_path / ".env"
    local_env_ensure(env, host="127.0.0.1", port="8000", port_given=False)
    before = env.read_text()
    assert "Using .env" in local_env_ensure(env, host="127.0.0.1", port="8000", port_given=False)
    assert env.read_text() == before
    said = local_env_ensure(env, host="127.0.0.1", port="8111", port_given=True)
    assert said == "Updated .env: PUBLIC_BASE_URL=http://127.0.0.1:8111."
    after = values(env)
    assert after["PUBLIC_BASE_URL"] == "http://127.0.0.1:8111"
    assert after["SECRET_KEY"] == values(tmp_path / ".env")["SECRET_KEY"]
    assert env.read_text().startswith(MARKER)


def test_a_hand_written_env_is_never_rewritten_only_warned_about(tmp_path):
    env = tmp_path / ".env"
    env.write_text("DEBUG=0\nSECRET_KEY=mine\nPUBLIC_BASE_URL=https://chat.example\n")
    said = local_env_ensure(env, host="127.0.0.1", port="8111", port_given=True)
    assert said.startswith("Warning:") and "https://chat.example" in said
    assert env.read_text() == "DEBUG=0\nSECRET_KEY=mine\nPUBLIC_BASE_URL=https://chat.example\n"
