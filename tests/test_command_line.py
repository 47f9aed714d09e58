"""Secrets in a ``zuinig run`` command line: one test per documented pattern.

Each case gives a command line, the secret in it, and what must be stored instead; the
secret must be gone and every other item kept as typed.
"""

from __future__ import annotations

import pytest

from zuinig.command_line import mask_command

SECRET = "hunter2-Secret"

CASES = [
    pytest.param(["psql", "--password", SECRET], ["psql", "--password", "***"], id="--password X"),
    pytest.param(["tool", f"--password={SECRET}"], ["tool", "--password=***"], id="--password=X"),
    pytest.param(
        ["mysql", "-uroot", f"-p{SECRET}", "db"], ["mysql", "-uroot", "-p***", "db"], id="mysql -pX"
    ),
    pytest.param(
        ["/usr/bin/mysqldump", f"-p{SECRET}", "db"],
        ["/usr/bin/mysqldump", "-p***", "db"],
        id="mysqldump -pX",
    ),
    pytest.param(
        ["docker", "exec", "db", "mariadb", f"-p{SECRET}"],
        ["docker", "exec", "db", "mariadb", "-p***"],
        id="mariadb -pX inside docker exec",
    ),
    pytest.param(["gh", "--token", SECRET], ["gh", "--token", "***"], id="--token X"),
    pytest.param(["gh", f"--token={SECRET}"], ["gh", "--token=***"], id="--token=X"),
    pytest.param(["cli", f"--api-key={SECRET}"], ["cli", "--api-key=***"], id="--api-key=X"),
    pytest.param(["cli", "--api-key", SECRET], ["cli", "--api-key", "***"], id="--api-key X"),
    pytest.param(
        ["cli", "--github_token", SECRET, "--db-password", SECRET],
        ["cli", "--github_token", "***", "--db-password", "***"],
        id="secret word inside an option name",
    ),
    pytest.param(
        ["curl", "-H", f"Authorization: Bearer {SECRET}", "https://x"],
        ["curl", "-H", "Authorization: Bearer ***", "https://x"],
        id="Authorization: Bearer X in one item",
    ),
    pytest.param(
        ["curl", "-H", "Authorization:", "Bearer", SECRET],
        ["curl", "-H", "Authorization:", "Bearer", "***"],
        id="Authorization: Bearer X split in three",
    ),
    pytest.param(
        ["curl", "-H", "Authorization: Bearer", SECRET],
        ["curl", "-H", "Authorization: Bearer", "***"],
        id="Authorization: Bearer then X",
    ),
    pytest.param(
        ["curl", "-H", "Authorization:", f"Bearer {SECRET}"],
        ["curl", "-H", "Authorization:", "Bearer ***"],
        id="Authorization: then Bearer X",
    ),
    pytest.param(
        ["curl", "-H", f"X-Api-Key: {SECRET}"], ["curl", "-H", "X-Api-Key: ***"], id="X-Api-Key"
    ),
    pytest.param(
        ["env", f"AWS_SECRET_ACCESS_KEY={SECRET}", "aws"],
        ["env", "AWS_SECRET_ACCESS_KEY=***", "aws"],
        id="AWS_SECRET_ACCESS_KEY=X",
    ),
    pytest.param(
        ["env", f"PGPASSWORD={SECRET}", "psql"],
        ["env", "PGPASSWORD=***", "psql"],
        id="PGPASSWORD=X",
    ),
    pytest.param(["env", f"GITLAB_TOKEN={SECRET}"], ["env", "GITLAB_TOKEN=***"], id="*_TOKEN="),
    pytest.param(["env", f"CLIENT_SECRET={SECRET}"], ["env", "CLIENT_SECRET=***"], id="*_SECRET="),
    pytest.param(["env", f"DB_PASSWORD={SECRET}"], ["env", "DB_PASSWORD=***"], id="*_PASSWORD="),
    pytest.param(["env", f"STRIPE_KEY={SECRET}"], ["env", "STRIPE_KEY=***"], id="*_KEY="),
    pytest.param(
        ["sshpass", "-p", SECRET, "ssh", "-p", "2222", "host"],
        ["sshpass", "-p", "***", "ssh", "-p", "2222", "host"],
        id="sshpass -p X (ssh keeps its port)",
    ),
    pytest.param(
        ["sshpass", f"-p{SECRET}", "ssh", "host"],
        ["sshpass", "-p***", "ssh", "host"],
        id="sshpass -pX",
    ),
    pytest.param(
        ["psql", f"postgresql://analist:{SECRET}@db/metingen"],
        ["psql", "postgresql://analist:***@db/metingen"],
        id="URL with credentials",
    ),
    pytest.param(
        ["sh", "-c", f"mysql -p{SECRET} db | gzip"],
        ["sh", "-c", "mysql '-p***' db '|' gzip"],
        id="shell script after -c",
    ),
]


@pytest.mark.parametrize(("argv", "stored"), CASES)
def test_each_documented_secret_form_is_masked(argv: list[str], stored: list[str]) -> None:
    masked = mask_command(argv)
    assert masked == stored
    assert not any(SECRET in item for item in masked)


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["ssh", "-p", "2222", "host"], id="ssh -p is a port"),
        pytest.param(["mkdir", "-p", "out/dir"], id="mkdir -p"),
        pytest.param(["mysql", "-p", "db"], id="mysql -p alone asks for the password"),
        pytest.param(["train", "--max-tokens", "100", "--tokenizer", "bert"], id="token-ish"),
        pytest.param(["tool", "--password", "--verbose"], id="option without a value"),
        pytest.param(["env", "PATH=/bin", "LANG=C", "sort", "-k", "2"], id="plain env"),
        pytest.param(["sh", "-c", "echo hi && ls"], id="plain script"),
    ],
)
def test_what_is_not_a_secret_is_kept_as_typed(argv: list[str]) -> None:
    assert mask_command(argv) == argv
