"""The Shakespeare example: a Markov chain of the tragedies whose text is streamed."""

from __future__ import annotations

import json
import random

import pytest
import requests
from deepserve_shakespeare.chain import START, MarkovChain
from deepserve_shakespeare.corpus import play_files, render, tokens, words
from deepserve_shakespeare.model import GENRES, ShakespeareModel

PREDICT = "/v2/models/shakespeare/predict/"


@pytest.fixture(scope="module")
def model():
    model = ShakespeareModel()
    model.warm()
    return model


def test_the_plays_come_from_the_installed_package():
    names = [path.stem for path in play_files(GENRES)]
    assert names == [
        "hamlet",
        "king-lear",
        "macbeth",
        "othello",
        "romeo-and-juliet",
        "timon-of-athens",
    ]


def test_markdown_becomes_speeches_without_headings_or_stage_directions():
    text = (
        "# Macbeth\n\n## ACT I\n\n_Thunder and lightning. Enter three\nWitches_\n\n"
        "**First Witch**  \nWhen shall we three meet again  \nIn thunder?\n"
    )
    assert list(tokens(text)) == [
        "\n", "First", "Witch", ".", "\n",
        "When", "shall", "we", "three", "meet", "again", "\n",
        "In", "thunder", "?", "\n",
    ]  # fmt: skip


def test_tokens_render_as_text():
    rendered, previous = "", ""
    for token in words("ROMEO.\nBut soft, what light!"):
        rendered += render(token, previous)
        previous = token
    assert rendered == "ROMEO.\nBut soft, what light!"


def test_the_chain_only_follows_what_the_text_has():
    text = words("a b c a b d a b c")
    chain = MarkovChain(text, order=2)
    assert chain.followers[("a", "b")] == ["c", "d", "c"]
    generated = chain.generate(["a", "b"], random.Random(0))
    sequence = ["a", "b", *(next(generated) for _ in range(50))]
    known = set(zip(text, text[1:], text[2:], strict=False))
    assert set(zip(sequence, sequence[1:], sequence[2:], strict=False)) <= known


def test_an_unknown_prompt_starts_a_speech(model):
    chain = model.chain()
    assert chain.start(["Zyzzyva"], random.Random(0)) == START
    assert chain.start(["Denmark"], random.Random(0))[-1] == "Denmark"  # its last word known


def test_predict_streams_the_requested_number_of_items_reproducibly(model):
    first = list(model.predict(prompt="To be, or not to be", length=60, seed=7))
    assert len(first) == 60 and all(isinstance(item, str) and item for item in first)
    assert list(model.predict(prompt="To be, or not to be", length=60, seed=7)) == first
    assert list(model.predict(prompt="To be, or not to be", length=60, seed=8)) != first


def test_served_as_a_stream(client):
    response = client.post(
        PREDICT, data={"length": "30", "seed": "1"}, headers={"Accept": "application/x-ndjson"}
    )
    assert response.status_code == 200
    items = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert len(items) == 30
    collected = client.post(PREDICT, data={"length": "30", "seed": "1"}).get_json()
    assert collected == {"status": "OK", "predictions": items}


def test_spec_says_it_streams(client):
    operation = client.get("/swagger.json").get_json()["paths"][PREDICT]["post"]
    assert operation["x-deepserve-stream"] is True


@pytest.mark.e2e
def test_curl_style_sse_on_a_real_server(run_server):
    server = run_server("--model", "shakespeare")
    with requests.post(
        server.url + PREDICT,
        data={"prompt": "ROMEO.", "length": 25, "seed": 3},
        headers={"Accept": "text/event-stream"},
        stream=True,
        timeout=60,
    ) as response:
        events = [block for block in response.text.split("\n\n") if block]
    assert len(events) == 26
    assert events[0].startswith("id: 0\nevent: item\ndata: ")
    assert events[-1] == 'event: done\ndata: {"items": 25}'
