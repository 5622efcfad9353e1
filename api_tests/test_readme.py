"""The README's examples are real: each curl it shows, sent to the service, answers as shown."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
ELISION = re.compile(r",? …[^…]*…")


@dataclass(frozen=True)
class Example:
    """One shell command of the README and the output printed under it."""

    command: str
    output: str


def console_examples(text: str) -> list[Example]:
    """`$ command` entries of the ```console blocks, continuation lines joined."""
    found = []
    for block in re.findall(r"```console\n(.*?)```", text, re.S):
        for entry in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, _, output = re.sub(r"\\\n\s*", "", entry).partition("\n")
            found.append(Example(command, output.strip()))
    return [e for e in found if ":8000" in e.command]


def bash_examples(text: str) -> list[Example]:
    """A ```bash block with one curl, followed by the ```json block of its answer."""
    pairs = re.findall(r"```bash\n(curl .*?)```\s*```json\n(.*?)```", text, re.S)
    return [Example(re.sub(r"\\\n\s*", "", c).strip(), o.strip()) for c, o in pairs]


EXAMPLES = console_examples(README.read_text()) + bash_examples(README.read_text())


def words_of(curl: str) -> list[str]:
    """The curl command's words, without its pipe or redirection."""
    return shlex.split(curl.partition(" | ")[0].partition(" > ")[0])


def path_of(curl: str) -> str:
    """The path and query the curl command asks for."""
    return next(w for w in words_of(curl) if ":8000" in w).split(":8000", 1)[1]


def send(client: Any, curl: str) -> tuple[Any, str]:
    """Send one curl command line; the response and the text curl would print (`| head -N`)."""
    pipe = curl.partition(" | ")[2]
    words = words_of(curl)
    headers = dict(
        w.split(": ", 1) for prev, w in zip(words, words[1:], strict=False) if prev == "-H"
    )
    body = words[words.index("-d") + 1] if "-d" in words else None
    method = "POST" if body is not None or "POST" in words else "GET"
    response = client.request(method, path_of(curl), content=body, headers=headers)
    text = "" if "-o" in words else response.text
    if head := re.fullmatch(r"\s*head -(\d+)\s*", pipe):
        text = "\n".join(text.splitlines()[: int(head[1])])
    return response, text


def contained(wanted: Any, answer: Any) -> bool:
    """`wanted`'s keys and values are in `answer` itself or in an element of one of its lists."""
    if isinstance(answer, dict) and all(answer.get(k, object()) == v for k, v in wanted.items()):
        return True
    values = answer.values() if isinstance(answer, dict) else answer
    nested = (
        [v for v in values if isinstance(v, dict | list)] if isinstance(answer, dict | list) else []
    )
    return any(contained(wanted, v) for v in nested)


def test_the_readme_has_examples_of_every_kind() -> None:
    """The parser finds the README's examples (a test of the test: none silently dropped)."""
    assert len(EXAMPLES) >= 15
    assert {path_of(e.command).split("?")[0] for e in EXAMPLES} >= {
        "/forward",
        "/backward",
        "/gradcheck",
        "/train",
        "/grade",
        "/grade/batch",
        "/compare",
        "/dataset",
        "/graph",
    }


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.command[:60])
def test_a_readme_example_answers_as_shown(client: Any, example: Example) -> None:
    """Each example's real answer, compared as the README prints it."""
    sent = [send(client, part) for part in example.command.split("; ")]
    for response, _ in sent:
        assert response.status_code < 500
    printed = "".join(text for _, text in sent)
    response = sent[-1][0]
    if " | jq " in example.command:  # each printed line is a piece of the answer
        for line in example.output.splitlines():
            assert contained(json.loads(line), response.json()), line
    elif " -o " in example.command:  # saved to a file: the picture asked for
        wanted = "image/png" if example.command.split(" -o ")[1].endswith(".png") else "image/svg"
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(wanted)
    elif "…" in example.output:  # elided: the parts shown appear in order
        position = 0
        for piece in ELISION.split(example.output):
            position = printed.index(piece, position) + len(piece)
    elif example.output.startswith("{") and len(sent) == 1:
        assert json.loads(printed) == json.loads(example.output)
    else:
        assert printed == example.output


def _family(cls: type) -> list[type]:
    return [cls, *(c for sub in cls.__subclasses__() for c in _family(sub))]


def test_the_error_table_lists_every_problem_of_the_error_family_with_its_status() -> None:
    import re

    from service.core.errors import BackpropError

    rows = re.findall(r"^\| ([0-9, ]+) \| ([^|]+) \|", README.read_text(), re.MULTILINE)
    table = {
        slug: status for status, slugs in rows for slug in re.findall(r"`(/problems/[^`]+)`", slugs)
    }
    for error in _family(BackpropError)[1:]:  # the base is never raised as such
        slug = f"/problems/{error.slug}"
        assert slug in table, f"README's error table lacks {slug}"
        assert str(error.status) in table[slug], (slug, table[slug])
