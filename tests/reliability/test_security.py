"""Security properties checked on the source: no pickle anywhere, and SQL never built
from input (only parameters; f-strings may splice only reviewed constant fragments)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.conftest import require

pytestmark = pytest.mark.reliability

SRC = Path(__file__).resolve().parents[2] / "src" / "acebet"
SQL_CALLS = {"execute", "sql", "query_frame", "scalar"}
# Names an f-string may splice into SQL. Each holds table or column names taken from the
# module's own constants (never input): reviewed, and kept short on purpose.
CONSTANT_FRAGMENTS = {"cols", "table", "staged", "on", "view", "row", "same", "name",
                      # a path or DSN quoted by store.sql_literal, for ATTACH and LOAD,
                      # which DuckDB cannot parameterize
                      "literal",
                      # a catalog's column name quoted by store.quote_identifier, with a
                      # type checked against share.lake.SIMPLE_TYPE
                      "column"}


def sql_argument(call: ast.Call) -> ast.AST | None:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name not in SQL_CALLS or not call.args:
        return None
    # query_frame(con, sql, ...) and scalar(con, sql, ...) take the SQL second
    return call.args[1] if name in {"query_frame", "scalar"} and len(call.args) > 1 \
        else call.args[0]


def spliced_names(node: ast.AST) -> set[str]:
    names = set()
    for part in ast.walk(node):
        if isinstance(part, ast.FormattedValue):
            for inner in ast.walk(part.value):
                if isinstance(inner, ast.Name):
                    names.add(inner.id)
    return names


def test_sql_is_never_built_from_input() -> None:
    offenders = []
    checked = 0
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
            arg = sql_argument(call)
            if arg is None:
                continue
            checked += 1
            if isinstance(arg, ast.BinOp) and isinstance(arg.op, ast.Mod):
                offenders.append(f"{path.name}:{call.lineno}: %-formatted SQL")
            if isinstance(arg, ast.Call) and getattr(arg.func, "attr", "") == "format":
                offenders.append(f"{path.name}:{call.lineno}: str.format SQL")
            unknown = spliced_names(arg) - CONSTANT_FRAGMENTS
            if unknown:
                offenders.append(f"{path.name}:{call.lineno}: splices {sorted(unknown)}")
    assert checked > 40  # the walk really found the queries
    assert offenders == []


def test_no_pickle_anywhere() -> None:
    pattern = re.compile(r"^\s*(import|from)\s+(c?pickle|dill|cloudpickle|shelve|joblib)\b"
                         r"|\bpickle\.\w+\(|\bjoblib\.(dump|load)\(|\bmarshal\.loads\(")
    hits = [f"{p.name}:{i}" for p in SRC.rglob("*.py")
            for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert hits == []


def test_https_sources_verify_certificates(tmp_path: Path) -> None:
    """A server whose certificate nobody vouches for is refused, not trusted."""
    import http.server
    import shutil
    import ssl
    import subprocess
    import threading

    from acebet import download
    from acebet.errors import AceBetError

    openssl = shutil.which("openssl")
    require(openssl is not None, "openssl is needed to make a self-signed certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    (tmp_path / "atp_players.csv").write_text("player_id\n1\n")
    handler = lambda *a: http.server.SimpleHTTPRequestHandler(  # noqa: E731
        *a, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"https://127.0.0.1:{server.server_address[1]}/atp_players.csv"
        with pytest.raises(AceBetError, match="(?i)certificate"):
            download.fetch(url, cache_dir=tmp_path / "cache", retries=0, timeout=5)
    finally:
        server.shutdown()
