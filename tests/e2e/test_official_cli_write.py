"""The official `npx convex` CLI's writing commands against a real `syncline dev`:
`env set / remove / set --from-file`, `import` (table files and snapshot ZIPs) and
`export`, each checked for its effect on the deployment (issue 19, item 6)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import JS_DIR, Server, copy_app, start_server

CLI = JS_DIR / "node_modules" / "convex" / "bin" / "main.js"


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    server = start_server(copy_app("cliio", tmp_path_factory.mktemp("cliio")))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A folder the CLI accepts as a project (it reads package.json)."""
    (tmp_path / "package.json").write_text(json.dumps(
        {"name": "cli-test", "version": "0.0.0", "dependencies": {"convex": "1.48.0"}}))
    (tmp_path / "node_modules").symlink_to(JS_DIR / "node_modules")
    return tmp_path


def convex(server: Server, workdir: Path, *args: str, ok: bool = True,
           timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the official CLI (no terminal: stdin is /dev/null) against `server`."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("`node` is not on PATH: Node.js 18+ is needed for the official CLI")
    env = {**os.environ, "CONVEX_SELF_HOSTED_URL": server.url,
           "CONVEX_SELF_HOSTED_ADMIN_KEY": server.admin_key,
           "CI": "1"}  # no Sentry reports from a test run
    env.pop("CONVEX_DEPLOYMENT", None)
    try:
        result = subprocess.run([node, str(CLI), *args], cwd=workdir, env=env,
                                stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                timeout=timeout)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"`convex {' '.join(args)}` timed out\nstdout:\n{e.stdout}\nstderr:\n"
                    f"{e.stderr}\nserver log:\n{server.output()[-3000:]}")
    if ok:
        assert result.returncode == 0, (
            f"`convex {' '.join(args)}` exited {result.returncode}\nstdout:\n{result.stdout}"
            f"\nstderr:\n{result.stderr}\nserver log:\n{server.output()[-3000:]}")
    return result


def env_value(server: Server, name: str) -> str | None:
    return server.run("query", "app:env", {"name": name})["value"]


def documents(server: Server, table: str) -> list[dict]:
    return server.run("query", "app:documents", {"table": table})["value"]


def field_values(server: Server, table: str, field: str = "n") -> list:
    return sorted(doc[field] for doc in documents(server, table))


# ----------------------------------------------------------------------------- env


def test_env_set_and_remove_reach_functions(server: Server, workdir: Path) -> None:
    convex(server, workdir, "env", "set", "GREETING", "hello world")
    assert env_value(server, "GREETING") == "hello world"
    convex(server, workdir, "env", "set", "GREETING=a=b")  # NAME=value syntax
    assert env_value(server, "GREETING") == "a=b"
    result = convex(server, workdir, "env", "remove", "GREETING")
    assert "Successfully unset GREETING" in result.stderr
    assert env_value(server, "GREETING") is None


def test_env_set_refuses_a_bad_name_and_changes_nothing(server: Server,
                                                        workdir: Path) -> None:
    result = convex(server, workdir, "env", "set", "1BAD", "x", ok=False)
    assert result.returncode != 0
    assert "InvalidEnvVarName" in result.stderr
    response = httpx.post(f"{server.url}/api/update_environment_variables", timeout=30,
                          headers={"Authorization": f"Convex {server.admin_key}"},
                          json={"changes": [{"name": "KEPT_OUT", "value": "1"},
                                            {"name": "CONVEX_SITE_URL", "value": "x"}]})
    assert response.status_code == 400
    assert response.json()["code"] == "ReservedEnvVarName"
    assert env_value(server, "KEPT_OUT") is None  # all or nothing


def test_env_set_from_file(server: Server, workdir: Path) -> None:
    (workdir / "vars.env").write_text(
        'FROM_FILE_A=one\nFROM_FILE_B="two words"\nCONVEX_URL=http://skipped\n')
    result = convex(server, workdir, "env", "set", "--from-file", "vars.env")
    assert "Successfully set 2 environment variables" in result.stderr
    assert env_value(server, "FROM_FILE_A") == "one"
    assert env_value(server, "FROM_FILE_B") == "two words"
    assert env_value(server, "CONVEX_URL") is None  # the CLI skips the variables it manages
    (workdir / "vars.env").write_text("FROM_FILE_A=changed\n")
    refused = convex(server, workdir, "env", "set", "--from-file", "vars.env", ok=False)
    assert refused.returncode != 0 and "--force" in refused.stderr
    assert env_value(server, "FROM_FILE_A") == "one"
    convex(server, workdir, "env", "set", "--from-file", "vars.env", "--force")
    assert env_value(server, "FROM_FILE_A") == "changed"


# ----------------------------------------------------------------------------- import


def test_import_table_files_append_and_replace(server: Server, workdir: Path) -> None:
    (workdir / "a.jsonl").write_text('{"n": 1}\n{"n": 2}\n')
    result = convex(server, workdir, "import", "--table", "numbers", "a.jsonl", "--yes")
    assert 'Added 2 documents to table "numbers"' in result.stderr
    assert field_values(server, "numbers") == [1, 2]

    (workdir / "b.csv").write_text("n\n3\n4\n5\n")
    convex(server, workdir, "import", "--table", "numbers", "b.csv", "--append", "--yes")
    assert field_values(server, "numbers") == [1, 2, 3, 4, 5]

    (workdir / "c.json").write_text('[{"n": 10}, {"n": 11}]')
    convex(server, workdir, "import", "--table", "numbers", "c.json", "--replace", "--yes")
    assert field_values(server, "numbers") == [10, 11]


def test_import_into_a_table_with_documents_needs_a_mode(server: Server,
                                                         workdir: Path) -> None:
    (workdir / "d.jsonl").write_text('{"n": 1}\n')
    convex(server, workdir, "import", "--table", "guarded", "d.jsonl", "--yes")
    (workdir / "e.jsonl").write_text('{"n": 2}\n')
    result = convex(server, workdir, "import", "--table", "guarded", "e.jsonl", "--yes",
                    ok=False)
    assert result.returncode != 0
    assert "already holds 1 documents" in result.stderr
    assert field_values(server, "guarded") == [1]


def test_import_without_yes_asks_and_without_a_terminal_writes_nothing(
        server: Server, workdir: Path) -> None:
    (workdir / "f.jsonl").write_text('{"n": 1}\n')
    result = convex(server, workdir, "import", "--table", "unconfirmed", "f.jsonl", ok=False)
    assert result.returncode != 0
    assert "Import change summary" in result.stderr  # the summary came before the prompt
    assert documents(server, "unconfirmed") == []


def test_import_a_bad_file_fails_and_writes_nothing(server: Server, workdir: Path) -> None:
    (workdir / "bad.jsonl").write_text('{"n": 1}\n{"n": \n')
    result = convex(server, workdir, "import", "--table", "badfile", "bad.jsonl", "--yes",
                    ok=False)
    assert result.returncode != 0
    assert "failed" in result.stderr
    assert documents(server, "badfile") == []


# ----------------------------------------------------------------------------- export + ZIP


def test_export_then_import_zip_with_replace_all(server: Server, workdir: Path) -> None:
    (workdir / "z.jsonl").write_text('{"n": 1, "s": "x"}\n{"n": 2, "s": "y"}\n')
    convex(server, workdir, "import", "--table", "zipped", "z.jsonl", "--replace", "--yes")
    before = {table: documents(server, table) for table in ("zipped",)}

    result = convex(server, workdir, "export", "--path", "snap.zip")
    assert "Downloaded snapshot export" in result.stderr
    with zipfile.ZipFile(workdir / "snap.zip") as archive:
        names = archive.namelist()
        assert "zipped/documents.jsonl" in names
        rows = [json.loads(line) for line in
                archive.read("zipped/documents.jsonl").decode().splitlines()]
    assert sorted(row["n"] for row in rows) == [1, 2]
    assert {row["_id"] for row in rows} == {doc["_id"] for doc in before["zipped"]}

    # Change the data, then put the snapshot back: every table as in the ZIP, and a
    # table the ZIP does not hold emptied.
    (workdir / "more.jsonl").write_text('{"n": 3}\n')
    convex(server, workdir, "import", "--table", "zipped", "more.jsonl", "--append", "--yes")
    convex(server, workdir, "import", "--table", "extra_after_export", "more.jsonl", "--yes")
    result = convex(server, workdir, "import", "snap.zip", "--replace-all", "--yes")
    assert "Added" in result.stderr
    assert documents(server, "zipped") == before["zipped"]  # same IDs and creation times
    assert documents(server, "extra_after_export") == []


def test_export_with_file_storage(server: Server, workdir: Path) -> None:
    storage_id = server.run("action", "app:store", {"text": "file body"})["value"]
    convex(server, workdir, "export", "--path", "withfiles.zip", "--include-file-storage")
    with zipfile.ZipFile(workdir / "withfiles.zip") as archive:
        listed = [json.loads(line) for line in
                  archive.read("_storage/documents.jsonl").decode().splitlines()]
        assert storage_id in {row["_id"] for row in listed}
        member = f"_storage/{storage_id}.txt"  # the extension comes from its content type
        assert member in archive.namelist()
        assert archive.read(member) == b"file body"
    convex(server, workdir, "export", "--path", "nofiles.zip")
    with zipfile.ZipFile(workdir / "nofiles.zip") as archive:
        assert not any(name.startswith("_storage/") for name in archive.namelist())


def test_jobs_survive_a_restart(tmp_path: Path, workdir: Path) -> None:
    """The import and export records are durable: after a restart the CLI's system
    queries still list the import, and the finished export can still be downloaded."""
    first = start_server(copy_app("cliio", tmp_path / "app"))
    try:
        (workdir / "r.jsonl").write_text('{"n": 1}\n')
        convex(first, workdir, "import", "--table", "kept", "r.jsonl", "--yes")
        convex(first, workdir, "export", "--path", "r.zip")
    finally:
        first.stop()
    second = start_server(first.app_dir)
    try:
        imports = second.run("query", "_system/cli/queryImport:list", admin=True)["value"]
        assert imports[0]["state"]["state"] == "completed"
        assert imports[0]["tableName"] == "kept"
        latest = second.run("query", "_system/cli/exports:getLatest", admin=True)["value"]
        assert latest["state"] == "completed"
        response = httpx.get(f"{second.url}/api/export/zip/{int(latest['start_ts'])}",
                             headers={"Authorization": f"Convex {second.admin_key}"},
                             timeout=30)
        assert response.status_code == 200
        assert response.content == (workdir / "r.zip").read_bytes()
    finally:
        second.stop()
