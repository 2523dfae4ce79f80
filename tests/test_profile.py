"""Profiles: validation names the file, the line, the key and the expected form."""

from pathlib import Path

import pytest

from netra_diag.errors import ConfigError
from netra_diag.profile import load_profile, parse_profile, reference_profile_path


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "netra-diag.yaml"
    path.write_text(text)
    return path


def test_the_builtin_reference_profile_is_valid():
    profile = load_profile(reference_profile_path())
    assert profile.name
    for role in ("user_context", "manager_factory", "emitter", "bridge_factory", "registry",
                 "engine_factory", "wiring_entry", "server"):
        assert role in profile.roles
    assert profile.deprecated


def test_a_folder_means_its_netra_diag_yaml(tmp_path):
    write(tmp_path, "name: mine\n")
    assert load_profile(tmp_path).name == "mine"


def test_malformed_yaml_names_the_line(tmp_path):
    path = write(tmp_path, "name: x\nroles:\n  registry: [unclosed\n")
    with pytest.raises(ConfigError) as info:
        load_profile(path)
    assert f"{path}:" in str(info.value)
    assert "malformed YAML" in str(info.value)


@pytest.mark.parametrize(
    ("text", "line", "key", "expected"),
    [
        ("name: x\nroles:\n  registry: not-an-import\n", 3, "roles.registry", "package.module"),
        ("name: x\nroles:\n  no_such_role: a.b:c\n", 3, "roles.no_such_role", "a known role"),
        ("name: x\nbudgets:\n  event_latency_ms: -5\n", 3, "budgets.event_latency_ms",
         "a positive number"),
        ("name: x\nsurprise: 1\n", 2, "surprise", "one of"),
        ("name: x\ndeprecated:\n  - entry: a.b:c\n    oops: d\n", 3, "deprecated.0",
         "entry"),
        ("name: x\nbuild:\n  registry:\n    llm: {factory: 12}\n", 4,
         "build.registry.llm.factory", "package.module"),
    ],
)
def test_errors_name_file_line_key_and_form(tmp_path, text, line, key, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_profile(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: key '{key}'")
    assert expected in message


def test_profile_never_constructs_python_objects(tmp_path):
    path = write(tmp_path, "name: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError):
        load_profile(path)


def test_paths_resolve_against_the_profile(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "more_checks").mkdir()
    profile = load_profile(write(tmp_path, "root: src\nchecks_dirs: [more_checks]\n"))
    assert profile.root == (tmp_path / "src").resolve()
    assert profile.checks_dirs == ((tmp_path / "more_checks").resolve(),)


@pytest.mark.parametrize("text", [
    "name: x\nroles:\n  registry: a.b:C\n  registry: a.b:D\n",
    "name: x\nroot: 3\n",
    "name: x\nroles: [1\n",
    "name: x\nbudgets:\n  run_timeout_s: -1\n",
    "a: &a [*a]\n",
    "name: x\nroot: src\nroles:\n  registry: a.b:C\ndeprecated:\n  - entry: a.b:old\n"
    "    replacement: new\n",
    "",
])
def test_libyaml_and_the_pure_python_loader_give_the_same_profile_or_message(
        text, tmp_path, monkeypatch):
    """Profiles are read by libyaml when available (faster); what any profile gives, a
    profile or the message of its error, is what the pure-Python loader gives."""
    import yaml

    from netra_diag import profile as profile_module

    if not hasattr(yaml, "CSafeLoader"):
        pytest.skip("PyYAML without libyaml here")
    monkeypatch.setenv("NETRA_DIAG_NO_CACHE", "1")  # each outcome parsed, none cached

    def outcome():
        try:
            return parse_profile(text, tmp_path / "netra-diag.yaml")
        except ConfigError as exc:
            return str(exc)

    fast = outcome()
    monkeypatch.setattr(profile_module, "_C_LOADER_MAX_DEPTH", 0)  # the pure-Python loader
    assert outcome() == fast


def test_a_profile_is_read_by_libyaml_when_available(monkeypatch):
    import yaml

    if not hasattr(yaml, "CSafeLoader"):
        pytest.skip("PyYAML without libyaml here")
    used = []

    class Spy(yaml.CSafeLoader):  # type: ignore[misc,name-defined]
        def __init__(self, stream):
            used.append(stream)
            super().__init__(stream)

    monkeypatch.setattr(yaml, "CSafeLoader", Spy)
    monkeypatch.setenv("NETRA_DIAG_NO_CACHE", "1")  # parsed, not served from the cache
    assert load_profile(reference_profile_path()).name
    assert len(used) == 1


def test_a_profile_read_before_is_not_parsed_again_and_still_validated(tmp_path, monkeypatch):
    """The parse of a text read before comes from the cache (no YAML import); validation
    (here: the root folder must exist) runs every time; a malformed profile is never kept."""
    from netra_diag import profile as profile_module

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "src").mkdir()
    text = "name: cached\nroot: src\nroles:\n  registry: a.b:C\n"
    first = parse_profile(text, tmp_path / "netra-diag.yaml")
    assert list((tmp_path / "cache").rglob("profiles/*.pickle"))

    def must_not(*args):
        raise AssertionError("parsed again")

    with monkeypatch.context() as patch:
        patch.setattr(profile_module, "_parse_yaml", must_not)
        assert parse_profile(text, tmp_path / "netra-diag.yaml") == first
        (tmp_path / "src").rmdir()
        with pytest.raises(ConfigError, match="root"):
            parse_profile(text, tmp_path / "netra-diag.yaml")  # validated, not cached
    assert parse_profile("name: other\n", tmp_path / "netra-diag.yaml").name == "other"
    for _ in range(2):  # a malformed document: parsed and reported every time
        with pytest.raises(ConfigError, match="malformed YAML"):
            parse_profile("name: [x\n", tmp_path / "netra-diag.yaml")
    assert len(list((tmp_path / "cache").rglob("profiles/*.pickle"))) == 2


def test_no_cache_reads_profiles_without_the_profile_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("NETRA_DIAG_NO_CACHE", "1")
    assert parse_profile("name: x\n", tmp_path / "netra-diag.yaml").name == "x"
    assert not (tmp_path / "cache").exists()
